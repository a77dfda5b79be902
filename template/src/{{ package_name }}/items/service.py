from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import Row, bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from ..db import Connections, read
from .models import Item, ItemStatus
from .schemas import ItemCreate, ItemUpdate

log = structlog.get_logger(__name__)


class ItemNameTaken(Exception):
    def __init__(self) -> None:
        # Names the field, never the value: errors echo nothing that was submitted.
        super().__init__("An item with that name already exists")


class ItemGone(Exception):
    """A concurrent request deleted the item after this one had found it."""


class ItemInUse(Exception):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"Item {item_id} is still referenced")


# Hot paths use columns on an autocommit connection (db.Connections): no ORM identity
# map, no unit of work, no transaction round trips for rows that are only serialised.
COLUMNS = tuple(Item.__table__.columns)
# The reads are built once, with their values bound at execution: building a select and
# deriving its cache key cost about a fifth of an uncached read's CPU.
READ = select(*COLUMNS).where(Item.id == bindparam("item_id"))
COUNT = select(func.count()).select_from(Item)
PAGE = select(*COLUMNS).order_by(Item.id).limit(bindparam("limit")).offset(bindparam("offset"))
STATUS = select(Item.status).where(Item.id == bindparam("item_id"))
DELETE = delete(Item).where(Item.id == bindparam("item_id"))


async def create_item(connections: Connections, data: ItemCreate) -> Row[Any]:
    """One INSERT, committed when this returns: no session or unit of work is needed."""
    insert_item = insert(Item).values(**data.model_dump()).returning(*COLUMNS)
    try:
        async with connections() as connection:
            return (await connection.execute(insert_item)).one()
    except IntegrityError as exc:
        # The unique constraint is the only race-free check for a taken name.
        raise ItemNameTaken from exc


async def list_items(
    connections: Connections, *, limit: int, offset: int
) -> tuple[Sequence[Row[Any]], int]:
    async def page(connection: AsyncConnection) -> tuple[Sequence[Row[Any]], int]:
        total = await connection.scalar(COUNT)
        rows = (await connection.execute(PAGE, {"limit": limit, "offset": offset})).all()
        return rows, total or 0

    return await read(connections, page)


async def read_item(connections: Connections, item_id: int) -> Row[Any] | None:
    async def row(connection: AsyncConnection) -> Row[Any] | None:
        return (await connection.execute(READ, {"item_id": item_id})).first()

    return await read(connections, row)


async def get_item(session: AsyncSession, item_id: int) -> Item | None:
    return await session.get(Item, item_id)


async def update_item(session: AsyncSession, item: Item, data: ItemUpdate) -> Item:
    """Apply `data` and return the row as it will be committed."""
    item_id = item.id  # a failed flush expires the object
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    try:
        await session.flush()
    except IntegrityError as exc:
        # The unique constraint is the only race-free check for a taken name.
        raise ItemNameTaken from exc
    except StaleDataError as exc:
        # The UPDATE matched no row: a concurrent DELETE committed first.
        raise ItemGone from exc
    # Read back, so that the columns this request did not set, such as the status a job set
    # after the item was loaded, are the committed ones. The UPDATE's row lock keeps them so
    # until the commit.
    fresh = await session.get(Item, item_id, populate_existing=True)
    if fresh is None:
        raise ItemGone
    return fresh


async def delete_item(session: AsyncSession, item_id: int) -> None:
    connection = await session.connection()
    try:
        deleted = await connection.execute(DELETE, {"item_id": item_id})
    except IntegrityError as exc:
        # Rows of another resource still refer to it.
        raise ItemInUse(item_id) from exc
    if not deleted.rowcount:
        # A concurrent DELETE committed first.
        raise ItemGone


async def needs_processing(session: AsyncSession, item_id: int) -> bool:
    status = await session.scalar(STATUS, {"item_id": item_id})
    if status is not ItemStatus.PENDING:
        log.info("item needs no processing", item_id=item_id)
        return False
    return True


async def process_item(session: AsyncSession, item_id: int) -> bool:
    """The example job. Idempotent: an item that is gone or already processed is left alone."""
    item = await session.get(Item, item_id, with_for_update=True)
    if item is None or item.status is ItemStatus.PROCESSED:
        log.info("item needs no processing", item_id=item_id)
        return False
    item.status = ItemStatus.PROCESSED
    await session.flush()
    log.info("item processed", item_id=item_id)
    return True
