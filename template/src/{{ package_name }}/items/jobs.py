"""Item jobs. They run on whichever runner the project has, each with its own session."""

from ..jobs import JobContext
from . import service
from .keys import item_cache_key


async def process_item(context: JobContext, item_id: int) -> bool:
    async with context.session_factory.begin() as session:
        processed = await service.process_item(session, item_id)
    if processed:
        # The job wrote the row: invalidate the cached copy after the commit, as every write does.
        await context.cache.invalidate(item_cache_key(item_id))
    return processed
