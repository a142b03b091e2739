"""Overload answers fast and clearly: a query past its time budget gets TIMEOUT, a request that finds no
free database connection gets SERVICE_BUSY (HTTP 503 on /graphql when nothing else was answered), on
both faces, instead of a 500 after SQLAlchemy's 30 s queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from resolvers import live_counts
from resolvers import videos as video_resolvers
from storage.services import Services
from tests.conftest import Backend
from tests.support.factories import add_users, add_videos
from tests.support.graphql import gql
from tests.support.hostile import FAN_OUT

FEED = "query Feed { feed(first: 5) { nodes { id title } } }"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"db_pool_timeout_seconds": 0.3}


def _budget(services: Services, seconds: float) -> None:
    services.settings = services.settings.model_copy(update={"operation_timeout_seconds": seconds})


def _slow_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    async def slow(*_args: object) -> None:
        await asyncio.sleep(30)

    # The GraphQL feed pages through `feed`; the REST feed reads its page's counters first.
    monkeypatch.setattr(video_resolvers, "feed", slow)
    monkeypatch.setattr(live_counts, "feed_counts", slow)


async def test_a_query_past_its_budget_is_answered_timeout(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _budget(services, 0.3)
    _slow_feed(monkeypatch)
    started = time.monotonic()
    body = await gql(client, FEED)
    assert time.monotonic() - started < 5
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert "0.3 s" in error["message"]


async def test_a_rest_call_past_its_budget_is_answered_with_its_status_code(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _budget(services, 0.3)
    _slow_feed(monkeypatch)
    started = time.monotonic()
    response = await client.get("/douyin/feed/")
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    body = response.json()
    assert body["status_code"] == 9
    assert "took longer" in body["status_msg"]


async def test_mutations_are_not_cut_off(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    [author, fan] = await add_users(services, 2)
    [video_id] = await add_videos(services, author, 1)
    _budget(services, 0.2)
    original = video_resolvers.like_video

    async def slow_like(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.6)
        return await original(*args, **kwargs)

    monkeypatch.setattr(video_resolvers, "like_video", slow_like)
    body = await gql(
        client, f'mutation {{ likeVideo(videoId: "{video_id}") {{ favoriteCount }} }}', token=fan.token
    )
    assert body == {"data": {"likeVideo": {"favoriteCount": 1}}}


@asynccontextmanager
async def _every_connection_taken(services: Services) -> AsyncIterator[None]:
    async with AsyncExitStack() as held:
        while True:
            try:
                await held.enter_async_context(services.db.engine.connect())
            except PoolTimeoutError:
                break
        yield


# The pooled path itself: SQLite's small reads would otherwise run inline, needing no pooled connection.
POOLED_READS = pytest.mark.parametrize(
    "settings_overrides", [{"db_pool_timeout_seconds": 0.3, "db_inline_reads": False}]
)


@POOLED_READS
async def test_no_free_connection_is_service_busy_with_503(
    client: httpx.AsyncClient, services: Services
) -> None:
    await add_users(services, 1)
    async with _every_connection_taken(services):
        started = time.monotonic()
        response = await client.post("/graphql", json={"query": FEED})
        waited = time.monotonic() - started
    assert waited < 3, waited
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["SERVICE_BUSY"]
    assert body["errors"][0]["message"] == "The server is busy; try again in a moment"
    # and the next request, with connections free again, is served
    assert "errors" not in await gql(client, FEED)


@POOLED_READS
async def test_no_free_connection_on_a_rest_route_is_status_code_8(
    client: httpx.AsyncClient, services: Services
) -> None:
    async with _every_connection_taken(services):
        started = time.monotonic()
        response = await client.get("/douyin/feed/")
        waited = time.monotonic() - started
    assert waited < 3, waited
    assert response.status_code == 200
    assert response.json()["status_code"] == 8
    assert response.json()["status_msg"] == "The server is busy; try again in a moment"
    assert response.json()["video_list"] == []


async def test_the_feed_with_every_pooled_connection_taken(
    backend: Backend, client: httpx.AsyncClient, services: Services
) -> None:
    """On SQLite the feed's reads run inline (storage/inline_reads.py) and need no pooled connection; on
    MariaDB they do, and the answer is SERVICE_BUSY."""
    [author] = await add_users(services, 1)
    await add_videos(services, author, 3)
    await client.get("/douyin/feed/")  # the videos' unchanging part, kept
    async with _every_connection_taken(services):
        response = await client.get("/douyin/feed/")
    if backend.name == "sqlite":
        assert response.json()["status_code"] == 0
        assert len(response.json()["video_list"]) == 3
    else:
        assert response.json()["status_code"] == 8
        assert response.json()["video_list"] == []


async def test_hostile_fan_out_leaves_the_rest_feed_served(
    client: httpx.AsyncClient, services: Services
) -> None:
    [author] = await add_users(services, 1)
    await add_videos(services, author, 20)
    hostile = [gql(client, FAN_OUT) for _ in range(4)]
    feeds = [client.get("/douyin/feed/") for _ in range(4)]
    started = time.monotonic()
    answers = await asyncio.gather(*hostile, *feeds)
    assert time.monotonic() - started < 5
    for body in answers[:4]:
        assert isinstance(body, dict)
        assert [error["extensions"]["code"] for error in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    for response in answers[4:]:
        assert isinstance(response, httpx.Response)
        assert response.json()["status_code"] == 0
        assert len(response.json()["video_list"]) == 20
