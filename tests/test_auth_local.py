"""auth=local served as in production's shape (`make migrate`, `make admin`, `make run`): issue 21's
"done when" over HTTP, on PostgreSQL with Redis and on SQLite alone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from projects import (
    Combo,
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

LOCAL = [
    Combo("postgresql", "redis", "background", extra=(("auth", "local"),)),
    Combo("sqlite", "none", "background", extra=(("auth", "local"),)),
]
ADMIN, PASSWORD = "root@example.com", "correct horse battery staple"


def refresh(client: httpx.Client, token: str) -> httpx.Response:
    return client.post("/auth/refresh", json={"refresh_token": token})


@pytest.mark.e2e
@pytest.mark.parametrize("combo", LOCAL, ids=lambda combo: combo.id)
def test_served_local_accounts_log_in_rotate_refuse_reuse_and_limit_guessing(
    copier: Any, tmp_path: Path, combo: Combo
) -> None:
    require_services(combo)
    project: Path = copier.copy(tmp_path / "orders", project_name="Orders", **combo.answers).path
    install(project)
    services = services_for(combo)
    port = free_port()
    env = {**services.env, "PORT": str(port), "ENVIRONMENT": "development"}
    log = tmp_path / "api.log"

    with fresh_database(services):
        run(["make", "migrate"], project, env)
        created = run(
            ["make", "admin", f"email={ADMIN}"], project, env | {"ADMIN_PASSWORD": PASSWORD}
        )
        assert f"Created the admin {ADMIN}." in created
        with (
            started(["make", "run"], project, env, log),
            removed_after(project, services),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client,
        ):
            wait_for(lambda: client.get("/health/ready").status_code == 200, "readiness", [log])

            assert client.get("/users/me").status_code == 401
            login = client.post("/auth/token", data={"username": ADMIN, "password": PASSWORD})
            assert login.status_code == 200, login.text
            tokens = login.json()
            me = client.get(
                "/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
            assert me.json()["is_admin"] is True

            rotated = refresh(client, tokens["refresh_token"])
            assert rotated.status_code == 200
            newer = rotated.json()["refresh_token"]
            assert newer != tokens["refresh_token"]
            # The old token again at once, as a second tab would: refused, the session goes on.
            assert refresh(client, tokens["refresh_token"]).status_code == 401
            # Later than the project's REUSE_GRACE (10 s), it was copied: refused, and the
            # session it belongs to is over.
            time.sleep(11)
            assert refresh(client, tokens["refresh_token"]).status_code == 401
            assert refresh(client, newer).status_code == 401

            assert client.post("/items", json={"name": "anonymous"}).status_code == 401

            # Brute force: five wrong passwords within a minute are 401, the sixth is 429.
            for _ in range(5):
                wrong = client.post("/auth/token", data={"username": ADMIN, "password": "not it"})
                assert wrong.status_code == 401
            limited = client.post("/auth/token", data={"username": ADMIN, "password": "not it"})
            assert limited.status_code == 429
            assert int(limited.headers["Retry-After"]) > 0
            assert client.post("/auth/register", json={"email": "a@b.c"}).status_code == 404
