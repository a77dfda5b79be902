"""An `auth=oidc` project against a real OpenID provider process, over real HTTP.

The provider is oidc-provider-mock: a separate process with its own discovery document, key
set, authorization and token endpoints. The project, on MariaDB, is served as `make run` serves
it and pointed at the provider; a token comes from the provider's authorization code flow.
Then the provider's keys are rotated (it has no API for that, and a new process starts with a
new key on the same address) and a token signed by the new key is accepted after one fetch of
the key set.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from projects import (
    Combo,
    free_port,
    fresh_database,
    install,
    removed_after,
    render_combo,
    require_services,
    run,
    services_for,
    started,
    wait_for,
)

pytestmark = pytest.mark.e2e

COMBO = Combo("mysql", "none", "background", extra=(("auth", "oidc"),))
PACKAGE = "acme_orders"
CLIENT_ID = "acme-orders"
REDIRECT_URI = "http://127.0.0.1/callback"
# What the project logs each time it fetches the provider's key set (auth/jwks.py).
FETCHED = "fetched the OpenID provider's keys"


@contextmanager
def provider_on(port: int, log: Path) -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1:`port`, with a signing key of its own; yields its issuer."""
    issuer = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1"]
    with started([*command, "--port", str(port)], Path.cwd(), {}, log):
        discovery = f"{issuer}/.well-known/openid-configuration"
        wait_for(lambda: httpx.get(discovery).status_code == 200, "the provider", [log])
        yield issuer


def token_from(issuer: str, subject: str) -> str:
    """A token the provider signs for `subject`, through its authorization code flow.

    The mock's access tokens are opaque, so its ID token stands for one: a JWT it signs with
    the key its key set publishes, for this client (`aud`), as an access token would be.
    """
    with httpx.Client(base_url=issuer) as client:
        request = {
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
        }
        # The provider's consent form, answered as its user would.
        authorized = client.post("/oauth2/authorize", params=request, data={"sub": subject})
        assert authorized.status_code == 302, authorized.text
        code = httpx.URL(authorized.headers["location"]).params["code"]
        issued = client.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": CLIENT_ID,
                "client_secret": "any",
            },
        )
        assert issued.status_code == 200, issued.text
        token: str = issued.json()["id_token"]
        return token


# The app's least time between two fetches of the provider's key set, in the test.
REFETCH_FLOOR_SECONDS = 1.0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_of_a_real_provider_are_accepted_through_a_key_rotation(tmp_path: Path) -> None:
    require_services(COMBO)
    project = tmp_path / "project"
    render_combo(COMBO, project)
    install(project)
    services = services_for(COMBO)
    port, provider_port = free_port(), free_port()
    env = {
        **services.env,
        "PORT": str(port),
        "ENVIRONMENT": "development",
        "OIDC_ISSUER": f"http://127.0.0.1:{provider_port}",
        "OIDC_AUDIENCE": CLIENT_ID,
        # The rotation below waits out this floor after the first fetch.
        "OIDC_JWKS_REFETCH_FLOOR_SECONDS": str(REFETCH_FLOOR_SECONDS),
    }
    app_log, provider_log, rotated_log = (tmp_path / name for name in ("api", "idp", "idp2"))

    with fresh_database(services), removed_after(project, services, package=PACKAGE):
        run(["make", "migrate"], project, env)
        with (
            started(["make", "run"], project, env, app_log),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
        ):
            wait_for(lambda: client.get("/health/ready").status_code == 200, "readiness", [app_log])

            with provider_on(provider_port, provider_log) as issuer:
                token = token_from(issuer, "alice")
                anonymous = client.post("/items", json={"name": "anonymous"})
                forged = client.post("/items", json={"name": "forged"}, headers=bearer("x.y.z"))
                created = client.post("/items", json={"name": "alice's"}, headers=bearer(token))
                fetched_by = time.monotonic()
                again = client.post("/items", json={"name": "again"}, headers=bearer(token))
                fetched_before_rotation = app_log.read_text().count(FETCHED)

            # The provider has no rotation API: a new process starts with a new signing key.
            with provider_on(provider_port, rotated_log) as issuer:
                rotated = token_from(issuer, "alice")
                # An unknown key refetches the key set, but not within the floor of the last
                # fetch: a new provider process can be up sooner than that on a fast machine.
                time.sleep(max(0.0, fetched_by + REFETCH_FLOOR_SECONDS + 0.2 - time.monotonic()))
                after_rotation = client.post(
                    "/items", json={"name": "rotated"}, headers=bearer(rotated)
                )
                fetched_after_rotation = app_log.read_text().count(FETCHED)
                # The key set no longer lists the old key, and the app has dropped it.
                retired = client.post("/items", json={"name": "retired"}, headers=bearer(token))

    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert forged.status_code == 401, forged.text
    assert created.status_code == 201, created.text
    assert again.status_code == 201, again.text
    assert fetched_before_rotation == 1, app_log.read_text()
    assert after_rotation.status_code == 201, after_rotation.text
    assert fetched_after_rotation == 2, app_log.read_text()
    assert retired.status_code == 401, retired.text
