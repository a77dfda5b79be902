"""Liveness and readiness. Readiness runs every probe the lifespan registered, concurrently."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import structlog
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

PROBE_TIMEOUT_SECONDS = 5.0

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/health", tags=["health"])


@dataclass(frozen=True, slots=True)
class Probe:
    name: str
    check: Callable[[], Awaitable[object]]
    # A failing optional dependency degrades the service; a required one makes it unready.
    required: bool = True


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, str]


@router.get("/live")
async def live() -> Liveness:
    return Liveness()


@router.get(
    "/ready",
    responses={503: {"model": Readiness, "description": "A required dependency is down"}},
)
async def ready(request: Request, response: Response) -> Readiness:
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
