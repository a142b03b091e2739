"""The app shell: liveness, readiness, GraphiQL, lifespan."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import httpx
import pytest

from app import create_app
from storage.services import Services
from tests.conftest import free_port, make_settings


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_every_part(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok", "objects": "ok"}


async def test_readyz_names_the_failing_parts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    closed = free_port()
    settings = make_settings(
        tmp_path,
        database_url=f"mysql+asyncmy://root@127.0.0.1:{closed}/nothing",
        redis_url=f"redis://127.0.0.1:{closed}/0",
    )
    services = Services.open(settings)
    caplog.set_level(logging.WARNING, logger="douyin")
    try:
        app = create_app(services=services)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            response = await http.get("/readyz")
    finally:
        await services.close()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert sorted(body["failed"]) == ["cache", "database"]
    # The service works without Redis (in-process cache), not without its database.
    assert body["checks"] == {"database": "failed", "cache": "degraded", "objects": "ok"}
    # Where it failed is for the operators' log, not for anyone who can reach the route.
    assert str(closed) not in response.text
    assert "127.0.0.1" not in response.text
    assert str(closed) in caplog.text


async def test_graphiql_is_served_to_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_default_images_are_served(client: httpx.AsyncClient) -> None:
    for name in ("avatar.jpg", "background.jpg"):
        response = await client.get(f"/assets/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        assert response.content.startswith(b"\xff\xd8\xff")
    assert (await client.get("/assets/..%2Fapp.py")).status_code == 404


async def test_lifespan_opens_its_own_services(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        await services.db.ping()
        await services.objects.ping()
    assert (tmp_path / "media").is_dir()


async def test_start_up_removes_stale_upload_scratch_only(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    stale, fresh = scratch / "upload-stale", scratch / "upload-fresh"
    for directory in (stale, fresh):
        directory.mkdir(parents=True)
        (directory / "upload").write_bytes(b"partial video")
    day_ago = stale.stat().st_mtime - 86_400
    os.utime(stale, (day_ago, day_ago))
    app = create_app(make_settings(tmp_path))
    async with app.router.lifespan_context(app):
        pass
    assert not stale.exists()
    assert (fresh / "upload").is_file()  # another worker may be publishing it right now


async def test_cors_lets_configured_web_origins_call_graphql(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, cors_origins="https://app.example.com, https://admin.example.com/")
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        preflight = await http.options(
            "/graphql",
            headers={
                "Origin": "https://admin.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://admin.example.com"
        allowed = await http.get("/healthz", headers={"Origin": "https://app.example.com"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
        other = await http.get("/healthz", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers


async def test_without_cors_origins_no_cross_origin_headers_are_sent(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in response.headers
