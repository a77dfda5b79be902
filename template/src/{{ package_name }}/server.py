"""How uvicorn serves the app: its protocols, and the limits on what a connection may hold.

uvicorn counts every open connection against LIMIT_CONCURRENCY and has no timeout for a
request's headers, so a thousand connections that never send a whole request would have every
route answer 503; and its parser (httptools) accepts headers of any size, copying them as they
grow, which held the event loop for seconds on a 64 MiB header. The HTTP protocol below adds
both limits in process. Servers that have them (granian, hypercorn) would replace uvicorn's
draining shutdown (health.py) and, for hypercorn, uvloop and httptools' throughput; this keeps
`python -m` serving as before. It costs about 0.8 µs of CPU per request (9.7 against 8.9 µs for
uvicorn's protocol alone, in process), about 1 % of `/health/live`'s, which wrk cannot tell
apart from noise.
"""

import asyncio
import json
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from .settings import Settings

# Event WebSocket clients send nothing: a few KiB is room for control frames and more, and
# without per-message compression a message cannot expand past that once received.
WEBSOCKET_MAX_MESSAGE_BYTES = 4096


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration from the settings, for `python -m` and the tests alike."""

    def __init__(self, app: FastAPI | str, settings: Settings) -> None:
        super().__init__(
            app,
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http=GuardedHttpProtocol,
            access_log=settings.serve_access_log,
            # Logging is configured by the app; uvicorn's default config would replace it.
            log_config=None,
            reload=settings.debug,
            server_header=False,
            # Bodies have no read timeout here: the proxy in front sets one.
            limit_concurrency=settings.limit_concurrency,
            timeout_keep_alive=settings.keep_alive_timeout_seconds,
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
            ws_max_size=WEBSOCKET_MAX_MESSAGE_BYTES,
            ws_per_message_deflate=False,
            ws_ping_interval=settings.events_ping_seconds,
            ws_ping_timeout=settings.events_ping_seconds,
        )
        self.header_timeout_seconds = settings.header_timeout_seconds
        self.max_header_bytes = settings.max_header_bytes


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers are too slow
    (from its opening, or from a later request's first read) or too large (431).

    Headers still incomplete are counted by the bytes read, checked after each read: at most one
    read (256 KiB) past the limit is parsed before the refusal. A read in which a later request
    begins may end the previous one's body, so it is not counted. Headers complete within the
    reads counted are measured exactly, only when those reads pass the limit. The timer is armed
    only while a read has left headers incomplete, or a new connection has sent nothing: a
    request that arrives whole, as nearly all do, costs none.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not isinstance(config, ServerConfig):
            raise TypeError("GuardedHttpProtocol needs a ServerConfig")
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout_seconds = config.header_timeout_seconds
        self.max_header_bytes = config.max_header_bytes
        detail = f"Request headers too large: the limit is {self.max_header_bytes} bytes"
        self.refusal = json.dumps({"detail": detail}).encode()
        self.reading_headers = True
        self.header_bytes = 0
        self.read_bytes = 0
        self.header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.read_bytes = len(data)
        super().data_received(data)
        if not self.reading_headers or self.transport.is_closing():
            return
        self.header_bytes += len(data)
        if self.header_bytes > self.max_header_bytes:
            self._disarm_deadline()
            self.logger.warning("Request headers over %d bytes", self.max_header_bytes)
            self.transport.write(self._refusal_head() + self.refusal)
            self.transport.close()
        elif self.header_deadline is None:
            self._arm_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.reading_headers:
            self.reading_headers = True
            self.header_bytes = -self.read_bytes

    def on_headers_complete(self) -> None:
        at_most = max(self.header_bytes, 0) + self.read_bytes
        self.reading_headers = False
        self._disarm_deadline()
        if at_most > self.max_header_bytes and self._header_size() > self.max_header_bytes:
            # The request is answered by the refusal instead of the app, as uvicorn answers 503.
            self.logger.warning("Request headers over %d bytes", self.max_header_bytes)
            app, self.app = self.app, self._refuse
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()

    def _arm_deadline(self) -> None:
        self.header_deadline = self.loop.call_later(
            self.header_timeout_seconds, self._headers_too_slow
        )

    def _disarm_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _headers_too_slow(self) -> None:
        self.header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _header_size(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _refusal_head(self) -> bytes:
        return (
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            + b"".join(
                name + b": " + value + b"\r\n" for name, value in _refusal_headers(self.refusal)
            )
            + b"\r\n"
        )

    async def _refuse(self, scope: Any, receive: Any, send: Any) -> None:
        headers = _refusal_headers(self.refusal)
        await send({"type": "http.response.start", "status": 431, "headers": headers})
        await send({"type": "http.response.body", "body": self.refusal})


def _refusal_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        # The connection ends with this answer.
        (b"connection", b"close"),
    ]
