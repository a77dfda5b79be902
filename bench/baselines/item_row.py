"""The generated app's item, as the raw baselines read and write it: the same SQL, JSON shapes
and follow-up job."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

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
# The generated ARQ runner's job name for items.jobs.process_item.
JOB = "{package}.items.jobs.process_item"


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


class _Queue:
    def __init__(self, redis: Any, job: str) -> None:
        self.redis, self.job = redis, job

    async def enqueue(self, *args: object) -> None:
        await self.redis.enqueue_job(self.job, *args)


@asynccontextmanager
async def job_queue() -> AsyncIterator[_Queue | None]:
    """The generated app's ARQ queue (REDIS_URL, NAMESPACE, BENCH_PACKAGE), or None."""
    url = os.environ.get("REDIS_URL")
    if not url:
        yield None
        return
    from arq.connections import ArqRedis
    from redis.asyncio import ConnectionPool

    queue = f"{os.environ['NAMESPACE']}:queue"
    redis = ArqRedis(ConnectionPool.from_url(url), default_queue_name=queue)
    try:
        yield _Queue(redis, JOB.format(package=os.environ["BENCH_PACKAGE"]))
    finally:
        await redis.aclose(close_connection_pool=True)
