"""Baseline: bare FastAPI on the database's raw async driver, doing what the generated item
routes do (asyncpg, aiomysql or aiosqlite, from DATABASE_URL's scheme; see item_row.py):

- `GET /items/{id}`: the same row, the same JSON shape as the generated read.
- `GET /items?limit&offset`: the same SQL semantics as the generated list (a count of all
  items, then the page in id order), the same page shape.
- `POST /items`: the same insert (one row, its generated columns returned), committed before
  the response, then the same follow-up work: one ARQ job queued on the app's queue (REDIS_URL,
  NAMESPACE) when REDIS_URL is set.

No ORM, no middleware, no access log. DATABASE_URL is a plain postgresql://, mysql:// or
sqlite:/// URL.

    uvicorn raw_items:app --loop uvloop --http httptools --no-access-log
"""

import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated, Any, TypedDict

from fastapi import FastAPI, HTTPException, Path, Query, Request, Response
from item_row import (
    ItemCreate,
    ItemPage,
    ItemRead,
    Items,
    NameTaken,
    job_queue,
    open_items,
    pool_size,
)


class State(TypedDict):
    items: Items
    queue: Any


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    url = os.environ["DATABASE_URL"]
    async with AsyncExitStack() as stack:
        items = await stack.enter_async_context(open_items(url, pool_size(url)))
        yield State(items=items, queue=await stack.enter_async_context(job_queue()))


app = FastAPI(lifespan=lifespan)


@app.get("/items/{item_id}")
async def read_item(item_id: Annotated[int, Path(ge=1)], request: Request) -> ItemRead:
    row = await request.state.items.read(item_id)
    if row is None:
        raise HTTPException(404, f"Item {item_id} not found")
    return ItemRead(**row)


@app.get("/items")
async def list_items(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ItemPage:
    rows, total = await request.state.items.page(limit, offset)
    return ItemPage(
        items=[ItemRead(**row) for row in rows], total=total, limit=limit, offset=offset
    )


@app.post("/items", status_code=201)
async def create_item(data: ItemCreate, request: Request, response: Response) -> ItemRead:
    try:
        row = await request.state.items.create(data.name, data.description)
    except NameTaken:
        raise HTTPException(409, "name taken") from None
    if request.state.queue is not None:
        await request.state.queue.enqueue(row["id"])
    response.headers["Location"] = f"/items/{row['id']}"
    return ItemRead(**row)
