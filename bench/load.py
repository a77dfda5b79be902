"""Load: wrk against every endpoint, in interleaved rounds, each server pinned to one core and
wrk to the other.

Per round every server is started, every endpoint checked (right status; `X-Cache: HIT` before
and after a cache-hit measurement), then measured: `warmup` seconds of wrk thrown away, then
`duration` seconds kept. Each round starts one endpoint further along the list, so no endpoint
always runs first or last. Rows written by `POST /items` are deleted after each POST run.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from bench.common import BENCH, ROOT, cpu_sets, log, pinned, tail
from bench.scenarios import Measure
from bench.servers import Fleet, Running, serve_all
from projects import run


@dataclass(frozen=True)
class Load:
    duration: int
    warmup: int
    rounds: int
    connections: int


def wrk(
    server: Running, m: Measure, seconds: float, connections: int, cores: str | None
) -> dict[str, Any]:
    script = BENCH / "wrk" / ("post_items.lua" if m.post else "report.lua")
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds
        "--timeout",
        "5s",
        "-s",
        str(script),
        server.base + m.path,
    ]
    stdout = run(pinned(cores, cmd), ROOT, {"BENCH_PREFIX": f"wrk-{secrets.token_hex(6)}"})
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line[len("BENCH_JSON ") :])
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
            return data
    raise SystemExit(f"no result from wrk:\n{stdout}")


def check(server: Running, m: Measure) -> None:
    """One request before the load: right status, and a cache hit where one is expected."""
    if m.post:
        return
    response = httpx.get(server.base + m.path, timeout=5)
    if response.status_code != m.status:
        raise SystemExit(
            f"{m.key}: GET {m.path} -> {response.status_code}: {response.text[:300]}\n"
            f"{tail(server.log)}"
        )
    if m.cache_hit:
        cache = httpx.get(server.base + m.path, timeout=5).headers.get("x-cache")
        if cache != "HIT":
            raise SystemExit(f"{m.key}: expected a cache hit, got X-Cache={cache}")


def run_rounds(fleet: Fleet, load: Load) -> dict[str, Any]:
    server_cores, load_cores = cpu_sets()
    # While the rounds run, this process (wrk's parent, the readiness polls) stays off the
    # server's core; then it has every core back, for the generated suite's timing.
    cores = os.sched_getaffinity(0) if load_cores else None
    if load_cores:
        os.sched_setaffinity(0, {int(load_cores)})
    try:
        rounds = _rounds(fleet, load, server_cores, load_cores)
    finally:
        if cores is not None:
            os.sched_setaffinity(0, cores)
    return {"pinning": {"server": server_cores, "load": load_cores}, "rounds": rounds}


def _rounds(
    fleet: Fleet, load: Load, server_cores: str | None, load_cores: str | None
) -> list[dict[str, Any]]:
    rounds: list[dict[str, Any]] = []
    for r in range(load.rounds):
        log(f"round {r + 1}/{load.rounds}")
        measures = fleet.measures
        with serve_all(fleet.launches, server_cores, fleet.logs, f"r{r}") as servers:
            for m in measures:
                check(servers[m.server], m)
            shift = r % len(measures)
            order = measures[shift:] + measures[:shift]
            results: dict[str, Any] = {}
            for m in order:
                server = servers[m.server]
                if load.warmup > 0:
                    wrk(server, m, load.warmup, load.connections, load_cores)
                result = wrk(server, m, load.duration, load.connections, load_cores)
                if errors := sum(result["errors"].values()):
                    raise SystemExit(
                        f"{m.key}: {errors} errors under load: {result['errors']}\n"
                        f"{tail(server.log)}"
                    )
                if m.post:
                    fleet.table.reset()
                if m.cache_hit:
                    check(server, m)
                results[m.key] = result
                latency = result["latency_us"]
                log(
                    f"  {m.key:<20} {result['rps']:>9.0f} req/s"
                    f"  p50 {latency['p50'] / 1000:.2f} ms  p99 {latency['p99'] / 1000:.2f} ms"
                )
            rounds.append(
                {
                    "order": [m.key for m in order],
                    "results": results,
                    "peak_rss_kib": {key: s.peak_rss_kib() for key, s in servers.items()},
                    "startup_s": {key: s.startup_s for key, s in servers.items()},
                }
            )
    return rounds
