"""What makes a read's p99 high (issue 24): garbage collection and pool checkouts, in-process.

Run with the interpreter of the generated project, its settings in the environment, from its
directory (like asgi_cost.py):

    python read_tails.py --app bench_app.main:app --ids 10000 [--concurrency 64]
        [--requests 4000] [--rounds 3]

Reads `GET /items/{id}` of random seeded ids, `--concurrency` at a time, through the app called
in-process. Every collection is timed through `gc.callbacks`, every pool checkout
(`AsyncConnection.start`) and every request by wall time. Rounds alternate the collector as the
app leaves it and `gc.disable()`, in one process. Reported per round: p50, p99 and p99/p50 of
the requests, the collections by generation with their total and longest pause, the checkouts'
p50 and p99, and the share of the slowest 1 % of requests that overlapped a collection, as JSON
on stdout (BENCH_JSON ...).
"""

import argparse
import asyncio
import gc
import random
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from asgi_cost import Caller, Lifespan, load_app, report

PAUSES: list[tuple[int, float, float]] = []  # generation, start, end
_started: dict[int, float] = {}


def on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[info["generation"]] = time.perf_counter()
    else:
        generation = info["generation"]
        PAUSES.append(
            (generation, _started.pop(generation, time.perf_counter()), time.perf_counter())
        )


CHECKOUTS: list[float] = []


def time_checkouts() -> None:
    from sqlalchemy.ext.asyncio import AsyncConnection

    original = AsyncConnection.start

    async def start(self: Any, *args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            CHECKOUTS.append(time.perf_counter() - begin)

    AsyncConnection.start = start  # type: ignore[method-assign]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


async def run(args: argparse.Namespace) -> dict[str, Any]:
    time_checkouts()
    gc.callbacks.append(on_gc)
    app = load_app(args.app)
    report: dict[str, Any] = {}
    rng = random.Random(24)
    async with Lifespan(app) as state:
        caller = Caller(app, state, access_log=False)
        for _ in range(200):
            await caller("GET", f"/items/{rng.randint(1, args.ids)}", b"")
        connections = state["connections"]
        gate = asyncio.Semaphore(args.gate or 1)

        @asynccontextmanager
        async def gated() -> AsyncIterator[Any]:
            async with gate, connections() as connection:
                yield connection

        for round_number in range(args.rounds * 2):
            a_round = round_number % 2 == 0
            collector_on = a_round or bool(args.gate)
            gated_round = bool(args.gate) and not a_round
            caller.state["connections"] = gated if gated_round else connections
            if collector_on:
                gc.enable()
            else:
                gc.disable()
            PAUSES.clear()
            CHECKOUTS.clear()
            spans: list[tuple[float, float]] = []
            left = args.requests

            async def worker(spans: list[tuple[float, float]] = spans) -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    begin = time.perf_counter()
                    status = await caller("GET", f"/items/{rng.randint(1, args.ids)}", b"")
                    spans.append((begin, time.perf_counter()))
                    if status != 200:
                        raise SystemExit(f"GET /items/... -> {status}")

            cpu0 = time.process_time()
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            cpu = time.process_time() - cpu0
            gc.enable()
            walls = [end - begin for begin, end in spans]
            p50, p99 = quantile(walls, 0.5), quantile(walls, 0.99)
            slow = [span for span in spans if span[1] - span[0] >= p99]
            overlapped = sum(
                any(start < end_ and stop > begin for _, start, stop in PAUSES)
                for begin, end_ in slow
            )
            by_generation: dict[str, dict[str, float]] = {}
            for generation, start, stop in PAUSES:
                entry = by_generation.setdefault(
                    str(generation), {"count": 0, "total_ms": 0.0, "max_ms": 0.0}
                )
                entry["count"] += 1
                entry["total_ms"] += (stop - start) * 1e3
                entry["max_ms"] = max(entry["max_ms"], (stop - start) * 1e3)
            mode = f"gate of {args.gate}" if gated_round else "as generated"
            if not args.gate:
                mode = f"collector {'on' if collector_on else 'off'}"
            report[f"{round_number}: {mode}"] = {
                "p50_ms": p50 * 1e3,
                "p99_ms": p99 * 1e3,
                "p99_over_p50": p99 / p50,
                "cpu_us_per_request": cpu / len(spans) * 1e6,
                "collections": by_generation,
                "checkout_p50_ms": quantile(CHECKOUTS, 0.5) * 1e3,
                "checkout_p99_ms": quantile(CHECKOUTS, 0.99) * 1e3,
                "slowest_1pct_overlapping_a_collection": overlapped / max(len(slow), 1),
            }
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--ids", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--gate",
        type=int,
        default=0,
        help="instead of the collector, alternate rounds with a FIFO asyncio.Semaphore of this "
        "size around each connection checkout",
    )
    args = parser.parse_args()
    report(lambda: run(args))


if __name__ == "__main__":
    main()
