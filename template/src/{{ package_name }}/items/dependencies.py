from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, status

from ..cache import Cache
from ..db import Connections, SessionDep
from . import service
from .keys import item_cache_key
from .models import Item
from .schemas import ItemRead

# Ids beyond the column's range would reach the database as an error, not a 404.
ItemId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def item_not_found(item_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"Item {item_id} not found")


async def valid_item_id(item_id: ItemId, session: SessionDep) -> Item:
    item = await service.get_item(session, item_id)
    if item is None:
        raise item_not_found(item_id)
    return item


ValidItemDep = Annotated[Item, Depends(valid_item_id)]


@dataclass(frozen=True, slots=True)
class CachedItem:
    body: bytes
    hit: bool


async def cached_item(item_id: int, cache: Cache, connections: Connections) -> CachedItem:
    """The item's JSON, from the cache when possible.

    A hit takes no database connection and skips validation: the bytes were
    produced by ItemRead when they were stored.
    """
    key = item_cache_key(item_id)
    found = await cache.get(key)
    if found.value is not None:
        return CachedItem(found.value, hit=True)
    item = await service.read_item(connections, item_id)
    if item is None:
        raise item_not_found(item_id)
    body = ItemRead.model_validate(item).model_dump_json().encode()
    await cache.add(key, body, found)
    return CachedItem(body, hit=False)
