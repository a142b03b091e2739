"""The web client and GraphiQL, served by the app from the committed bundle (web/dist), same origin."""

from __future__ import annotations

import re

import httpx
from starlette.types import Message, Scope

from app import WEB_DIST
from core.site_files import SiteFiles


async def test_the_web_client_is_served_at_the_root(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert '<div id="app">' in page.text
    bundles = re.findall(r'(?:src|href)="(/app/[^"]+)"', page.text)
    assert any(name.endswith(".js") for name in bundles)
    for name in bundles:
        asset = await client.get(name)
        assert asset.status_code == 200, name
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_graphiql_loads_from_this_origin_only(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self';" in policy
    assert "connect-src 'self'" in policy
    assert "unpkg" not in page.text
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text)
    scripts = re.findall(r'<script[^>]*src="(/app/[^"]+\.js)"', page.text)
    assert scripts
    for name in scripts:
        assert (await client.get(name)).status_code == 200


async def test_the_api_still_wins_over_the_files(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    answer = await client.post("/graphql", json={"query": "{ viewer { id } }"})
    assert answer.json() == {"data": {"viewer": None}}
    assert (await client.get("/no-such-file.js")).status_code == 404


async def test_graphiql_is_only_behind_its_setting(client: httpx.AsyncClient) -> None:
    """Not a static file: with GRAPHIQL off (production), `GET /graphql` is the only door and it is shut."""
    assert (await client.get("/graphiql.html")).status_code == 404


async def test_a_websocket_to_a_file_path_is_closed_not_an_error() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "websocket", "path": "/somewhere", "headers": [], "query_string": b""}
    await SiteFiles(WEB_DIST)(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_the_bundle_is_committed() -> None:
    assert (WEB_DIST / "index.html").is_file()
    assert (WEB_DIST / "graphiql.html").is_file()
