"""Baseline: the cache-hit floor. Bare FastAPI, cache-aside over one redis-py asyncio GET.

No middleware, no dependencies, no logging configuration: what a cached read costs on this
machine before any application structure. The Redis client is configured as the generated
cache's (hiredis, 0.5 s socket timeouts, redis-py's blocking pool); a miss reads the row
through the raw driver and stores the same JSON the generated app stores. Keys live under
NAMESPACE, so the benchmark's cleanup removes them. DATABASE_URL is a plain postgresql://,
mysql:// or sqlite:/// URL; a miss reads through its raw driver (item_row.py).

    uvicorn redis_read:app --loop uvloop --http httptools --no-access-log
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, TypedDict

from fastapi import FastAPI, HTTPException, Path, Request, Response
from item_row import ItemRead, Items, open_items
from redis.asyncio import BlockingConnectionPool, Redis

PREFIX = f"{os.environ['NAMESPACE']}:floor:items:"
TTL_SECONDS = 3600


class State(TypedDict):
    items: Items
    redis: Redis


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    pool = BlockingConnectionPool.from_url(
        os.environ["REDIS_URL"],
        max_connections=None,
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
    )
    redis = Redis.from_pool(pool)
    async with open_items(os.environ["DATABASE_URL"], 1) as items:
        try:
            yield State(items=items, redis=redis)
        finally:
            await redis.aclose()


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def read_item(item_id: Annotated[int, Path(ge=1)], request: Request) -> Response:
    key = f"{PREFIX}{item_id}"
    body = await request.state.redis.get(key)
    if body is not None:
        return Response(body, media_type="application/json", headers={"X-Cache": "HIT"})
    row = await request.state.items.read(item_id)
    if row is None:
        raise HTTPException(404, f"Item {item_id} not found")
    body = ItemRead(**row).model_dump_json().encode()
    await request.state.redis.set(key, body, ex=TTL_SECONDS)
    return Response(body, media_type="application/json", headers={"X-Cache": "MISS"})
