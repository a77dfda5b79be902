"""Item jobs. They run on whichever runner the project has, each with its own session."""

from sqlalchemy import select

from ..db import reading
from ..jobs import JobContext, Unfinished
from . import service
from .events import publish_item
from .keys import item_cache_key
from .models import Item, ItemStatus
from .schemas import ItemRead


async def process_item(context: JobContext, item_id: int) -> bool:
    # A read first, outside any transaction: a job delivered twice, or recovered after it
    # ran, takes no lock.
    async with reading(context.session_factory) as session:
        if not await service.needs_processing(session, item_id):
            return False
    async with context.session_factory.begin() as session:
        processed = await service.process_item(session, item_id)
        # Still in the session: no second query.
        item = await session.get(Item, item_id) if processed else None
    if item is not None:
        # The job wrote the row: invalidate the cached copy after the commit, as every write does.
        await context.cache.invalidate(item_cache_key(item_id))
        await publish_item(context.events, "processed", ItemRead.model_validate(item))
    return processed


# An item still pending is one whose job has not run: the recovery sweep schedules it again.
UNPROCESSED = Unfinished(
    process_item, select(Item.id).where(Item.status == ItemStatus.PENDING), Item.created_at
)
