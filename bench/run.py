"""fastgen benchmark: the generated app, side by side with its baselines, in one run.

    .venv/bin/python bench/run.py [--duration 10] [--rounds 3] [--out bench/results]

Needs: uv, wrk (Debian: `apt-get install -y wrk`), PostgreSQL on 127.0.0.1:5432 (user
postgres, no password) and Redis on 127.0.0.1:6379. See bench/README.md for what is measured.

Steps:
1. Render PostgreSQL+Redis+ARQ and PostgreSQL+none+ARQ projects from a clean clone of the
   repository at --ref (HEAD: the committed template, never uncommitted edits), `uv sync` each.
2. Create a uniquely named database, migrate it (alembic), seed --items rows; a dedicated Redis
   DB number and a unique NAMESPACE. Everything is dropped at the end.
3. Per round: start every server pinned to one core (startup time = process start to the first
   200 on /health/ready), then every wrk measurement pinned to the other core, each after its
   own warm-up, in an order rotated per round; peak RSS when the round ends.
4. In-process CPU cost per request (the ASGI app called directly).
5. Generator timings: `fastgen new --defaults` from an installed wheel, and
   generate -> install -> tests green for the default answers.
6. Markdown + JSON into --out; the table into bench/README.md (--readme).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BASELINES = BENCH / "baselines"
ITEM_ID = 4242  # the row every read targets (or the last one, with fewer --items)
WRK_INSTALL = "wrk is missing: install it with `apt-get update && apt-get install -y wrk` (Debian)"
README_START = "<!-- bench:results:start -->"
README_END = "<!-- bench:results:end -->"

# Targets from issue 14 (same-run ratios); None: reported, no target. Cache hits are
# held to the cache-hit floor (FLOOR_TARGETS), the rest to their baseline.
TARGETS = {
    "app.live": 0.90,
    "nocache.get": 0.50,
    "app.list": 0.50,
    "app.post": 0.40,
}
FLOOR_TARGETS = {"app.hit": 0.90}

# Cache hits are also compared with the cheapest possible hit on the same machine.
FLOOR = "redis.hit"


# ----------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure show its output and stop."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    result = subprocess.run(cmd, **kwargs)
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "")
        raise SystemExit(f"command failed ({result.returncode}): {' '.join(cmd)}\n{output[-4000:]}")
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, _lower(exc.headers), exc.read()


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cpu_sets() -> tuple[str | None, str | None]:
    """(server cores, load-generator cores) for taskset, or (None, None) when not pinnable."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:
        return None, None
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return None, None
    return str(cpus[0]), str(cpus[1])


def pinned(cores: str | None, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", cores, *cmd] if cores else cmd


def peak_rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def machine() -> dict[str, Any]:
    model = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.0f} GiB"
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory": mem,
        "kernel": platform.release(),
        "os": _os_name(),
    }


def _os_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.system()


# ----------------------------------------------------------------------------- projects


@dataclass
class Project:
    key: str
    path: Path
    package: str

    @property
    def python(self) -> str:
        return str(self.path / ".venv" / "bin" / "python")


def clean_clone(ref: str, dest: Path) -> str:
    """A clone of this repository at `ref`: the committed template, whatever the worktree holds."""
    run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(dest)])
    run(["git", "-C", str(dest), "checkout", "--quiet", ref])
    return run(["git", "-C", str(dest), "rev-parse", "HEAD"]).stdout.strip()


def render(source: Path, dest: Path, cache: str) -> None:
    from copier import run_copy  # lazy: importing copier costs ~0.6 s

    run_copy(
        str(source),
        str(dest),
        data={
            "project_name": "Bench App",
            "database": "postgresql",
            "cache": cache,
            "tasks": "arq",
        },
        vcs_ref="HEAD",
        defaults=True,
        unsafe=True,
        quiet=True,
    )


def uv_sync(path: Path, compile_bytecode: bool) -> None:
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(path / ".venv")}
    env.pop("VIRTUAL_ENV", None)
    # Compiled, as the Docker image is (UV_COMPILE_BYTECODE=1): startup times are realistic.
    flags = ["--compile-bytecode"] if compile_bytecode else []
    run(["uv", "sync", "--quiet", *flags], cwd=path, env=env)


def package_versions(python: str) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({n: m.version(n) for n in ['fastapi', 'starlette', 'pydantic',"
        " 'uvicorn', 'uvloop', 'httptools', 'sqlalchemy', 'asyncpg', 'redis', 'structlog']}))"
    )
    versions: dict[str, str] = json.loads(run([python, "-c", code]).stdout)
    python_version = "import platform; print(platform.python_version())"
    versions["python"] = run([python, "-c", python_version]).stdout.strip()
    return versions


# ----------------------------------------------------------------------------- servers


@dataclass
class ServerSpec:
    key: str
    label: str
    cmd: list[str]
    cwd: Path
    env: dict[str, str]
    ready_path: str
    asgi_app: str  # module:attr for the in-process measurement
    access_log: bool


@dataclass
class Server:
    spec: ServerSpec
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    startup_s: float = float("nan")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(spec: ServerSpec, cores: str | None, logs: Path, tag: str) -> Server:
    port = free_port()
    env = {**os.environ, **spec.env, "PORT": str(port), "HOST": "127.0.0.1"}
    env.pop("VIRTUAL_ENV", None)
    cmd = [arg.replace("{port}", str(port)) for arg in spec.cmd]
    log_path = logs / f"{spec.key}-{tag}.log"
    with log_path.open("wb") as out:
        t0 = time.perf_counter()
        process = subprocess.Popen(
            pinned(cores, cmd), cwd=spec.cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(spec, port, process, log_path)
    deadline = t0 + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{spec.key} exited during startup:\n{_tail(log_path)}")
        with contextlib.suppress(OSError):
            status, _, _ = http_get(server.base + spec.ready_path, timeout=1)
            if status == 200:
                server.startup_s = time.perf_counter() - t0
                return server
            if 400 <= status < 500:
                stop_server(server)
                raise SystemExit(f"{spec.key}: GET {spec.ready_path} -> {status}")
        if time.perf_counter() > deadline:
            stop_server(server)
            raise SystemExit(f"{spec.key} not ready after 60 s:\n{_tail(log_path)}")
        time.sleep(0.005)


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# ----------------------------------------------------------------------------- load


@dataclass
class Measure:
    key: str  # e.g. "app.hit"
    server: str
    label: str
    method: str
    path: str
    status: int
    baseline: str | None  # key of the measure it is compared to
    post_items: bool = False
    cache_hit: bool = False
    extra: bool = False  # a prototype variant, not part of the list


def wrk(
    server: Server, m: Measure, seconds: float, connections: int, cores: str | None
) -> dict[str, Any]:
    script = BENCH / "wrk" / ("post_items.lua" if m.post_items else "report.lua")
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds
        "--timeout",
        "5s",
        "-s",
        str(script),
        server.base + m.path,
    ]
    env = {**os.environ, "BENCH_PREFIX": f"wrk-{secrets.token_hex(6)}"}
    result = run(pinned(cores, cmd), env=env)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line[len("BENCH_JSON ") :])
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
            return data
    raise SystemExit(f"no result from wrk:\n{result.stdout}\n{result.stderr}")


def check_endpoint(server: Server, m: Measure) -> None:
    """One request before the load: right status, and a cache hit where one is expected."""
    if m.post_items:
        return
    status, headers, body = http_get(server.base + m.path)
    if status != m.status:
        raise SystemExit(
            f"{m.key}: GET {m.path} -> {status}: {body[:300]!r}\n{_tail(server.log_path)}"
        )
    if m.cache_hit:
        status, headers, _ = http_get(server.base + m.path)
        if headers.get("x-cache") != "HIT":
            raise SystemExit(f"{m.key}: expected a cache hit, got X-Cache={headers.get('x-cache')}")


# ----------------------------------------------------------------------------- the run


@dataclass
class Context:
    args: argparse.Namespace
    work: Path
    logs: Path
    dsn: str
    redis_url: str
    namespace: str
    secret: str
    item_id: int = ITEM_ID
    projects: dict[str, Project] = field(default_factory=dict)
    servers: dict[str, ServerSpec] = field(default_factory=dict)
    measures: list[Measure] = field(default_factory=list)


def build_specs(ctx: Context) -> None:
    app, nocache = ctx.projects["app"], ctx.projects["nocache"]
    pkg = app.package
    common = {
        "ENVIRONMENT": "production",
        "SECRET_KEY": ctx.secret,
        "DATABASE_URL": ctx.dsn,
        "REDIS_URL": ctx.redis_url,
        "NAMESPACE": ctx.namespace,
        # Hits must stay hits for the whole run.
        "CACHE_TTL_SECONDS": "3600",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # ACCESS_LOG is left unset: production gets the settings default (off), as the Dockerfile does.
    uvicorn_bare = [
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
    specs = [
        ServerSpec(
            "hello",
            "bare FastAPI hello world",
            [app.python, *uvicorn_bare, "hello:app"],
            app.path,
            {"DATABASE_URL": ctx.dsn},
            "/",
            "hello:app",
            False,
        ),
        ServerSpec(
            "asyncpg",
            "bare FastAPI + raw asyncpg pool",
            [app.python, *uvicorn_bare, "asyncpg_read:app"],
            app.path,
            {
                "DATABASE_URL": ctx.dsn,
                "REDIS_URL": ctx.redis_url,
                "NAMESPACE": ctx.namespace,
                "BENCH_PACKAGE": pkg,
            },
            f"/items/{ctx.item_id}",
            "asyncpg_read:app",
            False,
        ),
        ServerSpec(
            "redis",
            "bare FastAPI + one Redis GET (cache-aside, no middleware or dependencies)",
            [app.python, *uvicorn_bare, "redis_read:app"],
            app.path,
            {"DATABASE_URL": ctx.dsn, "REDIS_URL": ctx.redis_url, "NAMESPACE": ctx.namespace},
            f"/items/{ctx.item_id}",
            "redis_read:app",
            False,
        ),
        ServerSpec(
            "seed",
            "seed-article style (BaseHTTPMiddleware, session on every hit)",
            [app.python, str(BASELINES / "seed_style.py")],
            app.path,
            {**common, "BENCH_PACKAGE": pkg},
            "/health/ready",
            "seed_style:app",
            False,
        ),
        ServerSpec(
            "app",
            "generated: PostgreSQL + Redis + ARQ",
            [app.python, "-m", pkg],
            app.path,
            common,
            "/health/ready",
            f"{pkg}.main:app",
            False,
        ),
        ServerSpec(
            "nocache",
            "generated: PostgreSQL + no cache + ARQ",
            [nocache.python, "-m", nocache.package],
            nocache.path,
            common,
            "/health/ready",
            f"{nocache.package}.main:app",
            False,
        ),
    ]
    if ctx.args.variants:
        specs += [
            ServerSpec(
                "app_access",
                "generated, ACCESS_LOG=true",
                [app.python, "-m", pkg],
                app.path,
                {**common, "ACCESS_LOG": "true"},
                "/health/ready",
                f"{pkg}.main:app",
                True,
            ),
            ServerSpec(
                "nocache_ping",
                "generated, no cache, DB_POOL_PRE_PING=true",
                [nocache.python, "-m", nocache.package],
                nocache.path,
                {**common, "DB_POOL_PRE_PING": "true"},
                "/health/ready",
                f"{nocache.package}.main:app",
                False,
            ),
        ]
    for spec in specs:
        spec.env.setdefault("PYTHONPATH", str(BASELINES))
        ctx.servers[spec.key] = spec

    item = f"/items/{ctx.item_id}"
    ctx.measures = [
        Measure("hello", "hello", "bare FastAPI hello world", "GET", "/", 200, None),
        Measure("asyncpg.get", "asyncpg", "raw asyncpg read by id", "GET", item, 200, None),
        Measure(
            "asyncpg.list",
            "asyncpg",
            "raw asyncpg list, limit=20",
            "GET",
            "/items?limit=20",
            200,
            None,
        ),
        Measure(
            "asyncpg.post",
            "asyncpg",
            "raw asyncpg create (+ ARQ job)",
            "POST",
            "/items",
            201,
            None,
            post_items=True,
        ),
        Measure(
            FLOOR,
            "redis",
            "bare FastAPI + one Redis GET, cache hit",
            "GET",
            item,
            200,
            "hello",
            cache_hit=True,
        ),
        Measure("app.live", "app", "GET /health/live", "GET", "/health/live", 200, "hello"),
        Measure(
            "app.hit",
            "app",
            "GET /items/{id}, cache hit",
            "GET",
            item,
            200,
            "hello",
            cache_hit=True,
        ),
        Measure(
            "nocache.get", "nocache", "GET /items/{id}, uncached", "GET", item, 200, "asyncpg.get"
        ),
        Measure(
            "app.list", "app", "GET /items?limit=20", "GET", "/items?limit=20", 200, "asyncpg.list"
        ),
        Measure(
            "app.post", "app", "POST /items", "POST", "/items", 201, "asyncpg.post", post_items=True
        ),
        Measure(
            "seed.live", "seed", "seed style: GET /health/live", "GET", "/health/live", 200, "hello"
        ),
        Measure(
            "seed.hit",
            "seed",
            "seed style: GET /items/{id}, cache hit",
            "GET",
            item,
            200,
            "hello",
            cache_hit=True,
        ),
    ]
    if ctx.args.variants:
        ctx.measures += [
            Measure(
                "app_access.live",
                "app_access",
                "GET /health/live, ACCESS_LOG=true",
                "GET",
                "/health/live",
                200,
                "hello",
                extra=True,
            ),
            Measure(
                "app_access.hit",
                "app_access",
                "GET /items/{id} hit, ACCESS_LOG=true",
                "GET",
                item,
                200,
                "hello",
                cache_hit=True,
                extra=True,
            ),
            Measure(
                "nocache_ping.get",
                "nocache_ping",
                "GET /items/{id} uncached, DB_POOL_PRE_PING=true",
                "GET",
                item,
                200,
                "asyncpg.get",
                extra=True,
            ),
        ]


def prepare(ctx: Context) -> dict[str, Any]:
    args = ctx.args
    source = ctx.work / "source"
    commit = clean_clone(args.ref, source)
    log(f"template at {args.ref} = {commit[:12]}")
    t0 = time.perf_counter()
    variants = (("app", "redis"), ("nocache", "none"))
    for key, cache in variants:
        render(source, ctx.work / key, cache)
    # The installs are mostly waiting on the disk: both at once.
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda kv: uv_sync(ctx.work / kv[0], args.compile), variants))
    for key, cache in variants:
        dest = ctx.work / key
        package = next(p.name for p in (dest / "src").iterdir() if (p / "__init__.py").exists())
        ctx.projects[key] = Project(key, dest, package)
        log(f"rendered {key} ({package}, cache={cache})")
    log(f"rendered and installed both projects in {time.perf_counter() - t0:.1f} s")
    app = ctx.projects["app"]
    run([app.python, str(BENCH / "dbtool.py"), "create", ctx.dsn])
    env = {**os.environ, "DATABASE_URL": ctx.dsn}
    env.pop("VIRTUAL_ENV", None)
    run([str(app.path / ".venv" / "bin" / "alembic"), "upgrade", "head"], cwd=app.path, env=env)
    run([app.python, str(BENCH / "dbtool.py"), "seed", ctx.dsn, str(args.items)])
    log(f"database {ctx.dsn.rsplit('/', 1)[1]} migrated, {args.items} items seeded")
    build_specs(ctx)
    return {"commit": commit, "versions": package_versions(app.python)}


def run_rounds(ctx: Context) -> dict[str, Any]:
    args = ctx.args
    server_cores, load_cores = cpu_sets()
    if load_cores:
        # This process (and so wrk's parent and its readiness polls) stays off the server's core.
        os.sched_setaffinity(0, {int(load_cores)})
    app = ctx.projects["app"]
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}")
        servers: dict[str, Server] = {}
        try:
            for key, spec in ctx.servers.items():
                servers[key] = start_server(spec, server_cores, ctx.logs, f"r{r}")
            for m in ctx.measures:
                check_endpoint(servers[m.server], m)
            # Interleaved: each round starts one measurement further along the list.
            shift = r % len(ctx.measures)
            order = ctx.measures[shift:] + ctx.measures[:shift]
            results: dict[str, Any] = {}
            for m in order:
                server = servers[m.server]
                if args.warmup > 0:
                    wrk(server, m, args.warmup, args.connections, load_cores)
                result = wrk(server, m, args.duration, args.connections, load_cores)
                errors = sum(result["errors"].values())
                if errors:
                    raise SystemExit(
                        f"{m.key}: {errors} errors under load: {result['errors']}\n"
                        f"{_tail(server.log_path)}"
                    )
                if m.post_items:
                    run([app.python, str(BENCH / "dbtool.py"), "reset", ctx.dsn, str(args.items)])
                if m.cache_hit:
                    check_endpoint(server, m)
                results[m.key] = result
                latency = result["latency_us"]
                log(
                    f"  {m.key:<20} {result['rps']:>9.0f} req/s"
                    f"  p50 {latency['p50'] / 1000:.2f} ms  p99 {latency['p99'] / 1000:.2f} ms"
                )
            rss = {key: peak_rss_kib(s.process.pid) for key, s in servers.items()}
            startup = {key: s.startup_s for key, s in servers.items()}
        finally:
            for server in servers.values():
                stop_server(server)
        rounds.append(
            {
                "order": [m.key for m in order],
                "results": results,
                "peak_rss_kib": rss,
                "startup_s": startup,
            }
        )
    return {"pinning": {"server": server_cores, "load": load_cores}, "rounds": rounds}


def asgi_costs(ctx: Context) -> dict[str, Any]:
    """In-process CPU per request; each server's endpoints in one process, one after the other."""
    server_cores, _ = cpu_sets()
    by_server: dict[str, list[Measure]] = {}
    for m in ctx.measures:
        by_server.setdefault(m.server, []).append(m)
    out: dict[str, Any] = {}
    for key, measures in by_server.items():
        spec = ctx.servers[key]
        python = spec.cmd[0]
        specs = [
            {
                "name": m.key,
                "method": m.method,
                "path": m.path,
                "status": m.status,
                "post_items": m.post_items,
            }
            for m in measures
        ]
        cmd = [
            python,
            str(BENCH / "asgi_cost.py"),
            "--app",
            spec.asgi_app,
            "--spec",
            json.dumps(specs),
            "--seconds",
            str(ctx.args.asgi_seconds),
            "--batches",
            str(ctx.args.asgi_batches),
            "--warmup",
            str(ctx.args.asgi_warmup),
        ]
        if spec.access_log:
            cmd.append("--access-log")
        env = {**os.environ, **spec.env, "PORT": "8000"}
        env.pop("VIRTUAL_ENV", None)
        log_path = ctx.logs / f"asgi-{key}.log"
        with log_path.open("wb") as err:
            result = subprocess.run(
                pinned(server_cores, cmd),
                cwd=spec.cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        if result.returncode != 0:
            raise SystemExit(f"asgi_cost for {key} failed:\n{_tail(log_path)}")
        line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON "))
        for item in json.loads(line[len("BENCH_JSON ") :]):
            out[item["name"]] = item["batches"]
        if any(m.post_items for m in measures):
            run(
                [
                    ctx.projects["app"].python,
                    str(BENCH / "dbtool.py"),
                    "reset",
                    ctx.dsn,
                    str(ctx.args.items),
                ]
            )
    log("in-process costs measured")
    return out


def generator_timings(ctx: Context) -> dict[str, Any]:
    """`fastgen new --defaults` from an installed wheel; generate -> install -> tests green."""
    args = ctx.args
    base = ctx.work / "generator"
    base.mkdir()
    source = ctx.work / "source"
    run(["uv", "build", "--wheel", "--quiet", "--out-dir", str(base / "dist"), str(source)])
    [wheel] = (base / "dist").glob("*.whl")
    venv = base / "venv"
    run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)])
    install = [
        "uv",
        "pip",
        "install",
        "--quiet",
        "--compile-bytecode",
        "--python",
        str(venv / "bin" / "python"),
        str(wheel),
    ]
    if subprocess.run([*install, "--offline"], capture_output=True).returncode != 0:
        run(install)
    fastgen = str(venv / "bin" / "fastgen")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    env.pop("VIRTUAL_ENV", None)
    # Not the user's own Copier defaults.
    env["COPIER_SETTINGS_PATH"] = str(base / "no-settings.yml")
    new_times = []
    for i in range(args.generator_runs + 1):
        dest = base / f"new-{i}"
        t0 = time.perf_counter()
        run([fastgen, "new", "Gen Bench", str(dest), "--defaults"], cwd=base, env=env)
        if i:  # the first run warms the page cache and is not counted
            new_times.append(time.perf_counter() - t0)
    log(f"fastgen new --defaults: median {median(new_times):.2f} s over {len(new_times)} runs")
    result: dict[str, Any] = {"new_defaults_s": new_times}
    # `fastgen update` of an up-to-date project (the last one generated above).
    update_times = []
    for _ in range(args.generator_runs):
        t0 = time.perf_counter()
        run([fastgen, "update"], cwd=base / f"new-{args.generator_runs}", env=env)
        update_times.append(time.perf_counter() - t0)
    result["update_s"] = update_times
    log(f"fastgen update (no template change): median {median(update_times):.2f} s")
    result["peer_render_s"] = peer_timings(base / "peer", args.generator_runs, env)
    if not args.green:
        return result
    # Generate -> install -> tests green, for the default answers, with a warm uv cache.
    name = f"genbench_{secrets.token_hex(4)}"
    dest = base / "green"
    green_env = {
        **env,
        "DATABASE_URL": ctx.dsn.rsplit("/", 1)[0] + f"/{name}",
        "REDIS_URL": ctx.redis_url,
        "NAMESPACE": f"{ctx.namespace}-green",
    }
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    run([fastgen, "new", name, str(dest), "--defaults"], cwd=base, env=green_env)
    phases["generate_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    run(["uv", "sync", "--quiet"], cwd=dest, env=green_env)
    phases["install_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    try:
        run(
            ["uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=dest,
            env=green_env,
        )
    finally:
        # The suite drops its own <name>_test database; make sure, in case it failed early.
        run(
            [
                ctx.projects["app"].python,
                str(BENCH / "dbtool.py"),
                "drop",
                green_env["DATABASE_URL"] + "_test",
            ]
        )
    phases["tests_s"] = time.perf_counter() - t2
    phases["total_s"] = time.perf_counter() - t0
    log(
        f"generate -> install -> green: {phases['total_s']:.1f} s "
        f"({phases['generate_s']:.1f} + {phases['install_s']:.1f} + {phases['tests_s']:.1f})"
    )
    result["green"] = phases
    return result


def peer_timings(base: Path, runs: int, env: dict[str, str]) -> list[float]:
    """s3rius `fastapi-template` from PyPI, render only (bench/peer_render.py), `runs` times."""
    venv = base / "venv"
    run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)])
    install = ["uv", "pip", "install", "--quiet", "--compile-bytecode"]
    install += ["--python", str(venv / "bin" / "python"), "fastapi_template==6.1.2"]
    if subprocess.run([*install, "--offline"], capture_output=True).returncode != 0:
        run(install)
    times = []
    for i in range(runs + 1):
        dest = base / f"out-{i}"
        dest.mkdir()
        t0 = time.perf_counter()
        run([str(venv / "bin" / "python"), str(BENCH / "peer_render.py"), str(dest)], env=env)
        if i:  # as for fastgen, the first run warms the page cache
            times.append(time.perf_counter() - t0)
    log(f"peer render (fastapi_template 6.1.2): median {median(times):.2f} s")
    return times


# ----------------------------------------------------------------------------- report


def summarize(ctx: Context, load: dict[str, Any], asgi: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for m in ctx.measures:
        per_round = [r["results"][m.key] for r in load["rounds"]]
        ratios = []
        if m.baseline:
            ratios = [
                r["results"][m.key]["rps"] / r["results"][m.baseline]["rps"] for r in load["rounds"]
            ]
        cpu = [b["cpu_us"] for b in asgi.get(m.key, [])]
        base_cpu = [b["cpu_us"] for b in asgi.get(m.baseline or "", [])]
        rows.append(
            {
                "key": m.key,
                "label": m.label,
                "server": m.server,
                "baseline": m.baseline,
                "extra": m.extra,
                "rps": median([x["rps"] for x in per_round]),
                "rps_rounds": [x["rps"] for x in per_round],
                "p50_ms": median([x["latency_us"]["p50"] / 1000 for x in per_round]),
                "p99_ms": median([x["latency_us"]["p99"] / 1000 for x in per_round]),
                "ratio": median(ratios) if ratios else None,
                "ratio_rounds": ratios,
                "floor_ratio": floor_ratio(load, m) if m.cache_hit and m.key != FLOOR else None,
                "target": TARGETS.get(m.key),
                "cpu_us": median(cpu),
                "cpu_ratio": median(base_cpu) / median(cpu) if cpu and base_cpu else None,
            }
        )
    servers = {}
    for key, spec in ctx.servers.items():
        rss = [r["peak_rss_kib"][key] for r in load["rounds"] if r["peak_rss_kib"].get(key)]
        servers[key] = {
            "label": spec.label,
            "peak_rss_mib": max(rss) / 1024 if rss else None,
            "startup_s": median([r["startup_s"][key] for r in load["rounds"]]),
            "startup_rounds_s": [r["startup_s"][key] for r in load["rounds"]],
        }
    return {"rows": rows, "servers": servers}


def floor_ratio(load: dict[str, Any], m: Measure) -> float:
    rounds = load["rounds"]
    return median([r["results"][m.key]["rps"] / r["results"][FLOOR]["rps"] for r in rounds])


def fmt_ratio(row: dict[str, Any]) -> str:
    if row["ratio"] is None:
        return "—"
    return f"{row['ratio']:.2f}x"


def fmt_target(row: dict[str, Any]) -> str:
    target = row["target"]
    if target is None or row["ratio"] is None:
        return ""
    if row["ratio"] >= target:
        return f"≥ {target:.2f} ✅"
    return f"≥ {target:.2f} ❌ ({(row['ratio'] / target - 1) * 100:+.0f} %)"


def markdown(report: dict[str, Any]) -> str:
    summary, params, m = report["summary"], report["params"], report["machine"]
    v = report["versions"]
    baseline_names = {
        "hello": "bare",
        "asyncpg.get": "asyncpg",
        "asyncpg.list": "asyncpg list",
        "asyncpg.post": "asyncpg create",
    }
    pins = report["load"]["pinning"]
    lines = [
        f"Measured {report['finished']} on {m['cpu']} ({m['cores']} cores, {m['memory']}), "
        f"{m['os']}, kernel {m['kernel']}; Python {v['python']}, FastAPI {v['fastapi']}, "
        f"Starlette {v['starlette']}, uvicorn {v['uvicorn']}, SQLAlchemy {v['sqlalchemy']}, "
        f"asyncpg {v['asyncpg']}; template {report['commit'][:12]}.",
        f"wrk -t1 -c{params['connections']}, {params['duration']:g} s per measurement after "
        f"{params['warmup']:g} s warm-up, {params['rounds']} interleaved rounds; server pinned to "
        f"CPU {pins['server']}, wrk to CPU {pins['load']}; "
        f"{params['items']} items. Ratio = median of per-round ratios to the baseline in brackets. "
        "CPU/req = in-process (ASGI called directly), median of batches.",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | p99/p50 | ratio | target | CPU µs/req "
        "| CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for row in summary["rows"]:
        base = (
            f" ({baseline_names.get(row['baseline'], row['baseline'])})" if row["baseline"] else ""
        )
        label = f"*{row['label']}*" if row["extra"] else row["label"]
        cpu_ratio = f"{row['cpu_ratio']:.2f}x" if row["cpu_ratio"] else "—"
        lines.append(
            f"| {label} | {row['rps']:,.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
            f"{row['p99_ms'] / row['p50_ms']:.1f} | {fmt_ratio(row)}{base} | {fmt_target(row)} | "
            f"{row['cpu_us']:.0f} | {cpu_ratio} |"
        )
    floors = [row for row in summary["rows"] if row.get("floor_ratio") is not None]
    if floors:
        lines += [
            "",
            "Cache hits against the floor (bare FastAPI + one Redis GET, same round): "
            + ", ".join(
                f"{row['label']} {row['floor_ratio']:.2f}x"
                + (
                    f" (target ≥ {FLOOR_TARGETS[row['key']]:.2f} "
                    f"{'✅' if row['floor_ratio'] >= FLOOR_TARGETS[row['key']] else '❌'})"
                    if row["key"] in FLOOR_TARGETS
                    else ""
                )
                for row in floors
            )
            + ".",
        ]
    lines += [
        "",
        "| server | peak RSS MiB | startup s (to first 200 on ready) |",
        "|---|---:|---:|",
    ]
    for key, s in summary["servers"].items():
        rss = f"{s['peak_rss_mib']:.0f}" if s["peak_rss_mib"] else "—"
        lines.append(f"| {s['label']} (`{key}`) | {rss} | {s['startup_s']:.2f} |")
    gen = report.get("generator")
    if gen:
        lines += ["", "| generator | time | target |", "|---|---:|---|"]
        new = median(gen["new_defaults_s"])
        lines.append(
            f"| `fastgen new --defaults` (installed wheel, median of "
            f"{len(gen['new_defaults_s'])}; render, `uv lock`, git init and commit) | "
            f"{new:.2f} s | ≤ 0.5 s {'✅' if new <= 0.5 else '❌'} |"
        )
        if gen.get("peer_render_s"):
            peer = median(gen["peer_render_s"])
            lines.append(
                f"| s3rius `fastapi-template` 6.1.2, render only, no hooks (median of "
                f"{len(gen['peer_render_s'])}) | {peer:.2f} s | fastgen ≥ 4x faster: "
                f"{peer / new:.1f}x {'✅' if peer / new >= 4 else '❌'} |"
            )
        if gen.get("update_s"):
            update = median(gen["update_s"])
            lines.append(
                f"| `fastgen update`, no template change (median of {len(gen['update_s'])}) | "
                f"{update:.2f} s | ≤ 1.5 s {'✅' if update <= 1.5 else '❌'} |"
            )
        if "green" in gen:
            g = gen["green"]
            lines.append(
                f"| generate → `uv sync` → `pytest` green, default answers, warm cache "
                f"({g['generate_s']:.1f} + {g['install_s']:.1f} + {g['tests_s']:.1f}) | "
                f"{g['total_s']:.1f} s | < 30 s {'✅' if g['total_s'] < 30 else '❌'} |"
            )
    return "\n".join(lines) + "\n"


def update_readme(path: Path, table: str) -> None:
    text = path.read_text() if path.exists() else ""
    block = f"{README_START}\n{table}{README_END}"
    if README_START in text and README_END in text:
        text = re.sub(
            re.escape(README_START) + r".*?" + re.escape(README_END),
            lambda _: block,
            text,
            flags=re.S,
        )
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


# ----------------------------------------------------------------------------- main


def preflight(args: argparse.Namespace) -> None:
    missing = [tool for tool in ("uv", "git") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing: {', '.join(missing)}")
    if shutil.which("wrk") is None:
        raise SystemExit(WRK_INSTALL)
    for host, port, name in (
        ("127.0.0.1", args.pg_port, "PostgreSQL"),
        ("127.0.0.1", args.redis_port, "Redis"),
    ):
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            raise SystemExit(f"{name} is not reachable on {host}:{port} ({exc})") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--duration", type=int, default=10, help="seconds per measurement (10)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up seconds before each (3; 0: none)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    p.add_argument("--items", type=int, default=10_000, help="seeded items (10000)")
    p.add_argument(
        "--asgi-seconds", type=float, default=2.0, help="in-process seconds per endpoint (2)"
    )
    p.add_argument("--asgi-batches", type=int, default=5)
    p.add_argument("--asgi-warmup", type=int, default=200, help="in-process warm-up requests (200)")
    p.add_argument(
        "--no-compile",
        dest="compile",
        action="store_false",
        help="install the projects without compiling bytecode (faster; smoke test)",
    )
    p.add_argument(
        "--generator-runs",
        type=int,
        default=5,
        help="timed `fastgen new` runs (5); 0 skips the generator timings",
    )
    p.add_argument(
        "--no-green",
        dest="green",
        action="store_false",
        help="skip generate -> install -> tests green",
    )
    p.add_argument(
        "--no-variants",
        dest="variants",
        action="store_false",
        help="skip the settings variants (ACCESS_LOG=true, DB_POOL_PRE_PING=false)",
    )
    p.add_argument("--ref", default="HEAD", help="template commit to benchmark (HEAD)")
    p.add_argument("--out", type=Path, default=BENCH / "results")
    p.add_argument(
        "--readme",
        type=Path,
        default=BENCH / "README.md",
        help="file whose results block gets the table (bench/README.md)",
    )
    p.add_argument("--no-readme", dest="readme", action="store_const", const=None)
    p.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server URL, without database (a unique one is created)",
    )
    p.add_argument(
        "--redis", default="redis://127.0.0.1:6379", help="Redis server URL, without DB number"
    )
    p.add_argument("--redis-db", type=int, default=13, help="Redis DB number, away from tests (13)")
    p.add_argument("--keep", action="store_true", help="keep the work directory and database")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a look in under two minutes: 3 s per measurement after 1 s, one round, short "
        "in-process batches, no variants, no generator timings; the README is left alone",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds = 3, 1, 1
        args.asgi_seconds, args.asgi_batches = 0.5, 3
        args.variants, args.generator_runs, args.green, args.readme = False, 0, False, None
    args.pg_port = urlsplit(args.pg).port or 5432
    args.redis_port = urlsplit(args.redis).port or 6379
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    preflight(args)
    token = secrets.token_hex(4)
    work = Path(tempfile.mkdtemp(prefix="fastgen-bench-"))
    logs = work / "logs"
    logs.mkdir()
    ctx = Context(
        args=args,
        work=work,
        logs=logs,
        dsn=f"{args.pg.rstrip('/')}/fastgen_bench_{token}",
        redis_url=f"{args.redis.rstrip('/')}/{args.redis_db}",
        namespace=f"fastgen-bench-{token}",
        secret=secrets.token_hex(32),
        item_id=min(ITEM_ID, args.items),
    )
    log(f"work directory {work}")
    started = dt.datetime.now(dt.UTC)
    try:
        meta = prepare(ctx)
        load = run_rounds(ctx)
        asgi = asgi_costs(ctx)
        generator = generator_timings(ctx) if args.generator_runs > 0 else None
    finally:
        cleanup(ctx)
    report = {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        **meta,
        "load": load,
        "asgi": asgi,
        "generator": generator,
    }
    report["summary"] = summarize(ctx, load, asgi)
    table = markdown(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for name in (stamp, "latest"):
        (args.out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / f"{name}.md").write_text(table)
    if args.readme:
        update_readme(args.readme, table)
    print(table)
    log(f"wrote {args.out / (stamp + '.json')} and .md")
    return 0


def cleanup(ctx: Context) -> None:
    log("cleaning up")
    app = ctx.projects.get("app")
    if app is not None:
        with contextlib.suppress(SystemExit):
            run([app.python, str(BENCH / "dbtool.py"), "redis-clean", ctx.redis_url, ctx.namespace])
        if not ctx.args.keep:
            with contextlib.suppress(SystemExit):
                run([app.python, str(BENCH / "dbtool.py"), "drop", ctx.dsn])
    if ctx.args.keep:
        log(f"kept {ctx.work} and {ctx.dsn}")
    else:
        shutil.rmtree(ctx.work, ignore_errors=True)
    log("cleaned up")


if __name__ == "__main__":
    sys.exit(main())
