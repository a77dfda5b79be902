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
