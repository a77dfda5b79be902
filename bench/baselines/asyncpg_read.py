"""Baseline: bare FastAPI on a raw asyncpg pool, doing what the generated item routes do.

- `GET /items/{id}`: the same row, the same JSON shape as the generated read.
- `GET /items?limit&offset`: the same SQL semantics as the generated list (a count of all
  items, then the page in id order), the same page shape.
- `POST /items`: the same insert (one row, its generated columns returned), committed before
  the response, then the same follow-up work: one ARQ job queued on the app's queue (REDIS_URL,
  NAMESPACE) when REDIS_URL is set.

No ORM, no middleware, no access log. DATABASE_URL is a plain postgresql:// URL.

    uvicorn asyncpg_read:app --loop uvloop --http httptools --no-access-log
"""

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated, Any, TypedDict

import asyncpg
from fastapi import FastAPI, HTTPException, Path, Query, Request, Response
from item_row import COUNT, INSERT, PAGE, QUERY, ItemCreate, ItemPage, ItemRead, job_queue


class State(TypedDict):
    pool: asyncpg.Pool
    queue: Any


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    # The generated app's steady pool size (DB_POOL_SIZE defaults to 10).
    size = int(os.environ.get("DB_POOL_SIZE", "10"))
    async with AsyncExitStack() as stack:
        pool = await stack.enter_async_context(
            asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=size, max_size=size)
        )
        yield State(pool=pool, queue=await stack.enter_async_context(job_queue()))


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def read_item(item_id: Annotated[int, Path(ge=1)], request: Request) -> ItemRead:
    row = await request.state.pool.fetchrow(QUERY, item_id)
    if row is None:
        raise HTTPException(404, f"Item {item_id} not found")
    return ItemRead(**row)


@app.get("/items")
async def list_items(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ItemPage:
    async with request.state.pool.acquire() as connection:
        total = await connection.fetchval(COUNT)
        rows = await connection.fetch(PAGE, limit, offset)
    return ItemPage(
        items=[ItemRead(**row) for row in rows], total=total, limit=limit, offset=offset
    )


@app.post("/items", status_code=201)
async def create_item(data: ItemCreate, request: Request, response: Response) -> ItemRead:
    try:
        row = await request.state.pool.fetchrow(INSERT, data.name, data.description)
    except asyncpg.UniqueViolationError:
        raise HTTPException(409, "name taken") from None
    if request.state.queue is not None:
        await request.state.queue.enqueue(row["id"])
    response.headers["Location"] = f"/items/{row['id']}"
    return ItemRead(**row)
