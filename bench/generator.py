"""Generator timings: `fastgen new --defaults` from an installed wheel of the clone (as users
get it), `fastgen update` with no template change, the most popular peer's render (s3rius
`fastapi-template` from PyPI, render only: peer_render.py), and generate -> `uv sync` ->
`pytest` green for the default answers."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import BENCH, log, median
from bench.prepare import Database, Project
from conftest import install_wheel, user_env
from projects import run, uv

PEER = "fastapi_template==6.1.2"


def generator_timings(
    source: Path,
    base: Path,
    runs: int,
    green: Database | None,
    redis_url: str,
    namespace: str,
    owner: Project,
) -> dict[str, Any]:
    base.mkdir()
    fastgen = str(install_wheel(source, base))
    env = {
        **user_env(),
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        # Not the user's own Copier defaults.
        "COPIER_SETTINGS_PATH": str(base / "no-settings.yml"),
    }
    new_times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        run([fastgen, "new", "Gen Bench", str(base / f"new-{i}"), "--defaults"], base, env)
        if i:  # the first run warms the page cache and is not counted
            new_times.append(time.perf_counter() - t0)
    log(f"fastgen new --defaults: median {median(new_times):.2f} s over {len(new_times)} runs")
    update_times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run([fastgen, "update"], base / f"new-{runs}", env)
        update_times.append(time.perf_counter() - t0)
    log(f"fastgen update (no template change): median {median(update_times):.2f} s")
    result: dict[str, Any] = {
        "new_defaults_s": new_times,
        "update_s": update_times,
        "peer_render_s": peer_timings(base / "peer", runs, env),
    }
    if green is not None:
        result["green"] = green_run(
            fastgen, base / "green", env, green, redis_url, namespace, owner
        )
    return result


def peer_timings(base: Path, runs: int, env: dict[str, str]) -> list[float]:
    """s3rius `fastapi-template` from PyPI, render only (bench/peer_render.py), `runs` times."""
    base.mkdir()
    venv = base / "venv"
    run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], base)
    install = [uv(), "pip", "install", "--quiet", "--compile-bytecode"]
    install += ["--python", str(venv / "bin" / "python"), PEER]
    if subprocess.run([*install, "--offline"], capture_output=True).returncode != 0:
        run(install, base)  # cold cache: use the index
    times = []
    for i in range(runs + 1):
        dest = base / f"out-{i}"
        dest.mkdir()
        t0 = time.perf_counter()
        run([str(venv / "bin" / "python"), str(BENCH / "peer_render.py"), str(dest)], base, env)
        if i:  # as for fastgen, the first run warms the page cache
            times.append(time.perf_counter() - t0)
    log(f"peer render ({PEER}): median {median(times):.2f} s")
    return times


def green_run(
    fastgen: str,
    dest: Path,
    env: dict[str, str],
    database: Database,
    redis_url: str,
    namespace: str,
    owner: Project,
) -> dict[str, float]:
    """Generate -> install -> tests green, for the default answers, with a warm uv cache."""
    name = f"genbench_{secrets.token_hex(4)}"
    green_env = {
        **env,
        "DATABASE_URL": database.url.rsplit("/", 1)[0] + f"/{name}",
        "REDIS_URL": redis_url,
        "NAMESPACE": f"{namespace}-green",
    }
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    run([fastgen, "new", name, str(dest), "--defaults"], dest.parent, green_env)
    phases["generate_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    run([uv(), "sync", "--quiet"], dest, green_env)
    phases["install_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    try:
        run([uv(), "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider"], dest, green_env)
    finally:
        # The suite drops its own <name>_test database; make sure, in case it failed early.
        Database(database.kind, green_env["DATABASE_URL"] + "_test").drop(owner)
    phases["tests_s"] = time.perf_counter() - t2
    phases["total_s"] = time.perf_counter() - t0
    log(
        f"generate -> install -> green: {phases['total_s']:.1f} s "
        f"({phases['generate_s']:.1f} + {phases['install_s']:.1f} + {phases['tests_s']:.1f})"
    )
    return phases
