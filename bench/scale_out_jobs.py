"""Workers, an upstream and a job feeder for scale_out.py, run by a generated project's Python.

The generated example job only writes one row. To make it I/O-bound, as a job that calls another
service is, the benchmark's job first calls a throwaway upstream on loopback that answers after
BENCH_DELAY_MS, through the project's own pooled client (`http_client.create_http_client`), then
runs the generated job's body (`items.processing.process_item`) on the worker's own engine. The
workers are the project's own, found from its worker command (BENCH_WORKER_TARGET), with this one
job registered on them: the ARQ WorkerSettings and the Celery app are used as generated.

    python scale_out_jobs.py upstream PORT        serve the upstream (uvicorn, one process)
    python scale_out_jobs.py arq-worker           run one ARQ worker
    python scale_out_jobs.py celery-worker NAME   run one Celery worker process (--concurrency 1)
    python scale_out_jobs.py drain COUNT          queue a job per item 1..COUNT, wait until all are
                                                  processed, print {"seconds": ...}
    python scale_out_jobs.py reset                set every item back to pending
    python scale_out_jobs.py clean                delete the benchmark's queue and job keys

Environment: the project's settings (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, NAMESPACE), plus
BENCH_PACKAGE, BENCH_WORKER_TARGET, BENCH_UPSTREAM_URL and BENCH_DELAY_MS (and, to try another ARQ
poll interval than the generated one, BENCH_ARQ_POLL_DELAY).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import time
from functools import partial
from typing import Any

JOB = "bench_call_then_process"
READY = "BENCH_WORKER_READY"


def project(module: str) -> Any:
    return importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.{module}")


def settings() -> Any:
    return project("settings").get_settings()


async def call_then_process(client: Any, session_factory: Any, item_id: int) -> bool:
    response = await client.get(os.environ["BENCH_UPSTREAM_URL"])
    response.raise_for_status()
    processed: bool = await project("items.processing").process_item(session_factory, item_id)
    return processed


# ---- the upstream: answers every request after BENCH_DELAY_MS -----------------------------------


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await asyncio.sleep(int(os.environ["BENCH_DELAY_MS"]) / 1000)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


def upstream(port: int) -> None:
    import uvicorn

    uvicorn.run(
        "scale_out_jobs:upstream_app",
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        backlog=4096,
    )


# ---- workers -----------------------------------------------------------------------------------


def arq_worker() -> None:
    from arq.worker import func, run_worker

    module, _, attr = os.environ["BENCH_WORKER_TARGET"].rpartition(".")
    generated = getattr(importlib.import_module(module), attr)
    if isinstance(generated, type):
        generated = {k: v for k, v in vars(generated).items() if not k.startswith("_")}
    http_client = project("http_client")

    async def startup(ctx: dict[str, Any]) -> None:
        await generated["on_startup"](ctx)
        ctx["bench_http"] = http_client.create_http_client(ctx["settings"])
        print(READY, flush=True)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["bench_http"].aclose()
        await generated["on_shutdown"](ctx)

    async def job(ctx: dict[str, Any], item_id: int) -> bool:
        return await call_then_process(ctx["bench_http"], ctx["session_factory"], item_id)

    hooks = {"on_startup": startup, "on_shutdown": shutdown}
    worker_settings = {**generated, "functions": [func(job, name=JOB)], **hooks}
    if os.environ.get("BENCH_ARQ_POLL_DELAY"):  # a what-if: the generated worker keeps ARQ's 0.5 s
        worker_settings["poll_delay"] = float(os.environ["BENCH_ARQ_POLL_DELAY"])
    run_worker(worker_settings)


def celery_worker(name: str) -> None:
    from celery.app.utils import find_app
    from celery.signals import worker_ready

    app = find_app(os.environ["BENCH_WORKER_TARGET"])
    http_client = project("http_client")
    clients: dict[str, Any] = {}

    async def job(item_id: int, resources: Any) -> bool:
        # Opened on the worker's one event loop, on first use, like the generated resources.
        if "http" not in clients:
            clients["http"] = http_client.create_http_client(settings())
        return await call_then_process(clients["http"], resources.session_factory, item_id)

    @worker_ready.connect(weak=False)
    def announce(**_kwargs: object) -> None:
        print(READY, flush=True)

    @app.task(name=JOB, shared=False)
    def bench(item_id: int) -> bool:
        result: bool = app.runtime.run(partial(job, item_id))
        return result

    # No mingle or gossip: the broker is shared with other runs, whose workers are not ours.
    app.worker_main(
        ["worker", "--concurrency", "1", "--loglevel", "INFO", "--hostname", name,
         "--without-mingle", "--without-gossip", "--without-heartbeat"]
    )  # fmt: skip


# ---- feeding and draining ----------------------------------------------------------------------


async def processed_count(count: int) -> int:
    import asyncpg

    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        done: int = await conn.fetchval(
            "SELECT count(*) FROM items WHERE status = 'processed' AND id <= $1::int", count
        )
        return done
    finally:
        await conn.close()


async def enqueue(count: int) -> None:
    ids = range(1, count + 1)
    current = settings()
    if hasattr(current, "celery_broker_url"):
        app = project("celery_app").create_celery_app(current)
        with app.producer_or_acquire() as producer:
            for item_id in ids:
                app.send_task(JOB, args=[item_id], producer=producer)
        app.close()
        return
    from arq.connections import RedisSettings, create_pool

    pool = await create_pool(
        RedisSettings.from_dsn(current.redis_url), default_queue_name=current.queue_name
    )
    try:
        for start in range(0, count, 200):
            await asyncio.gather(
                *(
                    pool.enqueue_job(JOB, item_id, _job_id=f"{current.namespace}-{item_id}")
                    for item_id in ids[start : start + 200]
                )
            )
    finally:
        await pool.aclose()


async def drain(count: int, timeout: float = 600) -> float:
    # Importing the client library is not part of the time.
    if hasattr(settings(), "celery_broker_url"):
        project("celery_app")
    else:
        importlib.import_module("arq.connections")
    t0 = time.perf_counter()
    await enqueue(count)
    while await processed_count(count) < count:
        if time.perf_counter() - t0 > timeout:
            raise SystemExit(f"not drained after {timeout} s")
        await asyncio.sleep(0.05)
    return time.perf_counter() - t0


async def reset() -> None:
    import asyncpg

    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        await conn.execute("UPDATE items SET status = 'pending'")
    finally:
        await conn.close()


async def clean() -> None:
    current = settings()
    if hasattr(current, "redis_url"):
        from redis.asyncio import Redis

        redis = Redis.from_url(current.redis_url)
        try:
            patterns = [
                f"{current.namespace}*",
                f"arq:*:{current.namespace}-*",
                f"*{current.queue_name}*",
            ]
            for pattern in patterns:
                keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
                for start in range(0, len(keys), 1000):
                    await redis.delete(*keys[start : start + 1000])
        finally:
            await redis.aclose()
    if str(getattr(current, "celery_broker_url", "")).startswith("amqp"):
        app = project("celery_app").create_celery_app(current)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(current.queue_name)
        app.close()


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "upstream":
        upstream(int(args[0]))
    elif command == "arq-worker":
        arq_worker()
    elif command == "celery-worker":
        celery_worker(args[0])
    elif command == "drain":
        print(json.dumps({"seconds": asyncio.run(drain(int(args[0])))}))
    elif command == "reset":
        asyncio.run(reset())
    elif command == "clean":
        asyncio.run(clean())
    else:
        raise SystemExit(f"unknown command {command!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
