"""No lost job: a worker SIGKILLed in the middle of a job, and the job completes on the next one.

Each worker kind runs as `make worker` runs it, on the real broker. The test holds an update
on the item's row (a row lock; on SQLite the database's write lock), so the job is still
running, waiting for the row, when its worker is killed; then it lets the row go and starts
another worker. The queue down at POST, and an in-process job dying with its process, are
proven by every generated project's own tests (tests/test_jobs.py), run by test_matrix.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from projects import (
    COMBOS,
    SERVED,
    Combo,
    free_port,
    fresh_database,
    install,
    project_env,
    removed_after,
    require_services,
    run,
    services_for,
    started,
    wait_for,
)
from test_update import commit_all
from test_update import status as git_status

pytestmark = pytest.mark.e2e

# Each worker on each broker it runs on, in the first served combination that has it, else the
# first of all: at the default switches, where a write needs no token.
_FIRST: dict[tuple[str, str | None], Combo] = {}
for _combo in [*SERVED, *COMBOS]:
    if _combo.worker:
        _FIRST.setdefault((_combo.tasks, _combo.queue_broker), _combo)
KILLED = list(_FIRST.values())

LOCK_ROW = """
import asyncio, sys
from sqlalchemy import update
from orders.db import create_engine
from orders.items.models import Item
from orders.settings import Settings

async def main() -> None:
    engine = create_engine(Settings())
    async with engine.connect() as connection:
        lock = update(Item).where(Item.id == int(sys.argv[1])).values(description="locked")
        await connection.execute(lock)
        print("locked", flush=True)
        await asyncio.to_thread(sys.stdin.read)
        await connection.rollback()
    await engine.dispose()

asyncio.run(main())
"""


@contextmanager
def row_locked(project: Path, env: dict[str, str], item_id: int) -> Iterator[None]:
    """Hold an update on the item's row until the block ends."""
    python = project / ".venv" / "bin" / "python"
    with subprocess.Popen(
        [python, "-c", LOCK_ROW, str(item_id)],
        cwd=project,
        env=project_env(env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdin is not None
        try:
            assert holder.stdout.readline().strip() == "locked"
            yield
        finally:
            holder.stdin.close()
            holder.wait(timeout=30)


@pytest.mark.parametrize("combo", KILLED, ids=lambda combo: combo.id)
def test_a_job_whose_worker_is_killed_completes_on_the_next_worker(
    copier: Any, tmp_path: Path, combo: Combo
) -> None:
    require_services(combo)
    answers = {"project_name": "Orders", **combo.answers}
    project: Path = copier.copy(tmp_path / "orders", **answers).path
    install(project)
    services = services_for(combo)
    port = free_port()
    env = {
        **services.env,
        "PORT": str(port),
        "ENVIRONMENT": "development",
        # A job waiting for SQLite's write lock waits, rather than failing after 5 s.
        "DB_BUSY_TIMEOUT_SECONDS": "60",
        # The job must come back through the broker, not through the API's recovery sweep.
        "JOB_RECOVERY_GRACE_SECONDS": "600",
        # Short redelivery delays (profiles.yml), set as a deployment would set them.
        **combo.runner["redelivery_settings"],
    }
    logs = [tmp_path / "api.log", tmp_path / "killed-worker.log", tmp_path / "next-worker.log"]

    with fresh_database(services), removed_after(project, services):
        run(["make", "migrate"], project, env)
        with (
            started(["make", "run"], project, env, logs[0]),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client,
        ):
            wait_for(lambda: client.get("/health/ready").status_code == 200, "readiness", logs)
            # No worker yet: the job waits in the queue.
            created = client.post("/items", json={"name": "killed mid-job"})
            assert created.status_code == 201, created.text
            url = created.headers["location"]

            with (
                row_locked(project, env, created.json()["id"]),
                started(["make", "worker"], project, env, logs[1]) as worker,
            ):
                wait_for(lambda: "job started" in logs[1].read_text(), "the job to start", logs)
                time.sleep(0.5)  # into the job: it now waits for the row
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)
            assert client.get(url).json()["status"] == "pending"

            # Past Celery's visibility timeout before the next worker looks for unacked jobs.
            time.sleep(2)
            with started(["make", "worker"], project, env, logs[2]):
                wait_for(
                    lambda: client.get(url).json()["status"] == "processed",
                    "the job to complete on the next worker",
                    logs,
                    timeout=60,
                )
            assert "job started" in logs[2].read_text()


def test_switching_from_arq_to_celery_with_a_job_still_queued(cli: Any, tmp_path: Path) -> None:
    arq, celery = Combo("postgresql", "none", "arq"), Combo("postgresql", "none", "celery", "redis")
    require_services(celery)
    data = [arg for key, value in arq.answers.items() for arg in ("--data", f"{key}={value}")]
    assert cli("new", "Orders", *data, "-y").exit_code == 0
    project = Path.cwd() / "orders"
    services = services_for(arq)
    port = free_port()
    env = {**services.env, "PORT": str(port), "ENVIRONMENT": "development"}
    redis = ["redis-cli", "-n", str(services.redis_db)]
    logs = [tmp_path / "arq-api.log", tmp_path / "celery-api.log", tmp_path / "worker.log"]

    with fresh_database(services), removed_after(project, services):
        install(project)
        run(["make", "migrate"], project, env)
        with (
            started(["make", "run"], project, env, logs[0]),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client,
        ):
            wait_for(lambda: client.get("/health/ready").status_code == 200, "readiness", logs)
            queued = client.post("/items", json={"name": "queued on arq"})
            assert queued.status_code == 201, queued.text
        assert run([*redis, "zcard", f"{services.name}:arq:queue"], project).strip() == "1"

        if git_status(project):
            commit_all(project, "Installed")
        updated = cli("update", str(project), "--data", "tasks=celery")
        assert updated.exit_code == 0, updated.output
        assert "Jobs still queued for arq stay in its queue" in updated.output

        install(project)
        # Recovery picks up the item the ARQ worker never processed, however young.
        env["JOB_RECOVERY_GRACE_SECONDS"] = "0"
        with (
            started(["make", "run"], project, env, logs[1]),
            started(["make", "worker"], project, env, logs[2]),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client,
        ):
            wait_for(lambda: client.get("/health/ready").status_code == 200, "readiness", logs)
            created = client.post("/items", json={"name": "queued on celery"})
            assert created.status_code == 201, created.text
            urls = [item.headers["location"] for item in (queued, created)]

            def statuses() -> set[str]:
                return {client.get(url).json()["status"] for url in urls}

            wait_for(lambda: statuses() == {"processed"}, "both items to be processed", logs)
        # ARQ's per-job keys carry the namespace inside, after their fixed `arq:` prefix.
        arq_keys = run([*redis, "--scan", "--pattern", f"arq:*:{services.name}:*"], project)
        for key in arq_keys.split():
            run([*redis, "del", key], project)
