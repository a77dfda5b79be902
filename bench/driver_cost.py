"""CPU per uncached read by layer: the generated service's read vs raw asyncpg, same row.

Run with the interpreter of a generated PostgreSQL project, DATABASE_URL set to a seeded
database (run.py --keep leaves one):

    python driver_cost.py PACKAGE ITEM_ID [--reads 2000]

Both read the row and serialise it through the project's ItemRead, sequentially on one
connection, after a warm-up; `time.process_time()` per read, best of 3 rounds. The
difference is what SQLAlchemy's execution layer (engine, greenlet bridge, statement cache
key, result processing) costs on top of the driver: the floor of any SQLAlchemy read path.
"""

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import time
from collections.abc import Awaitable, Callable

import asyncpg

QUERY = "SELECT id, name, description, status, created_at, updated_at FROM items WHERE id = $1"


async def cpu_per_call(call: Callable[[], Awaitable[object]], reads: int) -> float:
    for _ in range(reads // 10):
        await call()
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(reads):
            await call()
        best = min(best, (time.process_time() - start) / reads * 1e6)
    return best


async def measure(package: str, item_id: int, reads: int) -> dict[str, float]:
    db = importlib.import_module(f"{package}.db")
    service = importlib.import_module(f"{package}.items.service")
    schemas = importlib.import_module(f"{package}.items.schemas")
    settings = importlib.import_module(f"{package}.settings").Settings()
    stack = contextlib.AsyncExitStack()
    engine = db.create_statement_engine(settings)
    connections = await stack.enter_async_context(db.open_connections(engine, settings))
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=1)

    async def generated() -> object:
        row = await service.read_item(connections, item_id)
        return schemas.ItemRead.model_validate(row).model_dump_json()

    async def raw() -> object:
        row = await pool.fetchrow(QUERY, item_id)
        return schemas.ItemRead.model_validate(dict(row)).model_dump_json()

    try:
        return {
            "sqlalchemy_core_autocommit_us": await cpu_per_call(generated, reads),
            "raw_asyncpg_us": await cpu_per_call(raw, reads),
        }
    finally:
        await stack.aclose()
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package")
    parser.add_argument("item_id", type=int)
    parser.add_argument("--reads", type=int, default=2000)
    args = parser.parse_args()
    try:  # the event loop the generated app serves with
        import uvloop

        result = uvloop.run(measure(args.package, args.item_id, args.reads))
    except ImportError:
        result = asyncio.run(measure(args.package, args.item_id, args.reads))
    print("BENCH_JSON " + json.dumps(result))


if __name__ == "__main__":
    main()
