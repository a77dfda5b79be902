"""Database and Redis chores for the benchmark, run with a generated project's interpreter
(it has the project's database driver and redis; the repo's dev venv has neither).

    python dbtool.py create  URL             create the database URL names (fails if it exists)
    python dbtool.py seed    URL COUNT       insert COUNT processed items, ids 1..COUNT
    python dbtool.py reset   URL COUNT       delete rows the benchmark wrote (id > COUNT)
    python dbtool.py copy    URL TABLE       copy the seeded items into TABLE, an added resource
                                             with the same columns
    python dbtool.py drop    URL             drop the database (if it exists)
    python dbtool.py redis-clean REDIS_URL NAMESPACE
                                             delete NAMESPACE* keys and the ARQ jobs queued there

URL is a plain postgresql://, mysql:// or sqlite:/// URL; each uses its raw driver (asyncpg,
aiomysql, the standard library's sqlite3). A SQLite database is its file: `create` does
nothing (the migration creates it) and `drop` removes it with its WAL files.
"""

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# The raw baselines' driver set-up (baselines/item_row.py) serves these chores too.
sys.path.insert(0, str(Path(__file__).resolve().parent / "baselines"))

# How SQLAlchemy stores a DateTime in SQLite (a string): the generated app reads these rows.
SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"


def _name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing odd database name {name!r}")
    return name


# Seeded items are processed, as most of a live table is: pending ones older than the app's
# JOB_RECOVERY_GRACE_SECONDS would have its recovery sweep queue a job for each of them in the
# background of every measurement.
SEEDED_STATUS = "processed"


def _rows(count: int) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    return [
        (i, f"seed-{i}", f"Seeded item number {i} for the benchmark.", SEEDED_STATUS, now, now)
        for i in range(1, count + 1)
    ]


INSERT = (
    "INSERT INTO items (id, name, description, status, created_at, updated_at)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)


# ---- PostgreSQL (asyncpg) --------------------------------------------------------------------


async def pg_admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg(url: str, *statements: tuple[str, tuple[Any, ...]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for sql, args in statements:
            await conn.execute(sql, *args)
    finally:
        await conn.close()


PG_SEED = """
    INSERT INTO items (id, name, description, status, created_at, updated_at)
    SELECT g, 'seed-' || g, 'Seeded item number ' || g || ' for the benchmark.',
           $2, now(), now()
    FROM generate_series(1, $1::int) AS g
"""


# ---- MariaDB (aiomysql) ----------------------------------------------------------------------


async def mysql(url: str, *statements: tuple[str, list[tuple[Any, ...]]], db: bool = True) -> None:
    import aiomysql
    from item_row import mysql_options

    conn = await aiomysql.connect(**{**mysql_options(url), "db": _name(url) if db else None})
    try:
        async with conn.cursor() as cursor:
            for sql, rows in statements:
                if rows:
                    await cursor.executemany(sql, rows)
                else:
                    await cursor.execute(sql)
    finally:
        conn.close()


# ---- SQLite (sqlite3) ------------------------------------------------------------------------


def sqlite(url: str, sql: str, rows: list[tuple[Any, ...]] | None = None) -> None:
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        # One transaction: each row of its own would wait for its own sync to disk.
        conn.execute("BEGIN")
        if rows:
            conn.executemany(sql, rows)
        else:
            conn.execute(sql)
        conn.execute("COMMIT")
    finally:
        conn.close()


def sqlite_rows(count: int) -> list[tuple[Any, ...]]:
    return [
        (*row[:4], row[4].strftime(SQLITE_TIMESTAMP), row[5].strftime(SQLITE_TIMESTAMP))
        for row in _rows(count)
    ]


# ---- commands --------------------------------------------------------------------------------


def server_ddl(url: str, statement: str, postgresql_suffix: str = "") -> None:
    """`statement` (CREATE or DROP DATABASE) for the URL's database, on its server."""
    if url.startswith("postgresql"):
        asyncio.run(pg_admin(url, f'{statement} "{_name(url)}"{postgresql_suffix}'))
    else:
        asyncio.run(mysql(url, (f"{statement} `{_name(url)}`", []), db=False))


def create(url: str) -> None:
    if not url.startswith("sqlite"):
        server_ddl(url, "CREATE DATABASE")


def drop(url: str) -> None:
    if not url.startswith("sqlite"):
        server_ddl(url, "DROP DATABASE IF EXISTS", " WITH (FORCE)")
    else:
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)


def seed(url: str, count: int) -> None:
    kind = url.partition("://")[0]
    if kind == "postgresql":
        asyncio.run(
            pg(
                url,
                (PG_SEED, (count, SEEDED_STATUS)),
                # Later inserts (POST /items) must not collide with the explicit ids.
                ("SELECT setval(pg_get_serial_sequence('items', 'id'), $1::int)", (count,)),
                ("VACUUM ANALYZE items", ()),
            )
        )
    elif kind == "mysql":
        # AUTO_INCREMENT moves past explicit ids by itself.
        asyncio.run(mysql(url, (INSERT, _rows(count)), ("ANALYZE TABLE items", [])))
    else:
        sqlite(url, INSERT.replace("%s", "?"), sqlite_rows(count))


def copy(url: str, table: str) -> None:
    """The items, row for row, in `table`: an added resource read like items is."""
    if not table.replace("_", "").isalnum():
        raise SystemExit(f"refusing odd table name {table!r}")
    columns = "id, name, description, status, created_at, updated_at"
    sql = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM items"
    kind = url.partition("://")[0]
    if kind == "postgresql":
        asyncio.run(pg(url, (sql, ()), (f"VACUUM ANALYZE {table}", ())))
    elif kind == "mysql":
        asyncio.run(mysql(url, (sql, []), (f"ANALYZE TABLE {table}", [])))
    else:
        sqlite(url, sql)


def reset(url: str, count: int) -> None:
    kind = url.partition("://")[0]
    if kind == "postgresql":
        delete = ("DELETE FROM items WHERE id > $1::int", (count,))
        asyncio.run(pg(url, delete, ("VACUUM ANALYZE items", ())))
    elif kind == "mysql":
        asyncio.run(mysql(url, (f"DELETE FROM items WHERE id > {count:d}", [])))
    else:
        sqlite(url, f"DELETE FROM items WHERE id > {count:d}")


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
        # Jobs already taken off the queue: their ids start with the namespace (the app's and
        # the raw baseline's alike).
        async for key in redis.scan_iter(match=f"arq:*:{namespace}:*", count=1000):
            await redis.delete(key)
    finally:
        await redis.aclose()


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "create":
        create(args[0])
    elif command == "drop":
        drop(args[0])
    elif command == "seed":
        seed(args[0], int(args[1]))
    elif command == "reset":
        reset(args[0], int(args[1]))
    elif command == "copy":
        copy(args[0], args[1])
    elif command == "redis-clean":
        asyncio.run(redis_clean(args[0], args[1]))
    else:
        raise SystemExit(f"unknown command {command!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
