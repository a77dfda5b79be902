"""Servers: the command line and environment of each scenario server, and starting one pinned
to a core (startup = process start to the first 200 on its readiness path), then stopping it.

Processes are started and stopped by the test suite's `started` (tests/projects.py), and
readiness is polled with its `wait_for`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import httpx

from bench.common import BASELINES, pinned, tail
from bench.prepare import Project, Table
from bench.scenarios import Measure, Server
from projects import free_port, started, wait_for

UVICORN_BARE = [
    "-m",
    "uvicorn",
    "--app-dir",
    str(BASELINES),
    "--host",
    "127.0.0.1",
    "--port",
    "{port}",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
]


@dataclass(frozen=True)
class Services:
    """Where every server of a run finds the database and Redis, under one NAMESPACE."""

    database_url: str
    redis_url: str
    namespace: str
    secret: str


@dataclass(frozen=True)
class Launch:
    """A scenario server made concrete: how to start it, and what `cpu` loads in-process."""

    server: Server
    cmd: list[str]
    cwd: Path
    env: dict[str, str]
    asgi_app: str  # module:attr, called directly by asgi_cost.py


def launch(server: Server, projects: dict[str, Project], services: Services) -> Launch:
    project = projects[server.project]
    services_env = {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "NAMESPACE": services.namespace,
        "BENCH_PACKAGE": project.package,
        "PYTHONPATH": str(BASELINES),
    }
    if server.baseline is not None:
        cmd = [project.python, *UVICORN_BARE, server.baseline]
        return Launch(server, cmd, project.path, services_env, server.baseline)
    # As production runs the app (the Docker image): ACCESS_LOG is left unset, so the settings
    # default applies (off in production). Hits must stay hits for the whole run.
    env = {
        **services_env,
        "ENVIRONMENT": "production",
        "SECRET_KEY": services.secret,
        "CACHE_TTL_SECONDS": "3600",
        "PYTHONDONTWRITEBYTECODE": "1",
        **server.env,
    }
    if server.script is not None:
        cmd = [project.python, str(BASELINES / server.script)]
        return Launch(server, cmd, project.path, env, Path(server.script).stem + ":app")
    return Launch(
        server,
        [project.python, "-m", project.package],
        project.path,
        env,
        f"{project.package}.main:app",
    )


@dataclass(frozen=True)
class Fleet:
    """A run's servers, the endpoints measured on them, the table they share, and the logs."""

    launches: list[Launch]
    measures: list[Measure]
    table: Table
    logs: Path


@dataclass
class Running:
    launch: Launch
    port: int
    process: Popen[bytes]
    log: Path
    startup_s: float = float("nan")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def peak_rss_kib(self) -> int | None:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None


@contextlib.contextmanager
def serve(launch: Launch, cores: str | None, logs: Path, tag: str) -> Iterator[Running]:
    """Start the server pinned to `cores`, yield it once ready, SIGTERM it on the way out."""
    key = launch.server.key
    port = free_port()
    cmd = pinned(cores, [arg.replace("{port}", str(port)) for arg in launch.cmd])
    log = logs / f"{key}-{tag}.log"
    env = {**launch.env, "PORT": str(port), "HOST": "127.0.0.1"}
    t0 = time.perf_counter()
    with started(cmd, launch.cwd, env, log) as process:
        running = Running(launch, port, process, log)

        def ready() -> bool:
            if process.poll() is not None:
                raise SystemExit(f"{key} exited during startup:\n{tail(log)}")
            status = httpx.get(running.base + launch.server.ready, timeout=1).status_code
            if 400 <= status < 500:
                raise SystemExit(f"{key}: GET {launch.server.ready} -> {status}\n{tail(log)}")
            return status == 200

        wait_for(ready, f"{key} to be ready", [log], timeout=60, interval=0.005)
        running.startup_s = time.perf_counter() - t0
        yield running


@contextlib.contextmanager
def serve_all(
    launches: list[Launch], cores: str | None, logs: Path, tag: str
) -> Iterator[dict[str, Running]]:
    with contextlib.ExitStack() as stack:
        yield {
            launch.server.key: stack.enter_context(serve(launch, cores, logs, tag))
            for launch in launches
        }
