"""The generated app's item, as the raw baselines read and write it: the same SQL, JSON shapes
and follow-up job, through each database's raw async driver (asyncpg, aiomysql, aiosqlite).

`open_items(DATABASE_URL)` gives the driver's `Items`: a read by id, a page with the total
count, and one INSERT returning the row, committed when it returns. Each driver runs with
autocommit, as the generated app's statement engine does, so a read is one round trip.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit
from uuid import uuid4

from pydantic import BaseModel

COLUMNS = "id, name, description, status, created_at, updated_at"
QUERY = f"SELECT {COLUMNS} FROM items WHERE id = $1"
COUNT = "SELECT count(*) FROM items"
PAGE = f"SELECT {COLUMNS} FROM items ORDER BY id LIMIT $1 OFFSET $2"
# The generated model's defaults: status pending, both timestamps now (UTC).
INSERT = (
    "INSERT INTO items (name, description, status, created_at, updated_at)"
    " VALUES ($1, $2, 'pending', now(), now()) RETURNING " + COLUMNS
)
# MariaDB and SQLite: the generated model binds its timestamps from Python, as these do.
MYSQL = {
    "read": f"SELECT {COLUMNS} FROM items WHERE id = %s",
    "count": "SELECT count(*) AS total FROM items",
    "page": f"SELECT {COLUMNS} FROM items ORDER BY id LIMIT %s OFFSET %s",
    "insert": "INSERT INTO items (name, description, status, created_at, updated_at)"
    " VALUES (%s, %s, 'pending', %s, %s) RETURNING " + COLUMNS,
}
SQLITE = {key: sql.replace("%s", "?") for key, sql in MYSQL.items()}
# How SQLAlchemy stores a DateTime in SQLite (a string), so both apps read the same rows.
SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"
# The generated ARQ runner's job name for items.jobs.process_item.
JOB = "{package}.items.jobs.process_item"

Row = Mapping[str, Any]


class ItemCreate(BaseModel):
    name: str
    description: str | None = None


class ItemRead(BaseModel):
    id: int
    name: str
    description: str | None
    status: Literal["pending", "processed"]
    created_at: datetime
    updated_at: datetime


class ItemPage(BaseModel):
    items: list[ItemRead]
    total: int
    limit: int
    offset: int


class NameTaken(Exception):
    pass


class Items(Protocol):
    async def read(self, item_id: int) -> Row | None: ...
    async def page(self, limit: int, offset: int) -> tuple[list[Row], int]: ...
    async def create(self, name: str, description: str | None) -> Row: ...


class AsyncpgItems:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def read(self, item_id: int) -> Row | None:
        row: Row | None = await self.pool.fetchrow(QUERY, item_id)
        return row

    async def page(self, limit: int, offset: int) -> tuple[list[Row], int]:
        async with self.pool.acquire() as connection:
            total = await connection.fetchval(COUNT)
            rows = await connection.fetch(PAGE, limit, offset)
        return rows, total

    async def create(self, name: str, description: str | None) -> Row:
        import asyncpg

        try:
            row: Row = await self.pool.fetchrow(INSERT, name, description)
        except asyncpg.UniqueViolationError:
            raise NameTaken from None
        return row


class AiomysqlItems:
    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def read(self, item_id: int) -> Row | None:
        from aiomysql import DictCursor

        async with self.pool.acquire() as connection, connection.cursor(DictCursor) as cursor:
            await cursor.execute(MYSQL["read"], (item_id,))
            row: Row | None = await cursor.fetchone()
            return row

    async def page(self, limit: int, offset: int) -> tuple[list[Row], int]:
        from aiomysql import DictCursor

        async with self.pool.acquire() as connection, connection.cursor(DictCursor) as cursor:
            await cursor.execute(MYSQL["count"])
            total = (await cursor.fetchone())["total"]
            await cursor.execute(MYSQL["page"], (limit, offset))
            return list(await cursor.fetchall()), total

    async def create(self, name: str, description: str | None) -> Row:
        from aiomysql import DictCursor, IntegrityError

        now = datetime.now(UTC).replace(tzinfo=None)
        async with self.pool.acquire() as connection, connection.cursor(DictCursor) as cursor:
            try:
                await cursor.execute(MYSQL["insert"], (name, description, now, now))
            except IntegrityError:
                raise NameTaken from None
            row: Row = await cursor.fetchone()
            return row


class AiosqliteItems:
    """aiosqlite has no pool: a queue of open connections, as many as SQLAlchemy's default
    pool keeps for a SQLite file (5)."""

    def __init__(self, idle: "asyncio.Queue[Any]") -> None:
        self.idle = idle

    async def _fetch(self, sql: str, *args: object) -> list[Row]:
        connection = await self.idle.get()
        try:
            return list(await connection.execute_fetchall(sql, args))
        finally:
            self.idle.put_nowait(connection)

    async def read(self, item_id: int) -> Row | None:
        rows = await self._fetch(SQLITE["read"], item_id)
        return rows[0] if rows else None

    async def page(self, limit: int, offset: int) -> tuple[list[Row], int]:
        connection = await self.idle.get()
        try:
            [(total,)] = await connection.execute_fetchall(SQLITE["count"])
            rows = await connection.execute_fetchall(SQLITE["page"], (limit, offset))
        finally:
            self.idle.put_nowait(connection)
        return list(rows), total

    async def create(self, name: str, description: str | None) -> Row:
        import sqlite3

        now = datetime.now(UTC).strftime(SQLITE_TIMESTAMP)
        try:
            [row] = await self._fetch(SQLITE["insert"], name, description, now, now)
        except sqlite3.IntegrityError:
            raise NameTaken from None
        return row


@asynccontextmanager
async def open_items(url: str, size: int) -> AsyncIterator[Items]:
    """The raw driver's items for a plain postgresql://, mysql:// or sqlite:/// URL."""
    scheme = url.partition("://")[0]
    if scheme == "postgresql":
        import asyncpg

        async with asyncpg.create_pool(url, min_size=size, max_size=size) as pool:
            yield AsyncpgItems(pool)
    elif scheme == "mysql":
        import aiomysql

        pool = await aiomysql.create_pool(**mysql_options(url), minsize=size, maxsize=size)
        try:
            yield AiomysqlItems(pool)
        finally:
            pool.close()
            await pool.wait_closed()
    elif scheme == "sqlite":
        import sqlite3

        import aiosqlite

        idle: asyncio.Queue[Any] = asyncio.Queue()
        try:
            for _ in range(size):
                # The generated engine's connection set-up (db.py): autocommit, WAL.
                connection = await aiosqlite.connect(
                    url.removeprefix("sqlite:///"), timeout=5.0, isolation_level=None
                )
                connection.row_factory = sqlite3.Row
                for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                    await connection.execute(f"PRAGMA {pragma}")
                idle.put_nowait(connection)
            yield AiosqliteItems(idle)
        finally:
            while not idle.empty():
                await idle.get_nowait().close()
    else:
        raise SystemExit(f"no raw driver for {scheme}://")


def mysql_options(url: str) -> dict[str, Any]:
    """aiomysql's connection arguments for a mysql:// URL, in autocommit."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname,
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": parts.path.lstrip("/"),
        "autocommit": True,
    }


def pool_size(url: str) -> int:
    """The generated app's pool: DB_POOL_SIZE (20, no overflow), or SQLAlchemy's 5 for SQLite."""
    if url.startswith("sqlite"):
        return 5
    return int(os.environ.get("DB_POOL_SIZE", "20"))


class _Queue:
    def __init__(self, redis: Any, job: str, namespace: str) -> None:
        self.redis, self.job, self.namespace = redis, job, namespace

    async def enqueue(self, *args: object) -> None:
        # Job ids under NAMESPACE, as the app's: ARQ's own keys (`arq:job:<id>`) are then
        # found and deleted with the run's other keys, not left for a day on the shared Redis.
        await self.redis.enqueue_job(self.job, *args, _job_id=f"{self.namespace}:{uuid4().hex}")


@asynccontextmanager
async def job_queue() -> AsyncIterator[_Queue | None]:
    """The generated app's ARQ queue (REDIS_URL, NAMESPACE, BENCH_PACKAGE), or None."""
    url = os.environ.get("REDIS_URL")
    if not url:
        yield None
        return
    from arq.connections import ArqRedis
    from redis.asyncio import BlockingConnectionPool

    namespace = os.environ["NAMESPACE"]
    # The generated runner's pool (see bench/README.md, "Where POST waits").
    pool = BlockingConnectionPool.from_url(url, max_connections=None)
    redis = ArqRedis(pool, default_queue_name=f"{namespace}:queue")
    try:
        yield _Queue(redis, JOB.format(package=os.environ["BENCH_PACKAGE"]), namespace)
    finally:
        await redis.aclose(close_connection_pool=True)
