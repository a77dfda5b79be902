from httpx import AsyncClient


async def test_request_id_is_generated_and_timing_reported(client: AsyncClient) -> None:
    response = await client.get("/health/live")

    assert len(response.headers["x-request-id"]) == 32
    assert float(response.headers["x-process-time"]) >= 0


async def test_request_id_from_the_client_is_kept(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})

    assert response.headers["x-request-id"] == "abc-123"


async def test_unsafe_request_id_is_replaced(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})

    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32


async def test_every_response_carries_the_safe_headers(client: AsyncClient) -> None:
    for response in (await client.get("/health/live"), await client.get("/no-such-route")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == (
            "default-src 'none'; frame-ancestors 'none'"
        )


async def test_the_docs_pages_policy_allows_what_they_load(client: AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        response = await client.get(path)
        policy = response.headers["content-security-policy"]

        assert response.status_code == 200, path
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self' 'unsafe-inline'" in policy
        # Everything the pages load comes from the app itself (tests/test_docs.py).
        assert "https://" not in policy
