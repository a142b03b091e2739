"""Cached reads are never stale: two app processes on one database (SQLite with each process's own
cache; MariaDB with a shared Redis), every kind of write through one, the next read through the other.
With Redis stopped, requests are still answered; once it is back, nothing it missed is served."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import now_ms
from storage.services import Services
from tests.conftest import Backend, open_services
from tests.support.factories import Account, add_users, add_videos
from tests.support.realtime import app_process, throwaway_redis
from tests.support.rest import PASSWORD, ok


@pytest.fixture
async def shared(backend: Backend, tmp_path: Path) -> AsyncIterator[Services]:
    async with open_services(backend, tmp_path) as opened:
        yield opened


def _environment(services: Services, redis_url: str | None = None) -> dict[str, str]:
    settings = services.settings
    return {
        "DATABASE_URL": settings.effective_database_url,
        "REDIS_URL": settings.redis_url if redis_url is None else redis_url,
        "CACHE_PREFIX": settings.cache_prefix,
    }


@contextmanager
def two_processes(tmp_path: Path, environment: dict[str, str]) -> Iterator[tuple[str, str]]:
    with app_process(tmp_path, environment) as a, app_process(tmp_path, environment) as b:
        yield a, b


@asynccontextmanager
async def clients(a: str, b: str) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=f"http://{a}", timeout=30) as on_a,
        httpx.AsyncClient(base_url=f"http://{b}", timeout=30) as on_b,
    ):
        yield on_a, on_b


async def feed(client: httpx.AsyncClient, viewer: Account | None = None) -> list[dict[str, Any]]:
    params = {"token": viewer.token} if viewer is not None else {}
    videos: list[dict[str, Any]] = (await ok(client, "GET", "/feed/", params))["video_list"]
    return videos


async def comments(client: httpx.AsyncClient, video_id: int, viewer: Account) -> list[dict[str, Any]]:
    params = {"video_id": video_id, "token": viewer.token}
    found: list[dict[str, Any]] = (await ok(client, "GET", "/comment/list/", params))["comment_list"]
    return found


async def act(client: httpx.AsyncClient, path: str, viewer: Account, **params: Any) -> dict[str, Any]:
    return await ok(client, "POST", path, {"token": viewer.token, **params})


async def warm(clients: tuple[httpx.AsyncClient, ...], viewers: list[Account], video_id: int) -> None:
    """Every read the test makes later, once on each process, so its caches hold them."""
    for client in clients:
        await feed(client)
        for viewer in viewers:
            await feed(client, viewer)
            await comments(client, video_id, viewer)


def _first(videos: list[dict[str, Any]], video_id: int) -> dict[str, Any]:
    return next(video for video in videos if video["id"] == video_id)


async def test_every_write_on_one_process_is_read_on_the_other(
    shared: Services, tmp_path: Path, clip: bytes
) -> None:
    author, fan = await add_users(shared, 2)
    with two_processes(tmp_path, _environment(shared)) as (a, b):
        async with clients(a, b) as (on_a, on_b):
            # publish
            assert await feed(on_b, fan) == []
            files = {"data": ("clip.mp4", clip, "video/mp4")}
            published = await on_a.post(
                "/douyin/publish/action/", data={"token": author.token, "title": "first"}, files=files
            )
            assert published.json()["status_code"] == 0, published.text
            [video] = await feed(on_b, fan)
            assert video["title"] == "first"
            assert video["author"]["work_count"] == 1
            video_id = video["id"]
            await warm((on_a, on_b), [author, fan], video_id)

            # like, then unlike
            await act(on_a, "/favorite/action/", fan, video_id=video_id, action_type=1)
            seen = _first(await feed(on_b, fan), video_id)
            assert (seen["is_favorite"], seen["favorite_count"]) == (True, 1)
            assert seen["author"]["total_favorited"] == 1
            assert _first(await feed(on_b), video_id)["favorite_count"] == 1
            await act(on_b, "/favorite/action/", fan, video_id=video_id, action_type=2)
            seen = _first(await feed(on_a, fan), video_id)
            assert (seen["is_favorite"], seen["favorite_count"]) == (False, 0)

            # comment, then delete it
            added = await act(
                on_a, "/comment/action/", fan, video_id=video_id, action_type=1, comment_text="hi"
            )
            comment_id = added["comment"]["id"]
            assert [c["content"] for c in await comments(on_b, video_id, author)] == ["hi"]
            assert _first(await feed(on_b, fan), video_id)["comment_count"] == 1
            await act(on_b, "/comment/action/", fan, video_id=video_id, action_type=2, comment_id=comment_id)
            assert await comments(on_a, video_id, author) == []
            assert _first(await feed(on_a, fan), video_id)["comment_count"] == 0

            # follow, then unfollow
            await act(on_a, "/relation/action/", fan, to_user_id=author.id, action_type=1)
            seen = _first(await feed(on_b, fan), video_id)["author"]
            assert (seen["is_follow"], seen["follower_count"]) == (True, 1)
            await act(on_a, "/comment/action/", author, video_id=video_id, action_type=1, comment_text="yo")
            [comment] = await comments(on_b, video_id, fan)
            assert comment["user"]["is_follow"] is True
            await act(on_b, "/relation/action/", fan, to_user_id=author.id, action_type=2)
            seen = _first(await feed(on_a, fan), video_id)["author"]
            assert (seen["is_follow"], seen["follower_count"]) == (False, 0)
            [comment] = await comments(on_a, video_id, fan)
            assert (comment["user"]["is_follow"], comment["user"]["follower_count"]) == (False, 0)

            # message
            chat = {"token": author.token, "to_user_id": fan.id}
            assert (await ok(on_b, "GET", "/message/chat/", chat))["message_list"] == []
            await act(on_a, "/message/action/", fan, to_user_id=author.id, action_type=1, content="hello")
            [message] = (await ok(on_b, "GET", "/message/chat/", chat))["message_list"]
            assert message["content"] == "hello"

            # register
            params = {"username": "newcomer", "password": PASSWORD}
            newcomer = (await ok(on_a, "POST", "/user/register/", params))["user_id"]
            user = (await ok(on_b, "GET", "/user/", {"user_id": newcomer, "token": fan.token}))["user"]
            assert user["name"] == "newcomer"


async def _seed_video(services: Services, author: Account, title: str = "clip") -> int:
    """A video published now (straight into the database, as another process would)."""
    [video_id] = await add_videos(services, author, titles=[title], start_ms=now_ms())
    return video_id


async def _check(
    client: httpx.AsyncClient, viewer: Account, video_id: int, newest: int, *, liked: bool, comment: str
) -> None:
    videos = await feed(client, viewer)
    assert videos[0]["id"] == newest
    seen = _first(videos, video_id)
    assert (seen["is_favorite"], seen["favorite_count"], seen["comment_count"]) == (liked, int(liked), 1)
    assert (seen["author"]["is_follow"], seen["author"]["follower_count"]) == (True, 1)
    [shown] = await comments(client, video_id, viewer)
    assert shown["content"] == comment


@pytest.mark.services
async def test_with_redis_stopped_requests_are_answered_and_nothing_missed_is_served_after(
    mariadb_backend: Backend, tmp_path: Path
) -> None:
    async with open_services(mariadb_backend, tmp_path) as services:
        author, fan = await add_users(services, 2)
        with throwaway_redis() as redis_server:
            environment = _environment(services, redis_server.url)
            with two_processes(tmp_path, environment) as (a, b):
                async with clients(a, b) as (on_a, on_b):
                    video_id = await _seed_video(services, author)
                    await warm((on_a, on_b), [author, fan], video_id)

                    redis_server.stop()
                    await act(on_a, "/favorite/action/", fan, video_id=video_id, action_type=1)
                    text = {"action_type": 1, "comment_text": "down"}
                    await act(on_a, "/comment/action/", fan, video_id=video_id, **text)
                    await act(on_a, "/relation/action/", fan, to_user_id=author.id, action_type=1)
                    newer = await _seed_video(services, author, title="while down")
                    for client in (on_b, on_a):
                        await _check(client, fan, video_id, newer, liked=True, comment="down")

                    redis_server.start()
                    await _check(on_b, fan, video_id, newer, liked=True, comment="down")
                    await act(on_b, "/favorite/action/", fan, video_id=video_id, action_type=2)
                    for client in (on_a, on_b):
                        await _check(client, fan, video_id, newer, liked=False, comment="down")
