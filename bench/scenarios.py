"""What is measured, as data: servers, endpoints with their baselines and targets, comparisons.

Each server is either a baseline (a FastAPI app in baselines/, served by uvicorn as bare as it
gets), the seed-article style, or a generated project served as production serves it
(`python -m <package>`), possibly with a settings variant. Each endpoint names its server (the
part of its key before the dot) and the endpoint whose req/s it is divided by, in the same
round. Targets are issue 14's; budgets are issue 15's (metrics on against off).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

ITEM = "/items/{item}"


@dataclass(frozen=True)
class Server:
    key: str
    label: str
    project: str = "app"  # whose venv serves it: "app" (cache=redis) or "nocache"
    baseline: str | None = None  # "module:app" in baselines/, served by bare uvicorn
    script: str | None = None  # a baselines/ script that serves itself like the generated app
    ready: str = "/health/ready"
    env: Mapping[str, str] = field(default_factory=dict)
    access_log: bool = False
    group: str = "core"  # "variants" and "metrics" can be left out (--no-variants, --no-metrics)
    databases: tuple[str, ...] = ("postgresql", "mysql", "sqlite")

    @property
    def generated(self) -> bool:
        return self.baseline is None


@dataclass(frozen=True)
class Measure:
    key: str  # "<server>.<endpoint>"
    label: str
    path: str
    method: str = "GET"
    status: int = 200
    baseline: str | None = None  # the measure its req/s is divided by, in the same round
    target: float | None = None  # issue 14: the ratio to the baseline it should reach
    floor_target: float | None = None  # the same, against the cache-hit floor
    post: bool = False  # POST /items with a unique name per request
    cache_hit: bool = False  # must answer X-Cache: HIT before and after

    @property
    def server(self) -> str:
        return self.key.split(".", 1)[0]


@dataclass(frozen=True)
class Comparison:
    """The same endpoint on two servers that differ in one setting: a cost budget."""

    key: str
    against: str
    label: str
    max_loss: float  # of req/s and of in-process CPU per request


# Cache hits are also compared with the cheapest possible hit on the same machine.
FLOOR = "redis.hit"

SERVERS = [
    Server("hello", "bare FastAPI hello world", baseline="hello:app", ready="/"),
    Server(
        "raw",
        "bare FastAPI + raw {driver} pool",
        baseline="raw_items:app",
        ready=ITEM,
    ),
    Server(
        "redis",
        "bare FastAPI + one Redis GET (cache-aside, no middleware or dependencies)",
        baseline="redis_read:app",
        ready=ITEM,
    ),
    Server(
        "seed",
        "seed-article style (BaseHTTPMiddleware, session on every hit)",
        script="seed_style.py",
    ),
    Server("app", "generated: {database} + Redis + ARQ"),
    Server("nocache", "generated: {database} + no cache + ARQ", project="nocache"),
    Server(
        "app_nometrics",
        "generated, METRICS_ENABLED=false",
        env={"METRICS_ENABLED": "false"},
        group="metrics",
    ),
    Server(
        "app_access",
        "generated, ACCESS_LOG=true",
        env={"ACCESS_LOG": "true"},
        access_log=True,
        group="variants",
    ),
    Server(
        "nocache_ping",
        "generated, no cache, DB_POOL_PRE_PING=true",
        project="nocache",
        env={"DB_POOL_PRE_PING": "true"},
        group="variants",
        databases=("postgresql", "mysql"),  # SQLite has no pool to ping
    ),
]

MEASURES = [
    Measure("hello", "bare FastAPI hello world", "/"),
    Measure("raw.get", "raw {driver} read by id", ITEM),
    Measure("raw.list", "raw {driver} list, limit=20", "/items?limit=20"),
    Measure("raw.post", "raw {driver} create (+ ARQ job)", "/items", "POST", 201, post=True),
    Measure(
        FLOOR, "bare FastAPI + one Redis GET, cache hit", ITEM, baseline="hello", cache_hit=True
    ),
    Measure("app.live", "GET /health/live", "/health/live", baseline="hello", target=0.90),
    Measure(
        "app.hit",
        "GET /items/{id}, cache hit",
        ITEM,
        baseline="hello",
        floor_target=0.90,
        cache_hit=True,
    ),
    Measure("nocache.get", "GET /items/{id}, uncached", ITEM, baseline="raw.get", target=0.50),
    Measure("app.list", "GET /items?limit=20", "/items?limit=20", baseline="raw.list", target=0.50),
    Measure(
        "app.post",
        "POST /items",
        "/items",
        "POST",
        201,
        baseline="raw.post",
        target=0.40,
        post=True,
    ),
    # Issue 20: a resource added with `fastgen add resource` reads as fast as items.
    Measure(
        "app.added_hit",
        "added resource: GET /widgets/{id}, cache hit",
        "/widgets/{item}",
        baseline="app.hit",
        target=0.90,
        cache_hit=True,
    ),
    Measure(
        "nocache.added_get",
        "added resource: GET /widgets/{id}, uncached",
        "/widgets/{item}",
        baseline="nocache.get",
        target=0.90,
    ),
    Measure("seed.live", "seed style: GET /health/live", "/health/live", baseline="hello"),
    Measure(
        "seed.hit", "seed style: GET /items/{id}, cache hit", ITEM, baseline="hello", cache_hit=True
    ),
    Measure(
        "app_nometrics.live",
        "GET /health/live, METRICS_ENABLED=false",
        "/health/live",
        baseline="hello",
    ),
    Measure(
        "app_nometrics.hit",
        "GET /items/{id} hit, METRICS_ENABLED=false",
        ITEM,
        baseline="hello",
        cache_hit=True,
    ),
    Measure(
        "app_access.live", "GET /health/live, ACCESS_LOG=true", "/health/live", baseline="hello"
    ),
    Measure(
        "app_access.hit",
        "GET /items/{id} hit, ACCESS_LOG=true",
        ITEM,
        baseline="hello",
        cache_hit=True,
    ),
    Measure(
        "nocache_ping.get",
        "GET /items/{id} uncached, DB_POOL_PRE_PING=true",
        ITEM,
        baseline="raw.get",
    ),
]

# Issue 15: metrics on (the default) may cost at most 10 % against the same app with them off.
COMPARISONS = [
    Comparison("app.live", "app_nometrics.live", "GET /health/live", max_loss=0.10),
    Comparison("app.hit", "app_nometrics.hit", "GET /items/{id}, cache hit", max_loss=0.10),
]


@dataclass(frozen=True)
class Scenario:
    servers: list[Server]
    measures: list[Measure]
    comparisons: list[Comparison]


def scenario(database: str, driver: str, label: str, item_id: int, groups: set[str]) -> Scenario:
    """The servers, endpoints and comparisons of one run, for one database."""

    def fill(text: str) -> str:
        return text.replace("{driver}", driver).replace("{database}", label)

    servers = [
        replace(s, label=fill(s.label), ready=s.ready.format(item=item_id))
        for s in SERVERS
        if database in s.databases and (s.group == "core" or s.group in groups)
    ]
    keys = {s.key for s in servers}
    measures = [
        replace(m, label=fill(m.label), path=m.path.format(item=item_id))
        for m in MEASURES
        if m.server in keys
    ]
    measured = {m.key for m in measures}
    comparisons = [c for c in COMPARISONS if {c.key, c.against} <= measured]
    return Scenario(servers, measures, comparisons)
