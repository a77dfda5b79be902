"""Live item events: `WS /items/events`.

Every write is sent to every connected client after its commit, as one JSON text message
(an ItemEvent):

    {"type": "created", "id": 7, "item": {"id": 7, "name": "widget", ...}}
    {"type": "updated", "id": 7, "item": {...}}
    {"type": "processed", "id": 7, "item": {...}}    the job finished with the item
    {"type": "deleted", "id": 7, "item": null}

Events come in the order they were published; a client sends nothing. The server closes the
connection with 1013 (try again later) when the client fell behind by EVENTS_QUEUE_SIZE events
or events were interrupted, and with 1001 or 1012 when it shuts down. Delivery is at most once:
after a close, a client reconnects and reads the items again if it needs every change.
"""

from typing import Literal

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel

from ..events import Events, EventsDep
from .schemas import ItemRead

TOPIC = "items"

router = APIRouter()


class ItemEvent(BaseModel):
    type: Literal["created", "updated", "processed", "deleted"]
    id: int
    # The item as it was committed; none once deleted.
    item: ItemRead | None


async def publish_item(
    events: Events, type: Literal["created", "updated", "processed"], item: ItemRead
) -> None:
    await events.publish(TOPIC, ItemEvent(type=type, id=item.id, item=item).model_dump_json())


async def publish_deleted(events: Events, item_id: int) -> None:
    await events.publish(TOPIC, ItemEvent(type="deleted", id=item_id, item=None).model_dump_json())


@router.websocket("/events")
async def item_events(websocket: WebSocket, events: EventsDep) -> None:
    """Stream ItemEvents as JSON text messages until the client leaves (see the module)."""
    # Subscribed before the handshake completes: a client sees every write made after it.
    async with events.subscribe(TOPIC) as subscription:
        await websocket.accept()
        await subscription.stream(websocket)
