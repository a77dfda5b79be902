"""The benchmark (bench/run.py) runs end to end, so the script cannot rot.

A tiny run: one round, one-second measurements, no warm-up, no variants, no green run.
It asserts that every measurement produced load without errors and that the reports are
written; it asserts no timings (the benchmark is not a test). Skipped locally when wrk,
PostgreSQL or Redis is missing; under CI=true a missing tool fails instead.
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

pytestmark = pytest.mark.e2e


def _require(ok: bool, why: str) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the benchmark smoke test cannot run in CI: {why}")
    pytest.skip(why)


def test_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    _require(shutil.which("wrk") is not None, "wrk is missing (apt-get install -y wrk)")
    _require(shutil.which("uv") is not None, "uv is missing")
    _require(reachable(5432), "PostgreSQL is not reachable on 127.0.0.1:5432")
    _require(reachable(6379), "Redis is not reachable on 127.0.0.1:6379")

    out = tmp_path / "results"
    readme = tmp_path / "README.md"
    readme.write_text("# bench\n\n<!-- bench:results:start -->\nold\n<!-- bench:results:end -->\n")
    result = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--duration=1",
            "--warmup=0",
            "--rounds=1",
            "--connections=8",
            "--items=200",
            "--asgi-seconds=0.05",
            "--asgi-batches=1",
            "--asgi-warmup=5",
            "--generator-runs=1",
            "--no-green",
            "--no-variants",
            f"--out={out}",
            f"--readme={readme}",
        ],
        capture_output=True,
        text=True,
        # A guard against a hang, not a timing: the run takes about a minute alone.
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]

    report = json.loads((out / "latest.json").read_text())
    keys = {row["key"] for row in report["summary"]["rows"]}
    assert {
        "hello",
        "asyncpg.get",
        "asyncpg.list",
        "asyncpg.post",
        "redis.hit",
        "app.live",
        "app.hit",
        "nocache.get",
        "app.list",
        "app.post",
        "seed.live",
        "seed.hit",
    } <= keys
    hit = next(row for row in report["summary"]["rows"] if row["key"] == "app.hit")
    assert hit["floor_ratio"] > 0
    [round_] = report["load"]["rounds"]
    for key, measured in round_["results"].items():
        assert measured["requests"] > 0, key
        assert sum(measured["errors"].values()) == 0, (key, measured["errors"])
    for key, cost in report["asgi"].items():
        assert cost and cost[0]["cpu_us"] > 0, key
    for key, server in report["summary"]["servers"].items():
        assert server["startup_s"] > 0, key
    generator = report["generator"]
    assert len(generator["new_defaults_s"]) == len(generator["update_s"]) == 1
    assert len(generator["peer_render_s"]) == 1

    table = (out / "latest.md").read_text()
    assert "| GET /items/{id}, cache hit |" in table
    text = readme.read_text()
    assert "old" not in text and table in text
