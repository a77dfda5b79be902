"""The scale-out benchmark (bench/scale_out.py) runs end to end, so the script cannot rot.

A tiny run: 30 jobs, 1 and 2 workers of an ARQ project and of a Celery-on-Redis one (both
adapters: `worker_settings` and `create_celery_app`), and the drain test for 4 seconds when
haproxy and wrk are installed. It asserts that the jobs drained and the drain test passed; it
asserts no throughput (the benchmark is not a test). Skipped locally when PostgreSQL or Redis
is missing; under CI=true a missing service fails instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from projects import reachable

ROOT = Path(__file__).resolve().parent.parent
SCALE_OUT = ROOT / "bench" / "scale_out.py"

pytestmark = pytest.mark.e2e


def _require(ok: bool, why: str) -> None:
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"the scale-out smoke test cannot run in CI: {why}")
    pytest.skip(why)


def test_scale_out_benchmark_runs_end_to_end() -> None:
    _require(shutil.which("uv") is not None, "uv is missing")
    _require(reachable(5432), "PostgreSQL is not reachable on 127.0.0.1:5432")
    _require(reachable(6379), "Redis is not reachable on 127.0.0.1:6379")
    # The drain part needs haproxy and wrk: optional on a workstation, installed by .ci/run.
    drain = all(shutil.which(tool) for tool in ("haproxy", "wrk"))
    _require(drain or os.environ.get("CI") != "true", "haproxy or wrk is missing")

    result = subprocess.run(
        [
            sys.executable,
            str(SCALE_OUT),
            "--jobs=30",
            "--workers=1,2",
            "--runners=arq,celery-redis",
            f"--drain-seconds={4 if drain else 0}",
            "--drain-window=2",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    assert "| arq | " in result.stdout
    assert "| celery-redis | " in result.stdout
    assert result.stderr.count("drained 30 jobs") == 4
    if drain:
        assert "PASS." in result.stdout
