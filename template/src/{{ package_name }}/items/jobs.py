"""Item jobs. They run on whichever runner the project has, each with its own session."""

from sqlalchemy import select

from ..jobs import JobContext, Unfinished
from . import service
from .keys import item_cache_key
from .models import Item, ItemStatus


async def process_item(context: JobContext, item_id: int) -> bool:
    async with context.session_factory.begin() as session:
        processed = await service.process_item(session, item_id)
    if processed:
        # The job wrote the row: invalidate the cached copy after the commit, as every write does.
        await context.cache.invalidate(item_cache_key(item_id))
    return processed


# An item still pending is one whose job has not run: the recovery sweep schedules it again.
UNPROCESSED = Unfinished(
    process_item, select(Item.id).where(Item.status == ItemStatus.PENDING), Item.created_at
)
