"""Pure ASGI middleware: no BaseHTTPMiddleware, which costs throughput and breaks contextvars."""

import re
from secrets import token_hex
from time import perf_counter

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import without_driver_detail
from .logs import REQUEST_ID

log = structlog.get_logger(__name__)

# Incoming ids end up in logs: accept only short, plain tokens.
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")

_ERROR_BODY = b'{"detail":"Internal server error"}'
_ERROR_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_ERROR_BODY)).encode()),
]


class RequestContextMiddleware:
    """Tags each request with an X-Request-ID (kept from the client or generated) and
    reports the handling time in X-Process-Time. Every log line of the request carries the id.

    An unhandled error ends here: it is logged once, with the id, and answered with a 500 that
    carries the id too. Re-raising it would have Starlette and uvicorn log it again.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        start = perf_counter()
        request_id = _incoming_request_id(scope) or token_hex(16)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
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
        except Exception as exc:
            log.error(
                "unhandled error",
                method=scope["method"],
                path=scope["path"],
                exc_info=without_driver_detail(exc),
            )
            if not started:
                await send_with_headers(
                    {"type": "http.response.start", "status": 500, "headers": _ERROR_HEADERS}
                )
                await send({"type": "http.response.body", "body": _ERROR_BODY})
        finally:
            REQUEST_ID.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return value.decode() if _VALID_REQUEST_ID.fullmatch(value) else None
    return None
