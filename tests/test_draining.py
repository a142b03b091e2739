"""Going away, as the app does it: /readyz says draining while everything else is still served, and open
subscriptions are closed with 1001 (going away), their server-side state released."""

from __future__ import annotations

import httpx

from app import create_app
from storage.services import Services
from tests.support.factories import add_users
from tests.support.realtime import LEGACY_WS, TRANSPORT_WS, serving, subscribed, until


async def test_readyz_says_draining_while_requests_are_still_served(services: Services) -> None:
    app = create_app(services=services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        assert (await http.get("/readyz")).status_code == 200
        app.state.draining = True
        readiness = await http.get("/readyz")
        assert readiness.status_code == 503
        assert readiness.json()["status"] == "draining"
        assert (await http.get("/healthz")).status_code == 200
        feed = await http.get("/douyin/feed/")
        assert feed.status_code == 200
        assert feed.json()["status_code"] == 0


async def test_going_away_closes_every_subscription_with_1001(services: Services) -> None:
    alice, bob = await add_users(services, 2)
    app = create_app(services=services)
    async with serving(app) as address:
        url = f"ws://{address}/graphql"
        sockets = [
            await subscribed(url, alice.token, TRANSPORT_WS),
            await subscribed(url, bob.token, LEGACY_WS),
        ]
        await until(lambda: services.fanout.inbox_count == 2, what="two subscriptions")
        assert len(app.state.open_sockets) == 2
        assert await app.state.open_sockets.close_all() == 2
        for socket in sockets:
            assert await socket.close_reason() == (1001, "server going away")
        await until(lambda: services.fanout.inbox_count == 0, what="the subscriptions to end")
        assert len(app.state.open_sockets) == 0
        assert await app.state.open_sockets.close_all() == 0
