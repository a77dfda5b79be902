"""The matrix, in two lanes, both derived from profiles.yml (tests/projects.py).

The static lane takes every valid combination: rendered, installed into its own venv from its
own pyproject (uv, warm cache), and checked with ruff, ruff format and mypy (those the
end-to-end lane also takes at the default switches are checked there).

The end-to-end lane takes a pairwise covering array of them (PAIRWISE: every pair of values
of two questions is in one combination, and DEFAULT is in it): each is linted, migrated up and
down on a fresh database of its own, and runs its own test suite against PostgreSQL, MariaDB,
Redis and RabbitMQ on loopback. Those of ADDING_RESOURCES, in which every value of every
question appears, get resources added first. SERVED are served the way `make run` and
`make worker` serve them, and driven over real HTTP.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from added_resources import add_customers_and_orders
from projects import (
    ADDING_RESOURCES,
    COMBOS,
    PAIRWISE,
    SERVED,
    Combo,
    assert_green,
    free_port,
    fresh_database,
    install,
    removed_after,
    require_services,
    run,
    services_for,
    started,
    wait_for,
)

Series = tuple[str, frozenset[tuple[str, str]]]
SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")


def scrape(client: httpx.Client) -> dict[Series, float]:
    """The samples of a Prometheus text page, by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    samples = {}
    for line in response.text.splitlines():
        if sample := SAMPLE.fullmatch(line):
            name, labels, value = sample.groups()
            pairs = re.findall(r'(\w+)="([^"]*)"', labels or "")
            samples[name, frozenset(pairs)] = float(value)
    return samples


def series(name: str, **labels: str) -> Series:
    return name, frozenset(labels.items())


def generate(copier: Any, tmp_path: Path, combo: Combo) -> Path:
    project: Path = copier.copy(tmp_path / "orders", project_name="Orders", **combo.answers).path
    return project


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One mypy cache per test worker: the libraries are analysed once, not per combination.

    mypy checks every cached module against its source's hash, so sharing it is safe.
    """
    return {"MYPY_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "mypy-cache")}


# The end-to-end lane runs the same checks first, so its combinations at the default switches
# are not checked twice.
STATIC = [combo for combo in COMBOS if combo not in PAIRWISE]


@pytest.mark.static
@pytest.mark.parametrize("combo", STATIC, ids=lambda combo: combo.id)
def test_static(copier: Any, tmp_path: Path, combo: Combo, mypy_cache: dict[str, str]) -> None:
    project = generate(copier, tmp_path, combo)
    bin = install(project)

    run([bin / "ruff", "check", "."], project)
    run([bin / "ruff", "format", "--check", "."], project)
    run([bin / "mypy"], project, mypy_cache)


@pytest.mark.e2e
@pytest.mark.parametrize("combo", PAIRWISE, ids=lambda combo: combo.id)
def test_combination(copier: Any, tmp_path: Path, combo: Combo, mypy_cache: dict[str, str]) -> None:
    require_services(combo)
    project = generate(copier, tmp_path, combo)
    if combo in ADDING_RESOURCES:
        add_customers_and_orders(project)  # fastgen add resource: lint, migrate, test them too
    assert_green(project, combo, mypy_cache)


@pytest.mark.e2e
@pytest.mark.parametrize("combo", SERVED, ids=lambda combo: combo.id)
def test_served_project_processes_items(copier: Any, tmp_path: Path, combo: Combo) -> None:
    require_services(combo)
    project = generate(copier, tmp_path, combo)
    install(project)
    services = services_for(combo)
    port, worker_metrics = free_port(), free_port()
    env = {**services.env, "PORT": str(port), "ENVIRONMENT": "development"}
    logs = [tmp_path / "api.log", tmp_path / "worker.log"]

    with fresh_database(services):
        run(["make", "migrate"], project, env)
        with started(["make", "run"], project, env, logs[0]), removed_after(project, services):
            worker = ["make", "worker"] if combo.worker else ["sleep", "600"]
            # The worker serves its own metrics on METRICS_PORT.
            worker_env = {**env, "METRICS_PORT": str(worker_metrics)}
            with (
                started(worker, project, worker_env, logs[1]),
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client,
            ):
                wait_for(lambda: client.get("/health/ready").status_code == 200, "readiness", logs)

                created = client.post("/items", json={"name": "served", "description": "v1"})
                assert created.status_code == 201, created.text
                url = created.headers["location"]

                processed = wait_for(
                    lambda: client.get(url).json()["status"] == "processed",
                    "the item to be processed",
                    logs,
                    timeout=15,
                )
                assert processed

                client.get(url)  # cached, where there is a cache
                patched = client.patch(url, json={"description": "v2"})
                assert patched.status_code == 200
                after = client.get(url)
                assert after.json()["description"] == "v2"
                if combo.cache == "redis":
                    assert after.headers["x-cache"] == "MISS"
                assert client.delete(url).status_code == 204
                assert client.get(url).status_code == 404

                # Metrics over real HTTP: counts equal the requests sent, and the cache's hits
                # and misses equal the X-Cache headers seen.
                url = client.post("/items", json={"name": "scraped"}).headers["location"]
                first = scrape(client)
                seen = [client.get(url).headers.get("x-cache", "MISS") for _ in range(20)]
                then = scrape(client)
                reads = series(
                    "http_request_duration_seconds_count",
                    route="/items/{item_id}",
                    method="GET",
                    status="200",
                )
                assert then[reads] - first[reads] == len(seen)
                if combo.cache == "redis":
                    for result in ("hit", "miss"):
                        lookups = series("cache_lookups_total", result=result)
                        assert then[lookups] - first[lookups] == seen.count(result.upper())
                if combo.worker:
                    # Both items' jobs, counted by the worker (Celery: by its main process).
                    succeeded = series("jobs_succeeded_total", job="orders.items.jobs.process_item")
                    with httpx.Client(
                        base_url=f"http://127.0.0.1:{worker_metrics}"
                    ) as worker_client:
                        wait_for(
                            lambda: scrape(worker_client).get(succeeded, 0) == 2,
                            "the worker's metrics to count both jobs",
                            logs,
                        )

    # Both worker kinds stop gracefully on SIGTERM rather than dying mid-job.
    graceful = combo.runner["stop_log"]
    if graceful:
        assert graceful in logs[1].read_text(), logs[1].read_text()
