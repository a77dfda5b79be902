"""CPU µs per request of each middleware layer of a generated app (issue 24), in-process.

Run with the interpreter of the generated project, from its directory (like asgi_cost.py):

    python middleware_cost.py --package bench_app[,other_app ...] [--src DIR ...]
        [--path /health/live] [--rounds 15]

Builds the app several times (`create_app()`), each with its user middleware list cut down to
one variant: as generated; without each layer in turn; with none (Starlette's own error and
exception layers only). Variants run in interleaved rounds of sequential requests in one
process, each request's CPU time taken with `time.thread_time()`; the median over rounds of a
round's mean is reported, as JSON on stdout (BENCH_JSON ...). A layer's cost is the
difference between the app as generated and the app without it. Several packages (e.g. the
same project rendered from two versions of the template, under two names, their src/ given
with --src) are measured in the same rounds, in the same process.
"""

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asgi_cost import Caller


def variants(package: str) -> dict[str, Any]:
    main = importlib.import_module(".main", package)

    def build(keep: Any) -> Any:
        app = main.create_app()
        app.user_middleware[:] = [m for m in app.user_middleware if keep(m.cls.__name__)]
        return app

    names = [m.cls.__name__ for m in main.create_app().user_middleware]
    apps = {f"{package}: as generated: " + " > ".join(names): build(lambda _name: True)}
    for name in names:
        apps[f"{package}: without {name}"] = build(lambda n, name=name: n != name)
    apps[f"{package}: none (Starlette's own layers)"] = build(lambda _name: False)
    return apps


def allow_duplicate_metrics() -> None:
    """Two packages of one project both register its process-wide metrics in the default
    registry: the second's are left out of it, which nothing here scrapes."""
    from prometheus_client.registry import CollectorRegistry

    register = CollectorRegistry.register

    def register_once(self: Any, collector: Any) -> None:
        with contextlib.suppress(ValueError):  # DuplicateTimeseries
            register(self, collector)

    CollectorRegistry.register = register_once  # type: ignore[method-assign]


async def run(args: argparse.Namespace) -> dict[str, float]:
    if "," in args.package:
        allow_duplicate_metrics()
    apps = {
        name: app for package in args.package.split(",") for name, app in variants(package).items()
    }
    callers = {name: Caller(app, {}, access_log=False) for name, app in apps.items()}
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for caller in callers.values():
        for _ in range(200):
            assert await caller("GET", args.path, b"") == 200
    for _ in range(args.rounds):
        for name, caller in callers.items():
            cpu = time.thread_time()
            for _ in range(args.requests):
                await caller("GET", args.path, b"")
            samples[name].append((time.thread_time() - cpu) / args.requests * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    parser.add_argument("--src", action="append", default=[])
    parser.add_argument("--path", default="/health/live")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    sys.path[:0] = [os.getcwd(), *args.src]
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(run(args))
    print("BENCH_JSON " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
