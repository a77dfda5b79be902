"""/docs and /redoc work offline: every asset their pages load comes from the app itself."""

import re

from httpx import AsyncClient

# Where the pages name what they load: tags' src and href, Swagger UI's `url` and ReDoc's
# `spec-url` (the OpenAPI document).
REFERENCES = re.compile(r"""(?:src|href|spec-url)="([^"]+)"|\burl: *'([^']+)'""")


async def test_every_asset_of_the_docs_is_served_by_the_app(client: AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200, page
        urls = [a or b for a, b in REFERENCES.findall(response.text)]

        assert len(urls) >= 2, (page, response.text)
        assert not re.search(r"https?://", response.text), page
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), (page, url)
            assert (await client.get(url)).status_code == 200, (page, url)


async def test_the_swagger_ui_oauth2_redirect_page_is_served(client: AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")

    assert response.status_code == 200
    assert "http://" not in response.text and "https://" not in response.text
