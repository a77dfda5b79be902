from collections.abc import Sequence

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Item, ItemStatus
from .schemas import ItemCreate, ItemUpdate

log = structlog.get_logger(__name__)


class ItemNameTaken(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"An item named {name!r} already exists")


class ItemInUse(Exception):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"Item {item_id} is still referenced")


async def create_item(session: AsyncSession, data: ItemCreate) -> Item:
    item = Item(**data.model_dump())
    session.add(item)
    await _flush_unique_name(session, item.name)
    return item


async def list_items(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[Item], int]:
    total = await session.scalar(select(func.count()).select_from(Item))
    items = await session.scalars(select(Item).order_by(Item.id).limit(limit).offset(offset))
    return items.all(), total or 0


async def get_item(session: AsyncSession, item_id: int) -> Item | None:
    return await session.get(Item, item_id)


async def update_item(session: AsyncSession, item: Item, data: ItemUpdate) -> Item:
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    await _flush_unique_name(session, item.name)
    return item


async def delete_item(session: AsyncSession, item: Item) -> None:
    item_id = item.id  # a failed flush expires the object
    await session.delete(item)
    try:
        await session.flush()
    except IntegrityError as exc:
        # Rows of another resource still refer to it.
        raise ItemInUse(item_id) from exc


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


async def _flush_unique_name(session: AsyncSession, name: str) -> None:
    # The unique constraint is the only race-free check for a taken name.
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ItemNameTaken(name) from exc
