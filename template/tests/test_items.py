import pytest
from httpx import AsyncClient

from .clients import create_item as create


async def test_create_returns_the_item_and_its_location(client: AsyncClient) -> None:
    response = await client.post("/items", json={"name": "  widget ", "description": "blue"})

    assert response.status_code == 201
    item = response.json()
    assert item["name"] == "widget"
    assert item["description"] == "blue"
    assert item["created_at"] and item["updated_at"]
    assert response.headers["location"].endswith(f"/items/{item['id']}")


async def test_read_returns_what_was_created(client: AsyncClient) -> None:
    item = await create(client)

    response = await client.get(f"/items/{item['id']}")

    assert response.status_code == 200
    assert response.json()["name"] == "widget"


async def test_a_name_is_stripped_before_its_length_is_checked(client: AsyncClient) -> None:
    response = await client.post("/items", json={"name": " " + "x" * 200 + " "})

    assert response.status_code == 201, response.text
    assert response.json()["name"] == "x" * 200


async def test_duplicate_name_is_a_conflict(client: AsyncClient) -> None:
    await create(client, "widget")

    response = await client.post("/items", json={"name": "widget"})

    assert response.status_code == 409
    # The field is named; the value is not echoed, as in every other error.
    assert response.json()["detail"] == "An item with that name already exists"


async def test_renaming_onto_a_taken_name_is_a_conflict(client: AsyncClient) -> None:
    await create(client, "first")
    second = await create(client, "second")

    response = await client.patch(f"/items/{second['id']}", json={"name": "first"})

    assert response.status_code == 409


async def test_patch_changes_only_the_given_fields(client: AsyncClient) -> None:
    item = await create(client, description="old")

    response = await client.patch(f"/items/{item['id']}", json={"description": "new"})

    assert response.status_code == 200
    assert response.json()["description"] == "new"
    assert response.json()["name"] == "widget"
    assert response.json()["updated_at"] >= str(item["updated_at"])


async def test_delete_removes_the_item(client: AsyncClient) -> None:
    item = await create(client)

    response = await client.delete(f"/items/{item['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert (await client.get(f"/items/{item['id']}")).status_code == 404


async def test_missing_items_are_404(client: AsyncClient) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, "/items/2147483647", json={})
        assert response.status_code == 404, method


async def test_an_unsupported_method_is_405_listing_every_allowed_one(
    client: AsyncClient,
) -> None:
    item = await create(client)

    for url, allowed in (
        (f"/items/{item['id']}", "DELETE, GET, HEAD, PATCH"),
        ("/items", "GET, HEAD, POST"),
    ):
        response = await client.put(url, json={})

        assert response.status_code == 405, url
        assert response.headers["allow"] == allowed


async def test_list_pages_in_a_stable_order_with_a_total(client: AsyncClient) -> None:
    ids = [(await create(client, f"item-{n}"))["id"] for n in range(5)]

    first = (await client.get("/items", params={"limit": 2})).json()
    rest = (await client.get("/items", params={"limit": 10, "offset": 2})).json()

    assert first["total"] == rest["total"] == 5
    assert [item["id"] for item in first["items"] + rest["items"]] == ids
    assert (first["limit"], first["offset"]) == (2, 0)


async def test_invalid_input_is_422_naming_the_field(client: AsyncClient) -> None:
    item = await create(client)
    cases = [
        ("POST", "/items", {"name": ""}, "name"),
        ("POST", "/items", {"name": "   "}, "name"),
        ("POST", "/items", {"name": "x" * 201}, "name"),
        ("POST", "/items", {"description": "no name"}, "name"),
        ("POST", "/items", {"name": "ok", "colour": "red"}, "colour"),
        ("PATCH", f"/items/{item['id']}", {"status": "archived"}, "status"),
        ("PATCH", f"/items/{item['id']}", {"name": None}, "name"),
        ("GET", "/items/not-a-number", None, "item_id"),
        ("GET", "/items/0", None, "item_id"),
        ("GET", "/items/99999999999", None, "item_id"),
    ]
    for method, url, body, field in cases:
        response = await client.request(method, url, json=body)
        assert response.status_code == 422, (method, url, body)
        assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}])
async def test_pagination_bounds_are_enforced(client: AsyncClient, params: dict[str, int]) -> None:
    response = await client.get("/items", params=params)
    assert response.status_code == 422
    assert next(iter(params)) in response.json()["detail"][0]["loc"]


async def test_text_the_database_cannot_store_is_a_422(client: AsyncClient) -> None:
    item = await create(client)
    # JSON escapes, as a client sends them: PostgreSQL cannot store NUL, and no database can
    # store a lone surrogate, which has no UTF-8 encoding.
    for name in ("a\\u0000b", "x\\udb38y"):
        for method, url in (("POST", "/items"), ("PATCH", f"/items/{item['id']}")):
            response = await client.request(
                method,
                url,
                content='{"name": "' + name + '"}',
                headers={"content-type": "application/json"},
            )

            assert response.status_code == 422, (method, name, response.text)
            assert response.json()["detail"][0]["loc"] == ["body", "name"]


async def test_description_with_nul_is_a_422(client: AsyncClient) -> None:
    response = await client.post("/items", json={"name": "nul", "description": "a\u0000b"})

    assert response.status_code == 422
    assert "NUL" in response.json()["detail"][0]["msg"]


async def test_names_are_compared_exactly_on_every_database(client: AsyncClient) -> None:
    # Case, accents and emoji make different names, as PostgreSQL compares them.
    names = ["widget", "Widget", "wìdget", "emoji 😀", "emoji 🚀"]
    for name in names:
        await create(client, name)

    listed = (await client.get("/items", params={"limit": 10})).json()["items"]

    assert sorted(item["name"] for item in listed) == sorted(names)
    assert (await client.post("/items", json={"name": "emoji 😀"})).status_code == 409


async def test_location_is_relative_whatever_the_host(client: AsyncClient) -> None:
    response = await client.post(
        "/items", json={"name": "located"}, headers={"Host": "evil.example"}
    )

    assert response.headers["location"] == f"/items/{response.json()['id']}"
