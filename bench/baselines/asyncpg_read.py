"""Baseline: bare FastAPI reading one item by primary key through a raw asyncpg pool.

Same row, same JSON shape as the generated GET /items/{id}; no ORM, no middleware,
no access log. DATABASE_URL is a plain postgresql:// URL.

    uvicorn asyncpg_read:app --loop uvloop --http httptools --no-access-log
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, TypedDict

import asyncpg
from fastapi import FastAPI, HTTPException, Path, Request
from item_row import QUERY, ItemRead


class State(TypedDict):
    pool: asyncpg.Pool


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    # The generated app's steady pool size (DB_POOL_SIZE defaults to 10).
    size = int(os.environ.get("DB_POOL_SIZE", "10"))
    async with asyncpg.create_pool(
        os.environ["DATABASE_URL"], min_size=size, max_size=size
    ) as pool:
        yield State(pool=pool)


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def read_item(item_id: Annotated[int, Path(ge=1)], request: Request) -> ItemRead:
    row = await request.state.pool.fetchrow(QUERY, item_id)
    if row is None:
        raise HTTPException(404, f"Item {item_id} not found")
    return ItemRead(**row)
