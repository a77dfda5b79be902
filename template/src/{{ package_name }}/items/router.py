from typing import Annotated

import structlog
from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from ..cache import CacheDep, get_cache
from ..db import ConnectionsDep, SessionDep, get_connections
from ..errors import BODY_ERRORS, UNAVAILABLE, Responses
from ..events import EventsDep
from ..runner import JobsDep
from . import service
from .dependencies import ItemId, ValidItemDep, cached_item, item_not_found
from .events import publish_deleted, publish_item
from .events import router as events_router
from .jobs import process_item
from .keys import item_cache_key
from .schemas import ItemCreate, ItemPage, ItemRead, ItemUpdate

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/items", tags=["items"], responses=UNAVAILABLE)
router.include_router(events_router)

NOT_FOUND: Responses = {404: {"description": "No item with that id"}}
NAME_TAKEN: Responses = {409: {"description": "An item with that name already exists"}}
IN_USE: Responses = {409: {"description": "Rows of another resource still refer to the item"}}


# Routes are tried in order, each a regular-expression match per request: the reads, the
# hottest routes, come first.
@router.get("/{item_id}", response_model=ItemRead, responses=NOT_FOUND)
async def read_item(item_id: ItemId, request: Request) -> Response:
    # The hottest route takes the cache and connections from the request itself: FastAPI's
    # resolution of each dependency costs about 7 % of a cache hit's CPU.
    cached = await cached_item(item_id, await get_cache(request), await get_connections(request))
    return Response(
        cached.body,
        media_type="application/json",
        headers={"X-Cache": "HIT" if cached.hit else "MISS"},
    )


@router.get("")
async def list_items(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=2_147_483_647)] = 0,
) -> ItemPage:
    connections = await get_connections(request)  # as in read_item
    items, total = await service.list_items(connections, limit=limit, offset=offset)
    # One validation of the whole page: pydantic reads the rows' columns as attributes.
    return ItemPage.model_validate(
        {"items": items, "total": total, "limit": limit, "offset": offset}, from_attributes=True
    )


@router.post("", status_code=status.HTTP_201_CREATED, responses=NAME_TAKEN | BODY_ERRORS)
async def create_item(
    data: ItemCreate,
    connections: ConnectionsDep,
    jobs: JobsDep,
    events: EventsDep,
    request: Request,
    response: Response,
) -> ItemRead:
    try:
        # Committed when this returns, so the job below finds the row.
        item = await service.create_item(connections, data)
    except service.ItemNameTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    log.info("item created", item_id=item.id)
    created = ItemRead.model_validate(item)
    # Before the job is queued, so that `created` always comes before `processed`.
    await publish_item(events, "created", created)
    await jobs.enqueue(process_item, item.id)
    # Relative: an absolute URL would be built from the client's Host header.
    location = request.app.url_path_for("read_item", item_id=item.id)
    response.headers["Location"] = request.scope.get("root_path", "") + location
    return created


@router.patch("/{item_id}", responses=NOT_FOUND | NAME_TAKEN | BODY_ERRORS)
async def update_item(
    data: ItemUpdate, item: ValidItemDep, session: SessionDep, cache: CacheDep, events: EventsDep
) -> ItemRead:
    item_id = item.id
    try:
        item = await service.update_item(session, item, data)
    except service.ItemNameTaken as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except service.ItemGone:
        raise item_not_found(item_id) from None
    # Invalidate after the commit: earlier, a concurrent read could cache the old row again.
    await session.commit()
    await cache.invalidate(item_cache_key(item_id))
    updated = ItemRead.model_validate(item)
    await publish_item(events, "updated", updated)
    return updated


# A plain Response: a 204 has no body, so no content type either.
@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND | IN_USE,
)
async def delete_item(
    item: ValidItemDep, session: SessionDep, cache: CacheDep, events: EventsDep
) -> None:
    try:
        await service.delete_item(session, item.id)
    except service.ItemInUse as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except service.ItemGone:
        raise item_not_found(item.id) from None
    await session.commit()
    await cache.invalidate(item_cache_key(item.id))
    await publish_deleted(events, item.id)
