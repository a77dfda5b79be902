"""CPU per layer of a request, in µs: where an app spends its time, its own time per layer
(issue 24's floors: the parts that keep a path from its goal).

Run with the interpreter of the project that holds the app, from the app's directory, its
settings in the environment (as asgi_cost.py, whose `--spec` it takes):

    python layers.py --app bench_app.main:app --package bench_app --spec '[{"name": "post",
        "method": "POST", "path": "/items", "status": 201, "post_items": true}]'
    cd bench/baselines && python ../layers.py --app raw_items:app --spec '...'

The app is called in-process (asgi_cost.py's Lifespan and Caller), one request at a time, so a
request's CPU is all on this thread. Rounds alternate between the app as it is (its CPU per
request, `time.process_time`, every thread) and the app with each layer below wrapped by a timer
of this thread's CPU time. A layer's figure is its own time, without the layers it calls; the
sum of the layers is the instrumented request, and the timers' own cost (a few µs per wrapped
call) lands in the layer that made the call. Layers, named so that an app and its baseline line
up:

- each middleware of the app's stack, by class (Starlette's own two included);
- Starlette's routing (the route match) and its request/response wrapper, in which FastAPI's
  handler reads and parses the body and renders the response;
- FastAPI's dependency solving with the request's validation, the endpoint's own code, and the
  response's validation and serialization;
- the database: SQLAlchemy's connection and session calls, the driver's calls (asyncpg,
  aiomysql, aiosqlite);
- Redis (redis-py's commands, pipelines and pool), ARQ's `enqueue_job`;
- with `--package`, the generated project's own services: each resource's service module, the
  cache, the runner's enqueue and the events' publish;
- logging (structlog's processors and the standard library's handlers).
"""

import argparse
import contextvars
import importlib
import inspect
import itertools
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asgi_cost import Caller, Lifespan, load_app, report

OWN: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
# A timer's own cost per wrapped call (calibrate()): the part inside the call's window, and the
# part its caller pays; both are taken out of the figures.
INSIDE, OUTSIDE = 0.0, 0.0
CURRENT: contextvars.ContextVar["Frame | None"] = contextvars.ContextVar("frame", default=None)
ON = False  # the timers run only in the instrumented rounds
HANDLER = "Starlette: request/response wrapper, FastAPI handler"
TOP = "(outside the layers: the ASGI call, the test client)"


class Frame:
    """A wrapped call in progress, as a context: its own CPU goes to its label at the end, and
    all of it to its caller's `children`, the CPU of the wrapped calls it made."""

    __slots__ = ("children", "label", "parent", "start", "token")

    def __init__(self, label: str) -> None:
        self.label = label
        self.children = 0.0

    def __enter__(self) -> None:
        self.parent = CURRENT.get()
        self.token = CURRENT.set(self)
        self.start = time.thread_time()

    def __exit__(self, *exc: object) -> None:
        spent = time.thread_time() - self.start
        CURRENT.reset(self.token)
        OWN[self.label] += spent - self.children - INSIDE
        CALLS[self.label] += 1
        if self.parent is not None:
            self.parent.children += spent
            OWN[self.parent.label] -= OUTSIDE


async def _timed_call(function: Callable[..., Any], label: str, *args: Any, **kwargs: Any) -> Any:
    with Frame(label):
        return await function(*args, **kwargs)


def _timed_send(send: Callable[..., Any], label: str) -> Callable[..., Any]:
    """`send` as the ASGI layer that passes it down wrapped it: its time is that layer's."""

    async def timed_send(message: Any) -> Any:
        return await _timed_call(send, label, message)

    return timed_send


def timed(function: Callable[..., Any], label: str, asgi: bool = False) -> Callable[..., Any]:
    """`function` timed under `label`. An `asgi` layer's `send` (its last argument) is timed as
    its caller's: a middleware's send wrapper runs when the layers below it send."""
    # Decorated coroutines (asyncpg's `guarded` methods) are plain functions returning one.
    if inspect.iscoroutinefunction(inspect.unwrap(function)):

        @wraps(function)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            if not ON:
                return await function(*args, **kwargs)
            if asgi:
                caller = CURRENT.get()
                args = (*args[:-1], _timed_send(args[-1], caller.label if caller else TOP))
            return await _timed_call(function, label, *args, **kwargs)

        return timed_async

    @wraps(function)
    def timed_sync(*args: Any, **kwargs: Any) -> Any:
        if not ON:
            return function(*args, **kwargs)
        with Frame(label):
            return function(*args, **kwargs)

    return timed_sync


def wrap(owner: Any, names: list[str], label: str, asgi: bool = False) -> None:
    """Time `owner`'s attributes of these names (those it has, defined on it) under `label`."""
    for name in names:
        original = vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name, None)
        if callable(original):
            setattr(owner, name, timed(original, label, asgi))


def imported(name: str, package: str | None = None) -> Any:
    try:
        return importlib.import_module(name, package)
    except ImportError:
        return None


def instrument_libraries() -> None:
    import fastapi.routing
    import starlette.routing

    for module in (starlette.routing, fastapi.routing):
        for owner in vars(module).values():
            if isinstance(owner, type) and owner.__module__ == module.__name__:
                wrap(owner, ["handle"], HANDLER, asgi=True)
    wrap(fastapi.routing, ["solve_dependencies"], "FastAPI: dependencies, request validation")
    wrap(fastapi.routing, ["run_endpoint_function"], "endpoint: the route's own code")
    wrap(fastapi.routing, ["serialize_response"], "FastAPI: response validation, serialization")

    if sqlalchemy := imported("sqlalchemy.ext.asyncio"):
        calls = ["start", "execute", "scalar", "scalars", "close", "commit", "rollback"]
        wrap(sqlalchemy.AsyncConnection, calls, "database: SQLAlchemy")
        wrap(
            sqlalchemy.AsyncSession,
            ["execute", "get", "commit", "close", "flush"],
            "database: SQLAlchemy",
        )
    if asyncpg := imported("asyncpg"):
        driver = "database: driver"
        wrap(asyncpg.Connection, ["fetch", "fetchrow", "fetchval", "execute", "prepare"], driver)
        wrap(asyncpg.pool.Pool, ["_acquire", "release"], driver)
        wrap(asyncpg.prepared_stmt.PreparedStatement, ["fetch", "fetchrow", "explain"], driver)
    for module in ("aiomysql.cursors", "aiosqlite.core"):
        if found := imported(module):
            for owner in (getattr(found, "Cursor", None), getattr(found, "Connection", None)):
                if owner is not None:
                    wrap(
                        owner,
                        ["execute", "fetchone", "fetchall", "commit", "execute_fetchall"],
                        "database: driver",
                    )
    if redis := imported("redis.asyncio.client"):
        commands = ["execute_command", "execute", "watch", "immediate_execute_command", "reset"]
        wrap(redis.Redis, ["execute_command"], "Redis: redis-py")
        wrap(redis.Pipeline, commands, "Redis: redis-py")
        connection = importlib.import_module("redis.asyncio.connection")
        for pool in (connection.ConnectionPool, connection.BlockingConnectionPool):
            wrap(pool, ["get_connection", "release"], "Redis: redis-py")
    if arq := imported("arq.connections"):
        wrap(arq.ArqRedis, ["enqueue_job"], "jobs: ARQ's enqueue_job")

    import logging

    wrap(logging.Logger, ["handle"], "logging")
    if structlog := imported("structlog._base"):
        wrap(structlog.BoundLoggerBase, ["_proxy_to_logger"], "logging")


def instrument_project(package: str) -> None:
    """The generated project's own layers: every resource's service, the cache, the runner, the
    events."""
    root = Path(importlib.import_module(package).__file__ or "").parent
    for service in sorted(root.glob("*/service.py")):
        module = importlib.import_module(f".{service.parent.name}.service", package)
        functions = [n for n, f in vars(module).items() if inspect.iscoroutinefunction(f)]
        wrap(module, functions, f"project: {service.parent.name}.service")
    for name, label in [
        (".cache", "project: cache"),
        (".runner", "jobs: the runner"),
        (".events", "project: events"),
    ]:
        module = imported(name, package)
        for owner in vars(module).values() if module else ():
            if isinstance(owner, type) and owner.__module__ == module.__name__:
                coroutines = [n for n, f in vars(owner).items() if inspect.iscoroutinefunction(f)]
                wrap(owner, coroutines, label)


def instrument_stack(app: Any) -> None:
    """Each middleware of the app's built stack by class, and the router's own time."""
    node = app.middleware_stack
    while node is not None and node is not app.router:
        wrap(type(node), ["__call__"], f"middleware: {type(node).__name__}", asgi=True)
        node = getattr(node, "app", None)
    app.router.middleware_stack = timed(app.router.middleware_stack, "Starlette: routing", True)


def spec_bodies(endpoint: dict[str, Any]) -> Iterator[bytes]:
    """Request bodies for the endpoint, endlessly: a new item's, each named once, or none."""
    if not endpoint.get("post_items"):
        return itertools.repeat(b"")
    prefix = f"layers-{os.getpid()}-{endpoint['name']}"
    return (
        json.dumps({"name": f"{prefix}-{i}", "description": "layers"}).encode()
        for i in itertools.count()
    )


async def calibrate(calls: int = 20_000) -> dict[str, float]:
    """The timers' own cost: a timed caller making `calls` timed calls that do nothing."""
    global ON, INSIDE, OUTSIDE

    async def nothing() -> None:
        pass

    child = timed(nothing, "calibration: call")

    async def caller() -> None:
        for _ in range(calls):
            await child()

    parent = timed(caller, "calibration: caller")
    ON = True
    for _ in range(2):  # the second pass is the measured one
        OWN.clear()
        await parent()
    ON = False
    INSIDE = OWN["calibration: call"] / calls
    OUTSIDE = OWN["calibration: caller"] / calls
    OWN.clear()
    CALLS.clear()
    return {"inside_us": INSIDE * 1e6, "outside_us": OUTSIDE * 1e6}


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    global ON
    results: dict[str, Any] = {"timer_cost_per_call": await calibrate()}
    instrument_libraries()
    if args.package:
        instrument_project(args.package)
    app = load_app(args.app)
    async with Lifespan(app) as state:
        caller = Caller(app, state, access_log=False)
        top = timed(caller.__call__, TOP)
        instrumented = False
        for endpoint in json.loads(args.spec):
            bodies = spec_bodies(endpoint)
            method, path, expected = endpoint["method"], endpoint["path"], endpoint["status"]
            for _ in range(args.warmup):
                status = await caller(method, path, next(bodies))
                if status != expected:
                    raise SystemExit(f"{endpoint['name']}: {method} {path} -> {status}")
            if not instrumented:  # the stack is built by the first request
                instrument_stack(app)
                instrumented = True
            plain, timed_rounds = [], []
            OWN.clear()
            CALLS.clear()
            for _ in range(args.rounds):
                for ON in (False, True):
                    cpu = time.process_time()
                    for _ in range(args.requests):
                        await top(method, path, next(bodies))
                    spent = (time.process_time() - cpu) / args.requests * 1e6
                    (timed_rounds if ON else plain).append(spent)
            ON = False
            n = args.rounds * args.requests
            results[endpoint["name"]] = {
                "cpu_us_per_request": sorted(plain)[len(plain) // 2],
                "cpu_us_per_request_instrumented": sorted(timed_rounds)[len(timed_rounds) // 2],
                # A layer's own µs per request, and its calls per request.
                "layers": {
                    label: [round(seconds / n * 1e6, 1), round(CALLS[label] / n, 2)]
                    for label, seconds in sorted(OWN.items(), key=lambda kv: -kv[1])
                },
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--package", help="the generated project's package: its own layers too")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=300)
    args = parser.parse_args()
    report(lambda: measure(args))


if __name__ == "__main__":
    main()
