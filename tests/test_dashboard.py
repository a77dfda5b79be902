"""The Grafana dashboard each combination ships: valid, laid out, and reading only metrics the
project defines. Each project's own tests/test_metrics.py checks the same names against a
scrape of the served app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from projects import Combo

# Where the project's code defines a metric, and the series each kind of metric exports.
DEFINITION = re.compile(r'\b(Counter|Gauge|Histogram|GaugeMetricFamily)\(\s*"([a-z_:]+)"')
SERIES = {"Histogram": ("_bucket", "_count", "_sum")}
# The dashboard differs by cache and by worker: each of those, and each runner.
COMBOS = [
    Combo("postgresql", "redis", "background"),
    Combo("sqlite", "none", "background"),
    Combo("postgresql", "none", "arq"),
    Combo("mysql", "redis", "celery", "rabbitmq"),
]


def defined_series(project: Path) -> set[str]:
    source = "\n".join(path.read_text() for path in (project / "src").rglob("*.py"))
    return {
        name + suffix
        for kind, name in DEFINITION.findall(source)
        for suffix in SERIES.get(kind, ("",))
    }


def referenced_series(expr: str) -> set[str]:
    # Label matchers, ranges and strings, then grouping clauses, hold no metric names; a
    # name followed by a parenthesis is a function.
    expr = re.sub(r'\{[^}]*\}|\[[^\]]*\]|"[^"]*"', "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)
    return set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_dashboard_reads_only_defined_metrics(copier: Any, tmp_path: Path, combo: Combo) -> None:
    project = copier.copy(tmp_path / "orders", project_name="Acme Orders", **combo.answers).path
    dashboard = json.loads((project / "deploy" / "grafana" / "dashboard.json").read_text())
    panels = dashboard["panels"]
    exprs = [target["expr"] for panel in panels for target in panel["targets"]]

    referenced = set().union(*(referenced_series(expr) for expr in exprs))
    assert referenced <= defined_series(project), referenced - defined_series(project)
    # A panel for what the project has, and none for what it has not.
    assert any("cache_" in expr for expr in exprs) == (combo.cache == "redis")
    assert any("job_queue_depth" in expr for expr in exprs) == combo.worker
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}"
        assert len({target["refId"] for target in panel["targets"]}) == len(panel["targets"])
    assert len({panel["id"] for panel in panels}) == len(panels)
    places = {(panel["gridPos"]["x"], panel["gridPos"]["y"]) for panel in panels}
    assert len(places) == len(panels), "panels overlap"
