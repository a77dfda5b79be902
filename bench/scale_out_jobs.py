"""Workers, an upstream and a job feeder for scale_out.py, run by a generated project's Python.

The generated example job only writes one row. To make it I/O-bound, as a job that calls another
service is, the benchmark adds a resource of its own whose one job, `bench_job`, first calls a
throwaway upstream on loopback that answers after BENCH_DELAY_MS (the project's UPSTREAM_URL),
through the project's own pooled client (`http_client.create_http_client`), then runs the
generated job (`items.jobs.process_item`) with the worker's JobContext. The workers are built by
the project's own adapter over `[*RESOURCES, bench_resource]` (ARQ: `runner.worker_settings`,
Celery: `runner.create_celery_app`, Taskiq: `runner.create_worker_broker`), so they register,
name and run jobs as the generated worker does; jobs are queued through the project's own
runner (`runner.open_runner`, `enqueue`).

    python scale_out_jobs.py upstream PORT        serve the upstream (uvicorn, one process)
    python scale_out_jobs.py worker NAME          run one worker (Celery: --concurrency 1)
    python scale_out_jobs.py drain COUNT          queue a job per item 1..COUNT, wait until all are
                                                  processed, print {"seconds": ...}
    python scale_out_jobs.py reset                set every item back to pending
    python scale_out_jobs.py clean                delete every key, queue and exchange the run made
                                                  (all named after NAMESPACE)

Environment: the project's settings (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL or BROKER_URL,
NAMESPACE, UPSTREAM_URL), plus BENCH_PACKAGE and BENCH_DELAY_MS (and, to try another ARQ poll
interval than the generated one, BENCH_ARQ_POLL_DELAY).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import time
from typing import Any

READY = "BENCH_WORKER_READY"


def project(module: str) -> Any:
    return importlib.import_module(f"{os.environ['BENCH_PACKAGE']}.{module}")


def settings() -> Any:
    return project("settings").get_settings()


# ---- the benchmark's resource: one I/O-bound job -------------------------------------------------

# One pooled client per worker process, opened on the worker's event loop on first use.
clients: dict[str, Any] = {}


async def bench_job(context: Any, item_id: int) -> bool:
    if "http" not in clients:
        clients["http"] = project("http_client").create_http_client(settings())
    response = await clients["http"].get(str(settings().upstream_url))
    response.raise_for_status()
    processed: bool = await project("items.jobs").process_item(context, item_id)
    return processed


async def close_client() -> None:
    if "http" in clients:
        await clients.pop("http").aclose()


def resources() -> list[Any]:
    bench = project("registry").Resource(
        name="bench", router=importlib.import_module("fastapi").APIRouter(), jobs=(bench_job,)
    )
    return [*project("resources").RESOURCES, bench]


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


def arq_worker(name: str) -> None:
    from arq.worker import run_worker

    generated = project("runner").worker_settings(settings(), resources())
    startup, shutdown = generated["on_startup"], generated["on_shutdown"]

    async def on_startup(ctx: dict[str, Any]) -> None:
        await startup(ctx)
        print(READY, flush=True)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        await close_client()
        await shutdown(ctx)

    worker_settings = {**generated, "on_startup": on_startup, "on_shutdown": on_shutdown}
    if os.environ.get("BENCH_ARQ_POLL_DELAY"):  # a what-if: the generated worker keeps ARQ's 0.5 s
        worker_settings["poll_delay"] = float(os.environ["BENCH_ARQ_POLL_DELAY"])
    run_worker(worker_settings)


def celery_worker(name: str) -> None:
    from celery.signals import setup_logging, worker_process_shutdown, worker_ready

    app: Any = None

    # Connected before the app's own handler, which closes the runtime the client lives on.
    @worker_process_shutdown.connect(weak=False)
    def close(**_kwargs: object) -> None:
        if "http" in clients:
            app.runtime.run(lambda _context: close_client())

    # As the generated worker.py does: the app's logging, not Celery's handlers.
    @setup_logging.connect(weak=False)
    def use_app_logging(**_kwargs: object) -> None:
        project("logs").configure_logging(settings())

    @worker_ready.connect(weak=False)
    def announce(**_kwargs: object) -> None:
        print(READY, flush=True)

    app = project("runner").create_celery_app(settings(), resources())
    # No mingle or gossip: the broker is shared with other runs, whose workers are not ours.
    app.worker_main(
        ["worker", "--concurrency", "1", "--loglevel", "INFO", "--hostname", name,
         "--without-mingle", "--without-gossip", "--without-heartbeat"]
    )  # fmt: skip


def taskiq_worker(_name: str) -> None:
    asyncio.run(run_taskiq_worker())


async def run_taskiq_worker() -> None:
    from taskiq import TaskiqEvents, TaskiqState
    from taskiq.api import run_receiver_task

    broker = project("runner").create_worker_broker(settings(), resources())

    # After the generated handlers: the worker's context is open.
    @broker.on_event(TaskiqEvents.WORKER_STARTUP)
    def announce(_state: TaskiqState) -> None:
        print(READY, flush=True)

    @broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
    async def close(_state: TaskiqState) -> None:
        await close_client()

    await run_receiver_task(broker, run_startup=True)


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


async def drain(count: int, timeout: float = 600) -> float:
    current = settings()
    # The API's own path: the runner as the lifespan opens it (with no resources to recover,
    # so its sweep schedules nothing), and `enqueue`, many requests at a time.
    async with (
        project("jobs").open_job_context(current) as context,
        project("runner").open_runner(current, context, []) as runner,
    ):
        t0 = time.perf_counter()
        for start in range(1, count + 1, 200):
            stop = min(start + 200, count + 1)
            await asyncio.gather(*(runner.enqueue(bench_job, i) for i in range(start, stop)))
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


def clean() -> None:
    """Everything the run made is named after NAMESPACE: remove it all."""
    current = settings()
    # The setting of the runner's broker (profiles.yml, passed by scale_out.py).
    broker = str(getattr(current, os.environ["BENCH_BROKER_URL_SETTING"], "") or "")
    if broker.startswith("amqp"):
        RABBITMQ_CLEANERS[os.environ["BENCH_TASKS"]](current, broker)
    if getattr(current, "redis_url", None):
        from redis import Redis

        # Celery's keys and Taskiq's stream carry the prefix; ARQ's per-job keys have the job id,
        # which starts with it.
        patterns = [f"{current.namespace}:*", f"arq:*:{current.namespace}:*"]
        with Redis.from_url(current.redis_url) as redis:
            keys = [key for p in patterns for key in redis.scan_iter(match=p, count=1000)]
            for start in range(0, len(keys), 1000):
                redis.delete(*keys[start : start + 1000])


def clean_celery_rabbitmq(current: Any, broker: str) -> None:
    from kombu import Connection, Exchange, Queue

    queue = project("jobs").queue_name(current)
    with Connection(broker) as connection:
        channel = connection.default_channel
        Queue(queue, channel=channel).delete()
        # The task exchange, and remote control's and events' exchanges (the workers'
        # own pidbox queues are auto-deleted when they disconnect).
        for exchange in (queue, f"{queue}.pidbox", f"reply.{queue}.pidbox", f"{queue}.events"):
            Exchange(exchange, channel=channel).delete()


def clean_taskiq_rabbitmq(current: Any, broker: str) -> None:
    import aio_pika

    async def remove() -> None:
        queue = project("jobs").queue_name(current)
        async with await aio_pika.connect(broker) as connection:
            channel = await connection.channel()
            # The job queue, its dead-letter queue and its exchange.
            for name in (queue, f"{queue}.dead_letter"):
                await channel.queue_delete(name)
            await channel.exchange_delete(queue)

    asyncio.run(remove())


# The worker of each task runner (BENCH_TASKS, passed by scale_out.py), given the worker's name,
# and what each leaves on RabbitMQ.
WORKERS = {"arq": arq_worker, "celery": celery_worker, "taskiq": taskiq_worker}
RABBITMQ_CLEANERS = {"celery": clean_celery_rabbitmq, "taskiq": clean_taskiq_rabbitmq}


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "upstream":
        upstream(int(args[0]))
    elif command == "worker":
        WORKERS[os.environ["BENCH_TASKS"]](args[0])
    elif command == "drain":
        print(json.dumps({"seconds": asyncio.run(drain(int(args[0])))}))
    elif command == "reset":
        asyncio.run(reset())
    elif command == "clean":
        clean()
    else:
        raise SystemExit(f"unknown command {command!r}\n{__doc__}")


if __name__ == "__main__":
    # Run as the module `scale_out_jobs`, not `__main__`: a job's name is `<module>.<qualname>`,
    # and the workers and the feeder must agree on it.
    importlib.import_module("scale_out_jobs").main(sys.argv[1:])
