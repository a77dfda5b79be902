"""Fan-out of live events to this process's WebSocket connections.

Each connection has a bounded queue. Delivering never waits: a connection whose queue is full
is a client that stopped reading, and it is closed, so that it never slows the writers or the
other clients. Events are delivered at most once: a client that was closed reconnects and reads
again what it needs.
"""

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.websockets import WebSocket, WebSocketDisconnect


@dataclass(frozen=True, slots=True)
class Close:
    """Why the server ends a stream: a WebSocket close code and its reason."""

    code: int
    reason: str


# 1013 "Try Again Later": the client fell behind; it reconnects and re-reads what it missed.
TOO_SLOW = Close(1013, "too slow: events were dropped")
# 1013 as well: events were lost while the process could not receive them.
INTERRUPTED = Close(1013, "events interrupted: reconnect")
# 1001 "Going Away": the server is shutting down.
SHUTDOWN = Close(1001, "server shutting down")
CLOSE_TIMEOUT_SECONDS = 10.0


class Subscription:
    """One connection's events, in order, until it ends."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue(size)
        self._ended = asyncio.Event()
        self.close = SHUTDOWN

    def put(self, event: str) -> None:
        if self._ended.is_set():
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.end(TOO_SLOW)

    def end(self, close: Close) -> None:
        if not self._ended.is_set():
            self.close = close
            self._ended.set()

    async def stream(self, websocket: WebSocket) -> None:
        """Send each event to `websocket` until the client leaves or the subscription ends.

        A send to a client that stopped reading waits for it forever; ending the subscription
        cancels that send and closes the connection with the reason.
        """
        ending = asyncio.create_task(self._ended.wait())
        tasks = {
            asyncio.create_task(self._send(websocket)),
            asyncio.create_task(_until_disconnected(websocket)),
            ending,
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if done != {ending}:
            return  # the client left
        # The close frame waits behind the unsent events; a client that never reads them
        # is left to the server's keep-alive pings.
        with contextlib.suppress(TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
            async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                await websocket.close(self.close.code, self.close.reason)

    async def _send(self, websocket: WebSocket) -> None:
        while True:
            await websocket.send_text(await self._queue.get())


async def _until_disconnected(websocket: WebSocket) -> None:
    # Clients send nothing; reading is how a disconnect is noticed.
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


class Broadcast:
    """The subscriptions of this process, by topic."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._subscriptions: dict[str, set[Subscription]] = {}

    @contextmanager
    def subscribe(self, topic: str) -> Iterator[Subscription]:
        subscription = Subscription(self._queue_size)
        subscriptions = self._subscriptions.setdefault(topic, set())
        subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            subscriptions.discard(subscription)

    def deliver(self, topic: str, event: str) -> None:
        for subscription in self._subscriptions.get(topic, ()):
            subscription.put(event)

    def end_all(self, close: Close) -> None:
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription.end(close)
