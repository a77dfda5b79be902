"""Recovery: work whose job never ran is found in the database and scheduled again.

A job can be lost between the commit and its runner: the queue was down when the request
committed, or the process running an in-process job died. The database, not the queue, is
the record of what is unfinished: each resource declares how to find its unfinished rows
(`Resource.unfinished`), and a sweep in every API process hands the rows older than a grace
period to the runner again. The grace period leaves alone jobs that are on their way. Jobs
are idempotent, so one that did run after all costs a no-op.

Each process sweeps what was created since its last complete sweep, so a row is scheduled
again once per process, not at every sweep: a job that keeps failing is not retried forever,
and a queue that is behind is not flooded with copies. A process starts with everything
older than the grace period: that is what recovers a crash or a lost queue.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta

import structlog

from .db import reading
from .jobs import JobContext, job_name
from .registry import Resource
from .settings import Settings

# Schedules a job found unfinished; False when the runner cannot take it now.
Schedule = Callable[..., Awaitable[bool]]

log = structlog.get_logger(__name__)


class Sweeper:
    def __init__(
        self,
        settings: Settings,
        context: JobContext,
        resources: Iterable[Resource],
        schedule: Schedule,
    ) -> None:
        self._grace = timedelta(seconds=settings.job_recovery_grace_seconds)
        self._interval = settings.job_recovery_interval_seconds
        self._context = context
        self._unfinished = [work for resource in resources for work in resource.unfinished]
        self._schedule = schedule
        self._since: datetime | None = None
        self._stopping = asyncio.Event()

    async def sweep(self) -> int:
        """Schedule the work made since the last complete sweep; how many jobs were scheduled."""
        until = datetime.now(UTC) - self._grace
        scheduled = 0
        for work in self._unfinished:
            query = work.arguments.where(work.created_at < until).order_by(work.created_at)
            if self._since is not None:
                query = query.where(work.created_at >= self._since)
            async with reading(self._context.session_factory) as session:
                rows = (await session.execute(query)).all()
            for row in rows:
                if self._stopping.is_set() or not await self._schedule(work.job, *row):
                    # Not complete: the next sweep starts from the same point again.
                    return scheduled
                scheduled += 1
                log.info("unfinished job scheduled again", job=job_name(work.job), args=tuple(row))
        self._since = until
        return scheduled

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep()
            except Exception as exc:
                # The database is down, say: readiness reports it; the next sweep tries again.
                log.warning("recovery sweep failed", error=repr(exc))
            with suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    def stop(self) -> None:
        self._stopping.set()


@asynccontextmanager
async def sweeping(
    settings: Settings, context: JobContext, resources: Iterable[Resource], schedule: Schedule
) -> AsyncIterator[Sweeper]:
    """Sweep in the background while the app runs; on the way out, finish the current row."""
    sweeper = Sweeper(settings, context, resources, schedule)
    task = asyncio.create_task(sweeper.run(), name="job recovery")
    try:
        yield sweeper
    finally:
        sweeper.stop()
        await task
