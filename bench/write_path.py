"""What a POST's two write-path changes are worth: paired, in one process (issue 24).

Run with the interpreter of a generated project on ARQ (like post_waits.py), its settings in the
environment, from the project's directory:

    python write_path.py --package bench_app [--rounds 10] [--requests 300]

`POST /items` is called in-process (asgi_cost.py's Lifespan and Caller), in rounds that
alternate, request for request the same, between the app as generated and the app with one
step put back as it was:

- `insert per request`: the INSERT built per request from the body's values, as before it was
  built once with its values bound at execution;
- `arq enqueue_job`: a new job queued by ARQ's `enqueue_job` (WATCH, EXISTS, then MULTI/EXEC),
  as before it was written in one MULTI/EXEC;
- `both as before`: the two together, the POST as it was.

Reported per variant: the median CPU µs per request (time.process_time) and the median of
the per-round ratios of the generated app to it, as JSON on stdout (BENCH_JSON ...).
"""

import argparse
import asyncio
import importlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asgi_cost import Caller, Lifespan, load_app

Replacement = tuple[Any, str, Any]  # (owner, attribute, the step as it was)


def variants(package: str) -> dict[str, list[Replacement]]:
    """Each step as it was, and both."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    service = importlib.import_module(".items.service", package)
    runner = importlib.import_module(".runner", package)

    async def insert_per_request(connections: Any, data: Any) -> Any:
        statement = insert(service.Item).values(**data.model_dump()).returning(*service.COLUMNS)
        try:
            async with connections() as connection:
                return (await connection.execute(statement)).mappings().one()
        except IntegrityError as exc:
            raise service.ItemConflict from exc

    async def enqueue_job(self: Any, name: str, args: Any, kwargs: Any, job_id: Any) -> None:
        job_id = job_id or f"{self._namespace}:{uuid4().hex}"
        await self.queue.enqueue_job(name, *args, _job_id=job_id, **kwargs)

    insert_step = (service, "create_item", insert_per_request)
    enqueue_step = (runner.Runner, "_put", enqueue_job)
    return {
        "insert per request": [insert_step],
        "arq enqueue_job": [enqueue_step],
        "both as before": [insert_step, enqueue_step],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    app = load_app(f"{args.package}.main:app")
    steps = variants(args.package)
    cpu: dict[str, list[float]] = {"generated": [], **{name: [] for name in steps}}
    ratios: dict[str, list[float]] = {name: [] for name in steps}
    async with Lifespan(app) as state:
        caller = Caller(app, state, access_log=False)
        counter = 0

        async def posts(count: int) -> float:
            nonlocal counter
            start = time.process_time()
            for _ in range(count):
                counter += 1
                body = json.dumps({"name": f"write-path-{os.getpid()}-{counter}"}).encode()
                if (status := await caller("POST", "/items", body)) != 201:
                    raise SystemExit(f"POST /items -> {status}")
            return (time.process_time() - start) / count * 1e6

        await posts(200)  # warm-up: pools open, statements prepared
        for _ in range(args.rounds):
            as_generated = await posts(args.requests)
            cpu["generated"].append(as_generated)
            for name, replacements in steps.items():
                generated = [
                    (owner, attribute, getattr(owner, attribute))
                    for owner, attribute, _ in replacements
                ]
                for owner, attribute, replacement in replacements:
                    setattr(owner, attribute, replacement)
                try:
                    cpu[name].append(await posts(args.requests))
                finally:
                    for owner, attribute, original in generated:
                        setattr(owner, attribute, original)
                ratios[name].append(as_generated / cpu[name][-1])
    return {
        "cpu_us_per_request": {name: statistics.median(v) for name, v in cpu.items()},
        "generated_over_variant": {name: statistics.median(v) for name, v in ratios.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    print("BENCH_JSON " + json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
