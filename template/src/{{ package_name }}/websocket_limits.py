"""Caps on the WebSockets open at once: pure ASGI, in front of every WebSocket route.

uvicorn counts each open WebSocket against LIMIT_CONCURRENCY; without a cap of their own,
idle streams from one client could take every slot, and every HTTP request would get a 503.
"""

from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# 1013 "Try Again Later": the server holds as many streams as it takes.
SERVER_FULL: Message = {
    "type": "websocket.close",
    "code": 1013,
    "reason": "too many connections: try again later",
}
# 1008 "Policy Violation": this client already holds its share.
CLIENT_FULL: Message = {
    "type": "websocket.close",
    "code": 1008,
    "reason": "too many connections from this client",
}


class WebSocketLimitMiddleware:
    """Refuses a WebSocket beyond `max_connections` open in this process, or beyond
    `max_per_client` from one client address. The handshake completes and the close follows
    at once, so that the client reads the reason in the close code, not a bare 403.
    """

    def __init__(self, app: ASGIApp, max_connections: int, max_per_client: int) -> None:
        self.app = app
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.open = 0
        self.by_client: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else ""
        if self.open >= self.max_connections:
            await _refuse(receive, send, SERVER_FULL)
        elif self.by_client[client] >= self.max_per_client:
            await _refuse(receive, send, CLIENT_FULL)
        else:
            await self._serve(client, scope, receive, send)

    async def _serve(self, client: str, scope: Scope, receive: Receive, send: Send) -> None:
        self.open += 1
        self.by_client[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.by_client[client] -= 1
            if not self.by_client[client]:
                del self.by_client[client]


async def _refuse(receive: Receive, send: Send, close: Message) -> None:
    await receive()  # the client's websocket.connect
    await send({"type": "websocket.accept"})
    await send(close)
