"""Prometheus metrics: requests, database pools, jobs and the queue, at GET /metrics.

Served on the app's port, or on METRICS_PORT instead when it is set; METRICS_ENABLED=false
leaves out the endpoint and the request middleware. The app is served by one uvicorn
process (scaled out with replicas, not workers), so each process's own registry is
complete and no PROMETHEUS_MULTIPROC_DIR is needed.

Each app has its own registry: its requests and what its lifespan opened (pools, queue).
The process-wide counters (cache, jobs) and the process's own metrics are in the default
registry, which the app's endpoint serves too.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter
from wsgiref.simple_server import WSGIServer

import structlog
from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import Settings

log = structlog.get_logger(__name__)

# Counted wherever jobs run: in the API, and in the worker that serves its own metrics.
JOBS_ENQUEUED = Counter("jobs_enqueued_total", "Jobs handed to the task runner", ["job"])
JOBS_SUCCEEDED = Counter("jobs_succeeded_total", "Jobs that ran to the end", ["job"])
JOBS_FAILED = Counter("jobs_failed_total", "Jobs that failed for good", ["job"])
JOBS_RETRIED = Counter("jobs_retried_total", "Job attempts that failed and were retried", ["job"])
DB_POOL_TIMEOUTS = Counter(
    "db_pool_checkout_timeouts_total",
    "Requests that waited for a pooled database connection until the pool timeout",
)

# Requests take from a tenth of a millisecond (health) to seconds (a database under load).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# The label of a request that matched no route: never the raw path, which is unbounded.
UNMATCHED = "unmatched"
# Any other method is labelled "other", so a client cannot make up label values.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetrics:
    """Requests by route template, method and status, with their latency, and those in flight.

    The latency histogram's `_count` is the request counter: a separate counter would cost
    as much again per request.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self._latency = Histogram(
            "http_request_duration_seconds",
            "Requests answered, by route template, method and status, and their latency",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # A plain number, read when scraped: requests run on one event loop.
        self.in_flight = 0
        in_flight = Gauge("http_requests_in_flight", "Requests in flight", registry=registry)
        in_flight.set_function(lambda: self.in_flight)
        # Looking up a label child costs more than observing: each is looked up once.
        self._observers: dict[tuple[int, str, int], Callable[[float], None]] = {}

    def observe(self, route: object, method: str, status: int, seconds: float) -> None:
        # By identity: routes compare by value and are not hashable. They live as long as
        # the app, and so as these metrics, so an id is not reused while it is a key.
        key = (id(route), method, status)
        observe = self._observers.get(key)
        if observe is None:
            template = getattr(route, "path_format", UNMATCHED)
            observe = self._observers[key] = self._latency.labels(
                template, method, str(status)
            ).observe
        observe(seconds)


class MetricsMiddleware:
    """Pure ASGI, outermost: it times the whole response and sees the status sent."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        metrics = self.metrics
        method = scope["method"]
        if method not in METHODS:
            method = "other"
        status = 500
        ended = False
        start = perf_counter()
        metrics.in_flight += 1

        async def send_and_count(message: Message) -> None:
            nonlocal status, ended
            if message["type"] == "http.response.start":
                status = message["status"]
            elif not message.get("more_body"):
                # Ends with the body, not when the app returns: background tasks run after.
                ended = True
                metrics.in_flight -= 1
                metrics.observe(scope.get("route"), method, status, perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, send_and_count)
        finally:
            if not ended:
                metrics.in_flight -= 1
                metrics.observe(scope.get("route"), method, status, perf_counter() - start)


class _DefaultRegistry:
    """The process-wide metrics, served with each app's own."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class PoolCollector:
    """The database pools' state, read when scraped: nothing is counted per checkout."""

    def __init__(self, engines: Mapping[str, AsyncEngine]) -> None:
        self._engines = engines

    def collect(self) -> Iterator[Metric]:
        labels = ["pool"]
        size = GaugeMetricFamily("db_pool_size", "Connections the pool keeps", labels=labels)
        checked_out = GaugeMetricFamily("db_pool_checked_out", "Connections in use", labels=labels)
        overflow = GaugeMetricFamily(
            "db_pool_overflow", "Connections open beyond the pool's size", labels=labels
        )
        for name in self._engines:
            # Read at each scrape: disposing of the engine replaces its pool.
            pool = self._engines[name].pool
            if isinstance(pool, QueuePool):
                size.add_metric([name], pool.size())
                checked_out.add_metric([name], pool.checkedout())
                # Negative while fewer connections than the pool's size are open.
                overflow.add_metric([name], max(pool.overflow(), 0))
        yield from (size, checked_out, overflow)


class QueueDepth:
    """The jobs waiting on the worker's queue, asked of the broker when scraped."""

    def __init__(self, queue: str, read: Callable[[], int]) -> None:
        self._queue = queue
        self._read = read

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("job_queue_depth", "Jobs waiting on the queue", labels=["queue"])
        try:
            depth.add_metric([self._queue], self._read())
        except Exception as exc:
            # A broker that is down leaves the sample out; the rest of the scrape still works.
            log.warning("queue depth unavailable", queue=self._queue, error=repr(exc))
        yield depth


def instrument(app: FastAPI, settings: Settings) -> None:
    """Count the app's requests and serve its metrics, unless METRICS_ENABLED is off."""
    if not settings.metrics_enabled:
        return
    registry = CollectorRegistry()
    registry.register(_DefaultRegistry())
    app.state.metrics_registry = registry
    app.add_middleware(MetricsMiddleware, metrics=RequestMetrics(registry))
    if settings.metrics_port is None:
        # A plain `def`: FastAPI runs it in a thread, so collectors that ask a broker
        # do not block the event loop.
        @app.get("/metrics", include_in_schema=False)
        def metrics() -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@contextmanager
def exporting(
    app: FastAPI, settings: Settings, engines: Mapping[str, AsyncEngine], *collectors: Collector
) -> Iterator[None]:
    """While the app runs: its pools and queue in its metrics, and METRICS_PORT served."""
    registry: CollectorRegistry | None = getattr(app.state, "metrics_registry", None)
    if registry is None:
        yield
        return
    owned = [PoolCollector(engines), *collectors]
    for collector in owned:
        registry.register(collector)
    try:
        with serving(settings, registry):
            yield
    finally:
        for collector in owned:
            registry.unregister(collector)


@contextmanager
def serving(settings: Settings, registry: Collector = REGISTRY) -> Iterator[None]:
    """Serve `registry` on METRICS_PORT while in the block, if it is set."""
    server = start_serving(settings, registry)
    try:
        yield
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def start_serving(settings: Settings, registry: Collector = REGISTRY) -> WSGIServer | None:
    """Serve `registry` on METRICS_PORT, if it is set, from a thread of this process."""
    if not settings.metrics_enabled or settings.metrics_port is None:
        return None
    server, _thread = start_http_server(settings.metrics_port, settings.host, registry)
    log.info("serving metrics", port=settings.metrics_port)
    return server
