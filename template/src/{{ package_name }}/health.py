"""Liveness, readiness and the drain before shutdown.

Readiness runs every probe the lifespan registered, concurrently.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import FrameType
from typing import Literal

import structlog
import uvicorn
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

PROBE_TIMEOUT_SECONDS = 5.0

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/health", tags=["health"])

# Set once the process is shutting down: readiness then says 503 until the process exits.
DRAINING = threading.Event()


@dataclass(frozen=True, slots=True)
class Probe:
    name: str
    check: Callable[[], Awaitable[object]]
    # A failing optional dependency degrades the service; a required one makes it unready.
    required: bool = True


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "unavailable", "draining"]
    checks: dict[str, str]


@router.get("/live")
async def live() -> Liveness:
    return Liveness()


@router.get(
    "/ready",
    responses={
        503: {"model": Readiness, "description": "A required dependency is down, or shutting down"}
    },
)
async def ready(request: Request, response: Response) -> Readiness:
    if DRAINING.is_set():
        response.status_code = 503
        return Readiness(status="draining", checks={})
    probes: tuple[Probe, ...] = request.state.probes
    failures = await asyncio.gather(*(_failure(probe) for probe in probes))
    checks = {probe.name: failure or "ok" for probe, failure in zip(probes, failures, strict=True)}
    failed = [probe for probe, failure in zip(probes, failures, strict=True) if failure]
    if any(probe.required for probe in failed):
        response.status_code = 503
        return Readiness(status="unavailable", checks=checks)
    return Readiness(status="degraded" if failed else "ok", checks=checks)


async def _failure(probe: Probe) -> str | None:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            await probe.check()
    except Exception as exc:
        log.warning("readiness probe failed", probe=probe.name, error=repr(exc))
        return f"unavailable: {type(exc).__name__}"
    return None


class DrainingServer(uvicorn.Server):
    """Uvicorn, with a drain window between the shutdown signal and closing the listener."""

    def __init__(self, config: uvicorn.Config, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # The first signal only turns readiness to 503; a second one stops at once.
        if self.drain_seconds and not DRAINING.is_set():
            DRAINING.set()
            log.info("draining before shutdown", seconds=self.drain_seconds)
            timer = threading.Timer(self.drain_seconds, super().handle_exit, (sig, frame))
            timer.daemon = True
            timer.start()
            return
        super().handle_exit(sig, frame)
