"""Where a request waits: wall time against CPU time for each await of one endpoint (issue 24).

Run with the interpreter of the generated project (like asgi_cost.py), its settings in the
environment, from the project's directory:

    python post_waits.py --app bench_app.main:app --package bench_app [--concurrency 1,64]
        [--requests 400] [--path /items --method POST]

The app is called in-process (asgi_cost.py's Lifespan and Caller). Each step below is wrapped
by a timer that records, per call, its wall time (perf_counter) and this thread's CPU time
(thread_time) between entry and exit. With one request at a time, wall - CPU of a step is what
it waits on the network; with many, a step's wall also holds the time other requests ran, so
a step whose wall grows far beyond the others' is where requests queue. Reported per step:
calls per request, mean wall µs, mean CPU µs, as JSON on stdout (BENCH_JSON ...).
"""

import argparse
import asyncio
import importlib
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asgi_cost import Caller, Lifespan, load_app, report

TIMES: dict[str, list[tuple[float, float]]] = defaultdict(list)


def timed_async(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    @wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return await original(*args, **kwargs)
        finally:
            TIMES[label].append((time.perf_counter() - wall, time.thread_time() - cpu))

    setattr(owner, name, wrapper)


def timed_sync(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    @wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            TIMES[label].append((time.perf_counter() - wall, time.thread_time() - cpu))

    setattr(owner, name, wrapper)


def instrument(package: str) -> None:
    from redis.asyncio import client as redis_client
    from redis.asyncio import connection as redis_connection
    from sqlalchemy.ext.asyncio import AsyncConnection

    timed_async(AsyncConnection, "start", "db: pool checkout (engine.connect)")
    timed_async(AsyncConnection, "execute", "db: execute (INSERT ... RETURNING)")
    timed_async(AsyncConnection, "close", "db: return to pool (reset)")
    timed_async(redis_connection.ConnectionPool, "get_connection", "redis: pool checkout")
    timed_async(redis_connection.BlockingConnectionPool, "get_connection", "redis: pool checkout")
    timed_async(redis_client.Redis, "execute_command", "redis: command (PUBLISH)")
    timed_async(redis_client.Pipeline, "watch", "redis: arq WATCH")
    timed_async(redis_client.Pipeline, "immediate_execute_command", "redis: arq EXISTS")
    timed_async(redis_client.Pipeline, "execute", "redis: arq MULTI/PSETEX/ZADD/EXEC")
    timed_async(redis_client.Pipeline, "reset", "redis: arq pipeline reset")
    for module, owner, name, label in [
        (".items.service", None, "create_item", "service.create_item (all of the INSERT)"),
        (".events", "Events", "publish", "events.publish"),
        (".runner", "Runner", "enqueue", "runner.enqueue (all of it)"),
    ]:
        try:
            target = importlib.import_module(module, package)
        except ImportError:
            continue
        if owner is not None:
            target = getattr(target, owner, None)
        if target is not None and hasattr(target, name):
            timed_async(target, name, label)
    try:
        metrics = importlib.import_module(".metrics", package)
        timed_sync(metrics.RequestMetrics, "observe", "metrics: observe (sync)")
    except (ImportError, AttributeError):
        pass


# --ab-redis-checkout: paired rounds with redis-py's ConnectionPool checkout as it is (it holds
# the pool's lock while it checks the connection, an await) and with that check done after
# the lock is released, as BlockingConnectionPool does.
UNLOCKED_CHECK = False


def patch_redis_checkout() -> None:
    from redis.asyncio.connection import ConnectionPool

    original = ConnectionPool.get_connection

    async def get_connection(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not UNLOCKED_CHECK:
            return await original(self, *args, **kwargs)
        async with self._lock:
            connection = self.get_available_connection()
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    ConnectionPool.get_connection = get_connection  # type: ignore[method-assign]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    global UNLOCKED_CHECK
    if args.ab_redis_checkout:
        patch_redis_checkout()
    instrument(args.package)
    app = load_app(args.app)
    report: dict[str, Any] = {}
    async with Lifespan(app) as state:
        caller = Caller(app, state, access_log=False)
        counter = 0

        def body() -> bytes:
            nonlocal counter
            counter += 1
            name = f"waits-{os.getpid()}-{counter}"
            return json.dumps({"name": name, "description": "post_waits"}).encode()

        for _ in range(50):  # warm-up: pools open, statements prepared
            await caller(args.method, args.path, body())
        plan = [(c, False) for c in args.concurrency]
        if args.ab_redis_checkout:
            plan = [
                (c, unlocked)
                for _ in range(args.rounds)
                for c in args.concurrency
                for unlocked in (False, True)
            ]
        for round_number, (concurrency, unlocked) in enumerate(plan):
            UNLOCKED_CHECK = unlocked
            TIMES.clear()
            left = args.requests
            request_times: list[float] = []

            async def worker(request_times: list[float] = request_times) -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    start = time.perf_counter()
                    status = await caller(args.method, args.path, body())
                    request_times.append(time.perf_counter() - start)
                    if status >= 400:
                        raise SystemExit(f"{args.method} {args.path} -> {status}")

            wall0, cpu0 = time.perf_counter(), time.process_time()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            n = args.requests
            request_times.sort()
            key = f"{round_number}: c={concurrency}" + (" unlocked" if unlocked else "")
            report[key] = {
                "requests_per_s": n / wall,
                "cpu_us_per_request": cpu / n * 1e6,
                "request_wall_us_p50": request_times[n // 2] * 1e6,
                "request_wall_us_p99": request_times[int(n * 0.99)] * 1e6,
                "steps": {
                    label: {
                        "calls_per_request": len(values) / n,
                        "wall_us": sum(w for w, _ in values) / len(values) * 1e6,
                        "cpu_us": sum(c for _, c in values) / len(values) * 1e6,
                    }
                    for label, values in TIMES.items()
                },
            }
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--package", required=True)
    parser.add_argument("--path", default="/items")
    parser.add_argument("--method", default="POST")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument(
        "--concurrency", type=lambda v: [int(c) for c in v.split(",")], default=[1, 64]
    )
    parser.add_argument("--ab-redis-checkout", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report(lambda: run(args))


if __name__ == "__main__":
    main()
