"""API keys (`X-API-Key`)."""

from starlette.requests import HTTPConnection

from .principal import Principal


async def principal_for_key(connection: HTTPConnection, key: str) -> Principal | None:
    """The owner of `key`; None when no key matches."""
    return None
