"""Baseline: the seed articles' style, built from the generated package itself.

Same lifespan, settings, logging, health router and item cache as the generated app, with
exactly the two changes the articles make:

- the timing middleware is `@app.middleware("http")` (a `BaseHTTPMiddleware`) instead of the
  generated pure-ASGI `RequestContextMiddleware`;
- the cached read's dependency takes the request's database session (`SessionDep`), so a
  session is opened (and committed) on every request, cache hits included.

Served the way the generated `__main__` serves the app (same logging and access log).
BENCH_PACKAGE names the generated package; run from the project root, with its interpreter:

    BENCH_PACKAGE=bench_app python /path/to/bench/baselines/seed_style.py
"""

import importlib
import os
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request, Response, status

PACKAGE = os.environ["BENCH_PACKAGE"]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


settings_mod = _module("settings")
logs = _module("logs")
health = _module("health")
lifespan_mod = _module("lifespan")
errors = _module("errors")
db = _module("db")
cache_mod = _module("cache")
deps = _module("items.dependencies")
service = _module("items.service")
schemas = _module("items.schemas")

settings = settings_mod.get_settings()


async def cached_item_with_session(
    item_id: deps.ItemId, cache: cache_mod.CacheDep, session: db.SessionDep
) -> Any:
    key = deps.item_cache_key(item_id)
    found = await cache.get(key)
    if found.value is not None:
        return deps.CachedItem(found.value, hit=True)
    item = await service.get_item(session, item_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Item {item_id} not found")
    body = schemas.ItemRead.model_validate(item).model_dump_json().encode()
    await cache.add(key, body, found)
    return deps.CachedItem(body, hit=False)


def create_app() -> FastAPI:
    logs.configure_logging(settings)
    app = FastAPI(lifespan=lifespan_mod.build_lifespan(settings))
    app.include_router(health.router)
    errors.add_exception_handlers(app)

    @app.get("/items/{item_id}", response_model=schemas.ItemRead)
    async def read_item(
        cached: Annotated[Any, Depends(cached_item_with_session)],
    ) -> Response:
        return Response(
            cached.body,
            media_type="application/json",
            headers={"X-Cache": "HIT" if cached.hit else "MISS"},
        )

    @app.middleware("http")
    async def add_process_time(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Process-Time"] = f"{time.perf_counter() - start:.6f}"
        return response

    return app


app = create_app()


def main() -> None:
    logs.configure_logging(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=settings.serve_access_log,
        log_config=None,
        server_header=False,
    )


if __name__ == "__main__":
    main()
