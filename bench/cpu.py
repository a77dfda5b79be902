"""In-process CPU per request: each server's app called directly through ASGI by
asgi_cost.py, with the interpreter of the project that serves it; one process per server,
its endpoints one after the other. It leaves out sockets and HTTP parsing, and the database's
and Redis's own CPU, so it is steadier than HTTP load on a shared machine."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from bench.common import BENCH, cpu_sets, log, pinned, tail
from bench.servers import Fleet
from conftest import user_env


@dataclass(frozen=True)
class Batches:
    seconds: float
    batches: int
    warmup: int


def asgi_costs(fleet: Fleet, batches: Batches) -> dict[str, Any]:
    server_cores, _ = cpu_sets()
    out: dict[str, Any] = {}
    for launch in fleet.launches:
        mine = [m for m in fleet.measures if m.server == launch.server.key]
        if not mine:
            continue
        spec = [
            {
                "name": m.key,
                "method": m.method,
                "path": m.path,
                "status": m.status,
                "post_items": m.post,
            }
            for m in mine
        ]
        cmd = [
            launch.cmd[0],
            str(BENCH / "asgi_cost.py"),
            "--app",
            launch.asgi_app,
            "--spec",
            json.dumps(spec),
            "--seconds",
            str(batches.seconds),
            "--batches",
            str(batches.batches),
            "--warmup",
            str(batches.warmup),
        ]
        if launch.server.access_log:
            cmd.append("--access-log")
        log_path = fleet.logs / f"asgi-{launch.server.key}.log"
        with log_path.open("wb") as err:
            result = subprocess.run(
                pinned(server_cores, cmd),
                cwd=launch.cwd,
                env={**user_env(), **launch.env, "PORT": "8000"},
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        if result.returncode != 0:
            raise SystemExit(f"asgi_cost for {launch.server.key} failed:\n{tail(log_path)}")
        line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON "))
        for item in json.loads(line[len("BENCH_JSON ") :]):
            out[item["name"]] = item["batches"]
        if any(m.post for m in mine):
            fleet.table.reset()
    log("in-process costs measured")
    return out
