"""The contracts of the adapters the lifespan opens: the task runner, the cache and the events.

Each choice is one module (`runner.py`, `cache.py`, `events.py`) that the project was generated
with; another choice is another module with the same functions and classes. The assignments at
the end have mypy check this project's modules against the contracts, so a module that drifts
from its contract fails `make lint`, not a request.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from prometheus_client.registry import Collector
from starlette.requests import HTTPConnection, Request

from . import cache, events, runner
from .broadcast import Subscription
from .health import Probe
from .jobs import Job, JobContext
from .registry import Resource
from .settings import Settings

FoundT = TypeVar("FoundT")


class TaskRunner(Protocol):
    """A task runner open in the lifespan (`request.state.runner`)."""

    @property
    def probes(self) -> Sequence[Probe]:
        """What /health/ready checks for it: its broker, when it has one."""

    @property
    def collectors(self) -> Sequence[Collector]:
        """Its metrics besides the job counters every runner increments: the queue's depth."""

    async def recover(self, job: Job, *args: object) -> bool:
        """Schedule `job` again for the recovery sweep (recovery.py); False if it could not be."""


class Jobs(Protocol):
    """What a request schedules jobs with (`JobsDep`)."""

    async def enqueue(self, job: Job, *args: object) -> None:
        """Schedule `job(*args)` once the request commits. Never fails the request: a job it
        cannot queue is logged with its real cause and left to the recovery sweep."""


class TaskRunnerModule(Protocol):
    """runner.py. A worker's runner also has worker.py, the worker's entry point."""

    def open_runner(
        self, settings: Settings, context: JobContext, resources: Iterable[Resource]
    ) -> AbstractAsyncContextManager[TaskRunner]:
        """Connect (lazily: the app starts while the broker is down) and start the sweep."""

    @property
    def get_jobs(self) -> Callable[..., Awaitable[Jobs]]:
        """The request's `Jobs`: the FastAPI dependency behind `JobsDep`."""


class Cache(Protocol[FoundT]):
    """Cache-aside of encoded reads; none is a cache that finds nothing."""

    @property
    def probes(self) -> Sequence[Probe]: ...

    async def get(self, key: str) -> FoundT: ...

    async def add(self, key: str, value: bytes, found: FoundT) -> None:
        """Store `value` unless a write invalidated `key` since `found` was read."""

    async def invalidate(self, key: str) -> None: ...


class CacheModule(Protocol):
    """cache.py."""

    def open_cache(self, settings: Settings) -> AbstractAsyncContextManager[Cache[Any]]: ...

    def get_cache(self, request: Request) -> Awaitable[Cache[Any]]: ...


class Events(Protocol):
    """Live events: published after a commit, delivered to the subscribers of a topic."""

    async def publish(self, topic: str, event: str) -> None:
        """Deliver `event` to the subscribers of `topic`. Never waits on a client."""

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[Subscription]: ...


class EventsModule(Protocol):
    """events.py."""

    def open_events(self, settings: Settings) -> AbstractAsyncContextManager[Events]: ...

    def get_events(self, connection: HTTPConnection) -> Awaitable[Events]: ...


_runner: TaskRunnerModule = runner
_cache: CacheModule = cache
_events: EventsModule = events
