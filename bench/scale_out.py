"""Does the Kubernetes design scale out, and does a pod shut down without failing a request?

Kubernetes is not on this machine, but the processes it would run are (issue 16):

1. **Workers scale out.** 1, 2 and 4 worker processes of a generated ARQ project, and of a Celery
   project on Redis and on RabbitMQ, drain the same batch of I/O-bound jobs against the same
   PostgreSQL and broker. Reported: jobs/s, and the ratio per doubling (target >= 1.8).
2. **An API pod drains.** Two API processes behind haproxy (Debian's package) serve wrk's load;
   one gets SIGTERM. Checked: no request fails, readiness answers 503 while the process drains,
   it still serves meanwhile, and it exits through uvicorn's graceful shutdown (no request cut).

    .venv/bin/python bench/scale_out.py                   # both, ~10 min (2,000 jobs of 20 ms)
    .venv/bin/python bench/scale_out.py --jobs 200 --workers 1,2 --runners arq --drain-seconds 6

Needs uv, wrk and haproxy (`apt-get install -y wrk haproxy`), PostgreSQL on 127.0.0.1:5432,
Redis on 6379 and RabbitMQ on 5672. Everything it creates (a database, Redis keys, a RabbitMQ
queue) is removed at the end. The projects are rendered from the committed template (HEAD).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: bench/scale_out.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import pytest

from bench.common import BENCH, ROOT
from bench.prepare import Database, Project, generate
from profiles import broker_choices, choice_values, load
from projects import POSTGRES_URL, RABBITMQ_URL, REDIS_URL, Combo, free_port, run, started
from projects import wait_for as wait_until

# Each runner with a worker on each broker it offers (profiles.yml), keyed `arq`, `celery-redis`.
RUNNERS = {
    "-".join(filter(None, (tasks, broker))): Combo("postgresql", "none", tasks, broker)
    for tasks in choice_values("tasks")
    if load()["tasks"][tasks]["worker"]
    for broker in broker_choices(tasks)
}
TARGET_RATIO = 1.8


def log(message: str) -> None:
    print(f"[scale-out {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def http_status(url: str) -> int | None:
    """The status of GET url, or None when nothing answers."""
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return None


def answers(url: str) -> Callable[[], bool]:
    """A check for `wait_for`: does GET url answer 200?"""
    return lambda: http_status(url) == 200


class Processes:
    """Child processes, each in its own process group (tests/projects.py `started`) and
    logging to its own file, all stopped on the way out."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.stack = contextlib.ExitStack()

    def start(
        self, name: str, cmd: list[str], env: dict[str, str], cwd: Path
    ) -> subprocess.Popen[bytes]:
        return self.stack.enter_context(started(cmd, cwd, env, self.logs / f"{name}.log"))

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def wait_for(
        self, check: Callable[[], object], what: str, names: list[str], timeout: float
    ) -> None:
        wait_until(check, what, [self.logs / f"{name}.log" for name in names], timeout, 0.05)

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 60) -> int:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        return process.returncode

    def stop_all(self) -> None:
        self.stack.close()


@dataclass
class Setup:
    projects: dict[str, Project]
    base_env: dict[str, str]
    processes: Processes
    work: Path

    def env(self, project: Project, **extra: str) -> dict[str, str]:
        env = {
            **self.base_env,
            "BENCH_PACKAGE": project.package,
            "PYTHONPATH": str(BENCH),
            **extra,
        }
        combo = RUNNERS[project.key]
        env["BENCH_TASKS"] = combo.tasks
        env["BENCH_BROKER_URL_SETTING"] = combo.runner["broker_url_setting"]
        if combo.queue_broker == "rabbitmq":
            env[combo.runner["broker_url_setting"].upper()] = self.base_env["BENCH_RABBITMQ_URL"]
        env.pop("VIRTUAL_ENV", None)
        return env

    def tool(self, project: Project, *args: str) -> str:
        cmd = [project.python, str(BENCH / "scale_out_jobs.py"), *args]
        return run(cmd, project.path, self.env(project))


# ---- 1. workers ----------------------------------------------------------------------------------


def start_workers(
    setup: Setup, project: Project, count: int, tag: str
) -> list[subprocess.Popen[bytes]]:
    workers = []
    names = [f"{project.key}-{tag}-w{i}" for i in range(count)]
    # The benchmark's job calls the upstream: the project's UPSTREAM_URL, set for the workers only.
    env = setup.env(project, UPSTREAM_URL=setup.base_env["BENCH_UPSTREAM_URL"])
    for name in names:
        cmd = [project.python, str(BENCH / "scale_out_jobs.py"), "worker", f"{name}@bench"]
        workers.append(setup.processes.start(name, cmd, env, project.path))
    ready = "BENCH_WORKER_READY"  # printed by scale_out_jobs.py once a worker takes jobs

    def all_ready() -> bool:
        for name, worker in zip(names, workers, strict=True):
            if worker.poll() is not None:
                raise SystemExit(f"worker {name} exited:\n{setup.processes.log_text(name)[-3000:]}")
        return all(ready in setup.processes.log_text(name) for name in names)

    setup.processes.wait_for(all_ready, f"{count} {project.key} workers", names[:1], 60)
    return workers


def tree_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes and their live descendants (Celery's pool)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
                times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = set(pids), list(pids)
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(times.get(pid, 0.0) for pid in tree)


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat."""
    values = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class Drained:
    rate: float  # jobs/s
    worker_cpu_ms: float  # CPU of the worker processes per job
    machine_busy: float  # share of the machine's CPU in use during the run, every process included


def scale_out(
    setup: Setup, runners: list[str], counts: list[int], jobs: int
) -> dict[str, dict[int, Drained]]:
    results: dict[str, dict[int, Drained]] = {}
    for key in runners:
        project = setup.projects[key]
        results[key] = {}
        for count in counts:
            setup.tool(project, "reset")
            workers = start_workers(setup, project, count, f"{count}x")
            pids = [worker.pid for worker in workers]
            cpu_before, (busy_before, total_before) = tree_cpu_seconds(pids), machine_busy()
            # The last line: a job the runner could not queue is logged before it.
            drained = setup.tool(project, "drain", str(jobs)).strip().splitlines()[-1]
            seconds = json.loads(drained)["seconds"]
            cpu_after, (busy_after, total_after) = tree_cpu_seconds(pids), machine_busy()
            for worker in workers:
                setup.processes.stop(worker)
            setup.tool(project, "clean")
            result = Drained(
                rate=jobs / seconds,
                worker_cpu_ms=(cpu_after - cpu_before) * 1000 / jobs,
                machine_busy=(busy_after - busy_before) / (total_after - total_before),
            )
            results[key][count] = result
            log(
                f"{key}: {count} worker(s) drained {jobs} jobs in {seconds:.2f} s, "
                f"{result.rate:.1f}/s, worker CPU {result.worker_cpu_ms:.1f} ms/job, "
                f"machine {result.machine_busy:.0%} busy"
            )
    return results


# ---- 2. an API process drains behind haproxy ----------------------------------------------------

HAPROXY = """\
global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
frontend api
    bind 127.0.0.1:{port}
    default_backend apis
backend apis
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    server a 127.0.0.1:{a} check
    server b 127.0.0.1:{b} check
"""


def drain_test(setup: Setup, seconds: int, drain_window: float) -> dict[str, Any]:
    project = setup.projects.get("arq") or next(iter(setup.projects.values()))
    ports = {"a": free_port(), "b": free_port()}
    apis = {}
    for name, port in ports.items():
        env = setup.env(
            project,
            PORT=str(port),
            HOST="127.0.0.1",
            SHUTDOWN_DRAIN_SECONDS=str(drain_window),
            SHUTDOWN_TIMEOUT_SECONDS="20",
            # Each request leaves a line: the drained process's log shows what it served.
            ACCESS_LOG="true",
        )
        apis[name] = setup.processes.start(
            f"api-{name}", [project.python, "-m", project.package], env, project.path
        )
    for name, port in ports.items():
        url = f"http://127.0.0.1:{port}/health/ready"
        setup.processes.wait_for(answers(url), f"api {name}", [f"api-{name}"], 60)
    front = free_port()
    config = setup.work / "haproxy.cfg"
    config.write_text(HAPROXY.format(port=front, **ports))
    haproxy = setup.processes.start(
        "haproxy", ["haproxy", "-db", "-f", str(config)], setup.base_env, setup.work
    )
    setup.processes.wait_for(
        answers(f"http://127.0.0.1:{front}/items/1"), "haproxy", ["haproxy"], 30
    )

    script = BENCH / "wrk" / "report.lua"
    wrk = subprocess.Popen(
        [
            "wrk",
            "-t1",
            "-c32",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{front}/items/1",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(seconds / 3)
    victim, port = apis["a"], ports["a"]
    sent = time.monotonic()
    victim.send_signal(signal.SIGTERM)
    readiness: list[tuple[float, int | None]] = []
    live_while_draining = []
    ready_url, live_url = (f"http://127.0.0.1:{port}/health/{probe}" for probe in ("ready", "live"))
    while victim.poll() is None:
        readiness.append((time.monotonic() - sent, http_status(ready_url)))
        if readiness[-1][1] == 503:
            live = http_status(live_url)
            # Unanswered because the drain window ended and the listener closed in between (the
            # readiness probe is unanswered too): the process is exiting, which is no failure.
            if live is not None or http_status(ready_url) is not None:
                live_while_draining.append(live)
        time.sleep(0.1)
    exited_after = time.monotonic() - sent
    output, _ = wrk.communicate(timeout=seconds + 30)
    setup.processes.stop(haproxy)
    for api in apis.values():
        setup.processes.stop(api)

    report = json.loads(output.split("BENCH_JSON ", 1)[1].splitlines()[0])
    victim_log = setup.processes.log_text("api-a")
    served_after = victim_log.split("draining before shutdown", 1)[-1].count(
        "GET /items/1 HTTP/1.1"
    )
    draining = [status for _, status in readiness if status == 503]
    result = {
        "requests": report["requests"],
        "errors": report["errors"],
        "readiness_503_polls": len(draining),
        "readiness_polls": len(readiness),
        "live_while_draining": sorted(set(live_while_draining), key=str),
        "served_while_draining": served_after,
        "exited_after_s": round(exited_after, 2),
        "exit_code": victim.returncode,
        "graceful": "Finished server process" in victim_log and "Cancel " not in victim_log,
    }
    failed = sum(report["errors"].values())
    result["passed"] = (
        failed == 0
        and len(draining) > 0
        and result["graceful"]
        and set(live_while_draining) <= {200}
    )
    log(f"drain: {json.dumps(result)}")
    return result


# ---- setup, report -------------------------------------------------------------------------------


@contextlib.contextmanager
def prepared(args: argparse.Namespace, runners: list[str], work: Path) -> Iterator[Setup]:
    processes = Processes(work)
    tag = secrets.token_hex(4)
    database = Database.named("postgresql", f"fastgen_scale_{tag}", args.pg, work)
    base_env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database.url,
        "REDIS_URL": f"{args.redis}/{args.redis_db}",
        "NAMESPACE": f"fastgen-scale-{tag}",
        "BENCH_RABBITMQ_URL": args.rabbitmq,
        "BENCH_DELAY_MS": str(args.delay_ms),
    }
    if args.arq_poll_delay is not None:
        base_env["BENCH_ARQ_POLL_DELAY"] = str(args.arq_poll_delay)
    projects = {}
    for key in runners:
        log(f"rendering and installing {key}")
        projects[key] = generate(ROOT, work / key, key, RUNNERS[key], compile_bytecode=True)
    first = next(iter(projects.values()))
    setup = Setup(projects, base_env, processes, work)
    try:
        database.create(first, args.jobs)
        upstream_port = free_port()
        base_env["BENCH_UPSTREAM_URL"] = f"http://127.0.0.1:{upstream_port}/"
        processes.start(
            "upstream",
            [first.python, str(BENCH / "scale_out_jobs.py"), "upstream", str(upstream_port)],
            setup.env(first),
            work,
        )
        processes.wait_for(
            answers(base_env["BENCH_UPSTREAM_URL"]),
            "the upstream",
            ["upstream"],
            30,
        )
        yield setup
    finally:
        processes.stop_all()
        for project in projects.values():
            with contextlib.suppress(pytest.fail.Exception):
                setup.tool(project, "clean")
        database.drop(first)


def markdown(
    args: argparse.Namespace, scaling: dict[str, dict[int, Drained]], drain: dict[str, Any] | None
) -> str:
    lines = []
    if scaling:
        counts = sorted(next(iter(scaling.values())))
        lines += [
            f"{args.jobs} jobs, each a {args.delay_ms} ms upstream call then the generated job's "
            "write; jobs/s from the first job queued to the last one processed.",
            "",
            "| runner | "
            + " | ".join(f"{c} worker{'s' * (c > 1)}" for c in counts)
            + " | "
            + " | ".join(f"{b}/{a}" for a, b in pairwise(counts))
            + " |",
            "|---" * (2 * len(counts)) + "|",
        ]
        for key, runs in scaling.items():
            ratios = [runs[b].rate / runs[a].rate for a, b in pairwise(counts)]
            marks = [f"{r:.2f}x" + ("" if r >= TARGET_RATIO else " (miss)") for r in ratios]
            lines.append(
                f"| {key} | "
                + " | ".join(f"{runs[c].rate:.0f}/s" for c in counts)
                + " | "
                + " | ".join(marks)
                + " |"
            )
        lines += [
            "",
            "| runner | worker CPU per job, machine busy: "
            + ", ".join(map(str, counts))
            + " workers |",
            "|---|---|",
        ]
        for key, runs in scaling.items():
            cells = [f"{runs[c].worker_cpu_ms:.1f} ms, {runs[c].machine_busy:.0%}" for c in counts]
            lines.append(f"| {key} | " + " / ".join(cells) + " |")
    if drain:
        errors = ", ".join(f"{k} {v}" for k, v in drain["errors"].items())
        lines += [
            "",
            f"Drain: {drain['requests']} requests through haproxy, errors: {errors}; readiness 503 "
            f"in {drain['readiness_503_polls']} of {drain['readiness_polls']} polls while draining "
            f"(liveness {drain['live_while_draining']}); {drain['served_while_draining']} requests "
            f"served after SIGTERM; exited {drain['exited_after_s']} s after SIGTERM, graceful: "
            f"{drain['graceful']}. "
            f"{'PASS' if drain['passed'] else 'FAIL'}.",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--delay-ms", type=int, default=20)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--runners", default=",".join(RUNNERS), help=", ".join(RUNNERS))
    parser.add_argument(
        "--drain-seconds", type=int, default=12, help="wrk duration; 0 skips the drain test"
    )
    parser.add_argument("--drain-window", type=float, default=3.0, help="SHUTDOWN_DRAIN_SECONDS")
    parser.add_argument("--no-scale", action="store_true", help="only the drain test")
    parser.add_argument(
        "--arq-poll-delay", type=float, help="a what-if: another ARQ poll_delay than generated"
    )
    parser.add_argument("--pg", default=POSTGRES_URL)
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--rabbitmq", default=RABBITMQ_URL)
    args = parser.parse_args()
    runners = [r for r in args.runners.split(",") if r]
    if unknown := set(runners) - set(RUNNERS):
        raise SystemExit(f"unknown runners: {', '.join(sorted(unknown))}")
    tools = ["uv"] + (["wrk", "haproxy"] if args.drain_seconds else [])
    if missing := [tool for tool in tools if shutil.which(tool) is None]:
        raise SystemExit(f"missing: {', '.join(missing)} (apt-get install -y wrk haproxy)")
    counts = [int(c) for c in args.workers.split(",")]

    with (
        tempfile.TemporaryDirectory(prefix="fastgen-scale-") as tmp,
        prepared(args, runners, Path(tmp)) as setup,
    ):
        scaling = {} if args.no_scale else scale_out(setup, runners, counts, args.jobs)
        drain = (
            drain_test(setup, args.drain_seconds, args.drain_window) if args.drain_seconds else None
        )
    print(markdown(args, scaling, drain))
    missed = any(
        runs[b].rate / runs[a].rate < TARGET_RATIO
        for runs in scaling.values()
        for a, b in pairwise(counts)
    )
    if drain is not None and not drain["passed"]:
        raise SystemExit("the drain test failed")
    if missed:
        log(f"a doubling gave less than {TARGET_RATIO}x: see the table")


if __name__ == "__main__":
    try:
        main()
    except pytest.fail.Exception as exc:  # a helper from tests/projects.py gave up
        raise SystemExit(str(exc)) from None
