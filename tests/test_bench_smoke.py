"""The benchmark (bench/run.py, the same as `python -m bench`) runs end to end, so it cannot rot.

A tiny run per database: one round, one-second measurements, no warm-up, no settings variants,
no green run; PostgreSQL with the metrics-off variant and one generator timing, MariaDB and
SQLite with neither (their projects installed without compiling bytecode). It asserts that
every measurement produced load without errors and that the reports are written; it asserts no
timings (the benchmark is not a test). Skipped locally when wrk or a service is missing; under
CI=true a missing tool fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from projects import reachable

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"
PORTS = {"postgresql": 5432, "mysql": 3306, "sqlite": None}
EVERY_DATABASE = {
    "hello",
    "raw.get",
    "raw.list",
    "raw.post",
    "redis.hit",
    "app.live",
    "app.hit",
    "nocache.get",
    "app.list",
    "app.post",
    "app.added_hit",
    "nocache.added_get",
    "seed.live",
    "seed.hit",
}

pytestmark = pytest.mark.e2e


def _require(ok: bool, why: str) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the benchmark smoke test cannot run in CI: {why}")
    pytest.skip(why)


@pytest.mark.parametrize("database", list(PORTS))
def test_benchmark_runs_end_to_end(tmp_path: Path, database: str) -> None:
    _require(shutil.which("wrk") is not None, "wrk is missing (apt-get install -y wrk)")
    _require(shutil.which("uv") is not None, "uv is missing")
    port = PORTS[database]
    _require(port is None or reachable(port), f"{database} is not reachable on 127.0.0.1:{port}")
    _require(reachable(6379), "Redis is not reachable on 127.0.0.1:6379")
    postgresql = database == "postgresql"

    out = tmp_path / "results"
    readme = tmp_path / "README.md"
    start = "bench:results" if postgresql else f"bench:results:{database}"
    readme.write_text(f"# bench\n\n<!-- {start}:start -->\nold\n<!-- {start}:end -->\n")
    options = ["--generator-runs=1"] if postgresql else ["--no-metrics", "--no-compile"]
    result = subprocess.run(
        [
            sys.executable,
            str(RUN),
            f"--database={database}",
            "--duration=1",
            "--warmup=0",
            "--rounds=1",
            "--connections=8",
            "--items=200",
            "--asgi-seconds=0.05",
            "--asgi-batches=1",
            "--asgi-warmup=5",
            "--no-green",
            "--no-variants",
            *options,
            f"--out={out}",
            f"--readme={readme}",
        ],
        capture_output=True,
        text=True,
        # A guard against a hang, not a timing: 1-3 minutes each on a busy 2-core machine.
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]

    latest = "latest" if postgresql else f"latest-{database}"
    report = json.loads((out / f"{latest}.json").read_text())
    assert report["database"] == database
    keys = {row["key"] for row in report["summary"]["rows"]}
    metrics = {"app_nometrics.live", "app_nometrics.hit"}
    assert keys == (EVERY_DATABASE | metrics if postgresql else EVERY_DATABASE)
    hit = next(row for row in report["summary"]["rows"] if row["key"] == "app.hit")
    assert hit["floor_ratio"] > 0
    uncached = next(row for row in report["summary"]["rows"] if row["key"] == "nocache.get")
    assert uncached["baseline"] == "raw.get" and uncached["ratio"] > 0
    # The added resource is read against items, hit for hit and miss for miss.
    added = {row["key"]: row for row in report["summary"]["rows"] if ".added_" in row["key"]}
    assert added["app.added_hit"]["baseline"] == "app.hit" and added["app.added_hit"]["ratio"] > 0
    assert added["nocache.added_get"]["baseline"] == "nocache.get"
    [round_] = report["load"]["rounds"]
    for key, measured in round_["results"].items():
        assert measured["requests"] > 0, key
        assert sum(measured["errors"].values()) == 0, (key, measured["errors"])
    for key, cost in report["asgi"].items():
        assert cost and cost[0]["cpu_us"] > 0, key
    for key, server in report["summary"]["servers"].items():
        assert server["startup_s"] > 0, key

    table = (out / f"{latest}.md").read_text()
    assert "| GET /items/{id}, cache hit |" in table
    assert f"raw {report['driver']} read by id" in table
    text = readme.read_text()
    assert "old" not in text and table in text
    if postgresql:
        assert [c["key"] for c in report["summary"]["comparisons"]] == ["app.live", "app.hit"]
        assert "Metrics cost (issue 15)" in table
        generator = report["generator"]
        assert len(generator["new_defaults_s"]) == len(generator["update_s"]) == 1
        assert len(generator["peer_render_s"]) == 1
    else:
        assert report["generator"] is None
