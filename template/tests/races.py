"""Concurrent writes to one row: each must answer as if it ran alone or found the row gone,
never with a 5xx."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from httpx import AsyncClient, Response

PAIRS = (("PATCH", "DELETE"), ("DELETE", "PATCH"), ("PATCH", "PATCH"), ("DELETE", "DELETE"))
# What each pair may answer, first request first.
OUTCOMES = {
    # Whichever commits first, the DELETE succeeds; the PATCH finds the row or not.
    "PATCH 200, DELETE 204",
    "PATCH 404, DELETE 204",
    "DELETE 204, PATCH 200",
    "DELETE 204, PATCH 404",
    "PATCH 200, PATCH 200",
    # Exactly one DELETE removes the row.
    "DELETE 204, DELETE 404",
    "DELETE 404, DELETE 204",
}
# Requests in flight at once stay within the default pool, so none waits out its timeout.
ROWS_AT_ONCE = 10
ROUNDS = 5


async def race_writes(
    client: AsyncClient, create: Callable[[], Awaitable[str]], change: Callable[[], dict[str, Any]]
) -> Counter[str]:
    """Each pair of PAIRS sent at once to each of ROWS_AT_ONCE new rows, ROUNDS times: how
    often each outcome came. `create` makes a row and gives its URL; `change` a PATCH body."""
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        for first, second in PAIRS:
            urls = [await create() for _ in range(ROWS_AT_ONCE)]

            def send(method: str, url: str) -> asyncio.Task[Response]:
                body = change() if method == "PATCH" else None
                return asyncio.ensure_future(client.request(method, url, json=body))

            pairs = [(send(first, url), send(second, url)) for url in urls]
            await asyncio.gather(*(task for pair in pairs for task in pair))
            for url in urls:
                await client.delete(url)
            outcomes.update(
                f"{first} {a.result().status_code}, {second} {b.result().status_code}"
                for a, b in pairs
            )
    return outcomes
