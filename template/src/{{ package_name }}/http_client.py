"""The one pooled outbound HTTP client, shared by every request."""

from typing import Annotated

import httpx
from fastapi import Depends, Request

from .settings import Settings
from .telemetry import trace_http_client


def create_http_client(settings: Settings) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.http_timeout_seconds),
        limits=httpx.Limits(
            max_connections=settings.http_max_connections,
            max_keepalive_connections=settings.http_max_connections // 5 or 1,
        ),
        follow_redirects=False,
    )
    trace_http_client(client)
    return client


async def get_http_client(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.state.http_client
    return client


HttpClientDep = Annotated[httpx.AsyncClient, Depends(get_http_client)]
