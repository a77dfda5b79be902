"""Database and Redis chores for run.py, run with a generated project's interpreter
(it has asyncpg and redis; the repo's dev venv has neither).

    python dbtool.py create  DSN             create the database DSN names (fails if it exists)
    python dbtool.py seed    DSN COUNT       insert COUNT items, ids 1..COUNT
    python dbtool.py reset   DSN COUNT       delete rows the benchmark wrote (id > COUNT), vacuum
    python dbtool.py drop    DSN             drop the database (if it exists)
    python dbtool.py redis-clean REDIS_URL NAMESPACE
                                             delete NAMESPACE* keys and the ARQ jobs queued there
"""

import asyncio
import sys
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def _split(dsn: str) -> tuple[str, str]:
    """(DSN of the maintenance database `postgres`, name of the target database)."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing odd database name {name!r}")
    return urlunsplit(parts._replace(path="/postgres")), name


async def create(dsn: str) -> None:
    admin, name = _split(dsn)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop(dsn: str) -> None:
    admin, name = _split(dsn)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed(dsn: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """
            INSERT INTO items (id, name, description, status, created_at, updated_at)
            SELECT g, 'seed-' || g, 'Seeded item number ' || g || ' for the benchmark.',
                   'pending', now(), now()
            FROM generate_series(1, $1::int) AS g
            """,
            count,
        )
        # Later inserts (POST /items) must not collide with the explicit ids.
        await conn.execute("SELECT setval(pg_get_serial_sequence('items', 'id'), $1::int)", count)
        await conn.execute("VACUUM ANALYZE items")
    finally:
        await conn.close()


async def reset(dsn: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM items WHERE id > $1::int", count)
        await conn.execute("VACUUM ANALYZE items")
    finally:
        await conn.close()


async def redis_clean(url: str, namespace: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(url)
    try:
        # ARQ keeps each job under arq:job:<id>, outside the namespace: find ours in our queues.
        async for queue in redis.scan_iter(match=f"{namespace}*", count=1000):
            if await redis.type(queue) == b"zset":
                job_ids = await redis.zrange(queue, 0, -1)
                for start in range(0, len(job_ids), 1000):
                    chunk = [j.decode() for j in job_ids[start : start + 1000]]
                    await redis.delete(
                        *(f"{kind}:{job}" for job in chunk for kind in ("arq:job", "arq:retry"))
                    )
            await redis.delete(queue)
    finally:
        await redis.aclose()


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "create":
        asyncio.run(create(args[0]))
    elif command == "drop":
        asyncio.run(drop(args[0]))
    elif command == "seed":
        asyncio.run(seed(args[0], int(args[1])))
    elif command == "reset":
        asyncio.run(reset(args[0], int(args[1])))
    elif command == "redis-clean":
        asyncio.run(redis_clean(args[0], args[1]))
    else:
        raise SystemExit(f"unknown command {command!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
