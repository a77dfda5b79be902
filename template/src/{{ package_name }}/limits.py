"""Request body limit: pure ASGI, so it costs a header scan on the hot path and nothing more."""

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body too large: the limit is {limit} bytes")


class BodySizeLimitMiddleware:
    """Answers 413 to a body over `max_body_bytes` before the app reads any of it.

    A declared Content-Length is checked before the app runs; the server never delivers more
    than it declares. A body without one (chunked) is counted as it arrives, and FastAPI turns
    the BodyTooLarge raised while it reads into the same 413.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is None:
            await self.app(scope, self._counting(receive), send)
        elif length > self.max_body_bytes:
            await self._reject(send)
        else:
            await self.app(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        return receive_within_limit

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"detail": BodyTooLarge(self.max_body_bytes).detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The rest of the body is never read: close rather than drain it.
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
