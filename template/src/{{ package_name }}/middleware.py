"""Pure ASGI middleware: no BaseHTTPMiddleware, which costs throughput and breaks contextvars."""

import re
from secrets import token_hex
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import REQUEST_ID

# Incoming ids end up in logs: accept only short, plain tokens.
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")


class RequestContextMiddleware:
    """Tags each request with an X-Request-ID (kept from the client or generated) and
    reports the handling time in X-Process-Time. Every log line of the request carries the id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        start = perf_counter()
        request_id = _incoming_request_id(scope) or token_hex(16)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = f"{perf_counter() - start:.6f}".encode()
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode()),
                    (b"x-process-time", elapsed),
                ]
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            REQUEST_ID.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode() if _VALID_REQUEST_ID.fullmatch(value) else None
    return None
