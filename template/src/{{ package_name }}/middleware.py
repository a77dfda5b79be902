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

# On every response: no MIME sniffing, no referrer, no framing, and a policy that lets an API
# response load nothing. The docs pages load Swagger UI and ReDoc from the app itself and run an
# inline script that starts them; ReDoc adds a worker.
_SAFE_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_API_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_DOCS_POLICY = (
    b"content-security-policy",
    b"default-src 'none'; connect-src 'self'; img-src 'self' data:; "
    b"script-src 'self' 'unsafe-inline'; worker-src blob:; style-src 'self' 'unsafe-inline'; "
    b"frame-ancestors 'none'",
)
_API_HEADERS = (*_SAFE_HEADERS, _API_POLICY)
_DOCS_HEADERS = (*_SAFE_HEADERS, _DOCS_POLICY)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

_ERROR_BODY = b'{"detail":"Internal server error"}'
_ERROR_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_ERROR_BODY)).encode()),
]


class RequestContextMiddleware:
    """Tags each request with an X-Request-ID (kept from the client or generated), reports the
    handling time in X-Process-Time and adds the safe headers above. Every log line of the
    request carries the id.

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
        path = scope["path"][len(scope.get("root_path", "")) :]
        safe_headers = _DOCS_HEADERS if path in DOCS_PATHS else _API_HEADERS
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
                    *safe_headers,
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
