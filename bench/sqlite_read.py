"""A SQLite read by id several ways, CPU and wall time per read (issue 24), in one process.

Run with the interpreter of a generated SQLite project, from its directory, DATABASE_URL set
to its migrated, seeded file (like driver_cost.py):

    python sqlite_read.py --package bench_app --ids 10000 [--reads 2000] [--rounds 5]

- `as generated`: the generated read (`items.service.read_item` on the project's statement
  connections: its statement threads, each statement one hop, on SQLAlchemy's sqlite3 engine);
- `aiosqlite adapter`: the same read on connections of SQLAlchemy's aiosqlite adapter in
  autocommit, as the template made them before the statement threads;
- `aiosqlite`: raw aiosqlite, one `execute_fetchall` on one connection (the bench's floor);
- `reader thread`: one dedicated thread with its own sqlite3 connection, the whole read (execute
  and fetch) one hop to it (`loop.run_in_executor` on a one-thread executor);
- `thread per connection`: a pool of 5 threads, each with its own sqlite3 connection, one hop
  per read;
- `sqlalchemy sync engine, 5 threads`: the generated statement (`items.service.READ`) on
  SQLAlchemy's sync sqlite3 engine, configured as the generated one, run whole in one of 5
  threads: one hop per read.

Rounds alternate the ways; CPU is `time.process_time()` (every thread of the process), the
median over rounds of a round's mean, as JSON on stdout (BENCH_JSON ...). Sequential reads,
then 16 at a time.
"""

import argparse
import asyncio
import contextlib
import importlib
import os
import random
import sqlite3
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asgi_cost import report

QUERY = "SELECT id, name, description, status, created_at, updated_at FROM items WHERE id = ?"


def sqlite_path(url: str) -> str:
    return urlsplit(url).path.removeprefix("/")


def connect(path: str) -> sqlite3.Connection:
    # As the generated engine configures each connection (the file is in WAL mode already).
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


def threaded_reader(path: str, threads: int) -> Callable[[int], Awaitable[Any]]:
    local = threading.local()

    def read(item_id: int) -> Any:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = connect(path)
        return connection.execute(QUERY, (item_id,)).fetchone()

    executor = ThreadPoolExecutor(threads)

    async def call(item_id: int) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, read, item_id)

    return call


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import aiosqlite
    import sqlalchemy

    db = importlib.import_module(f"{args.package}.db")
    service = importlib.import_module(f"{args.package}.items.service")
    settings = importlib.import_module(f"{args.package}.settings").Settings()
    stack = contextlib.AsyncExitStack()
    statement_engine = db.create_statement_engine(settings)
    connections = await stack.enter_async_context(db.open_connections(statement_engine, settings))
    # The design before the statement threads: SQLAlchemy's aiosqlite adapter in autocommit.
    engine = db._create_engine(
        settings, isolation_level="AUTOCOMMIT", skip_autocommit_rollback=True
    )

    @contextlib.asynccontextmanager
    async def adapter_connections() -> Any:
        async with engine.connect() as connection:
            yield connection

    path = sqlite_path(os.environ["DATABASE_URL"])
    # WAL, as the generated engine leaves the file: switching needs it to be the only connection.
    with sqlite3.connect(path) as first:
        first.execute("PRAGMA journal_mode=WAL")
    raw = await aiosqlite.connect(path, isolation_level=None)

    async def generated(item_id: int) -> Any:
        return await service.read_item(connections, item_id)

    async def adapter(item_id: int) -> Any:
        return await service.read_item(adapter_connections, item_id)

    async def floor(item_id: int) -> Any:
        return await raw.execute_fetchall(QUERY, (item_id,))

    # SQLAlchemy's own sync engine (the standard library's sqlite3), the generated statement run
    # whole in one of 5 threads: one hop per read, and still SQLAlchemy Core.
    sync_engine = sqlalchemy.create_engine(f"sqlite:///{path}", isolation_level="AUTOCOMMIT")
    sqlalchemy.event.listen(sync_engine, "connect", db._configure_connection)
    executor = ThreadPoolExecutor(5)

    def sync_read(item_id: int) -> Any:
        with sync_engine.connect() as connection:
            return connection.execute(service.READ, {"item_id": item_id}).mappings().first()

    async def in_threads(item_id: int) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, sync_read, item_id)

    ways: dict[str, Callable[[int], Awaitable[Any]]] = {
        "sqlalchemy sync engine, 5 threads": in_threads,
        "as generated (statement threads)": generated,
        "aiosqlite adapter": adapter,
        "aiosqlite": floor,
        "reader thread": threaded_reader(path, 1),
        "thread per connection (5)": threaded_reader(path, 5),
    }
    rng = random.Random(24)
    report: dict[str, Any] = {}
    try:
        for concurrency in (1, 16):
            cpu: dict[str, list[float]] = {name: [] for name in ways}
            wall: dict[str, list[float]] = {name: [] for name in ways}
            for way in ways.values():  # warm-up
                for _ in range(200):
                    assert await way(rng.randint(1, args.ids)) is not None
            for _ in range(args.rounds):
                for name, way in ways.items():
                    left = args.reads

                    async def worker(way: Callable[[int], Awaitable[Any]] = way) -> None:
                        nonlocal left
                        while left > 0:
                            left -= 1
                            await way(rng.randint(1, args.ids))

                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    await asyncio.gather(*(worker() for _ in range(concurrency)))
                    cpu[name].append((time.process_time() - cpu0) / args.reads * 1e6)
                    wall[name].append((time.perf_counter() - wall0) / args.reads * 1e6)
            report[f"{concurrency} at a time"] = {
                name: {
                    "cpu_us": statistics.median(cpu[name]),
                    "wall_us": statistics.median(wall[name]),
                }
                for name in ways
            }
    finally:
        await raw.close()
        await engine.dispose()
        sync_engine.dispose()
        await stack.aclose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    parser.add_argument("--ids", type=int, default=10000)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    report(lambda: run(args))


if __name__ == "__main__":
    main()
