"""The REST routes batch like the GraphQL API: SQL statements per request do not grow with the list."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from schema.executor import OperationFailedError, Session
from storage.services import Services
from tests.conftest import StatementCounter
from tests.support.factories import add_comments, add_messages, add_video
from tests.support.rest import ok, register

T0 = 1_700_000_000_000


async def statements_for(
    client: httpx.AsyncClient, counter: StatementCounter, path: str, params: dict[str, object]
) -> int:
    counter.reset()
    await ok(client, "GET", path, params)
    return counter.count


async def test_feed_statements_do_not_grow_with_the_page(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter
) -> None:
    authors = [await register(client, f"author{index}") for index in range(30)]
    _, token = await register(client, "viewer")
    await add_video(services, authors[0][0], "first", T0)
    one = await statements_for(client, sql_counter, "/feed/", {"token": token})
    for index, (author, _) in enumerate(authors[1:], start=1):
        await add_video(services, author, f"v{index}", T0 + index)
    thirty = await statements_for(client, sql_counter, "/feed/", {"token": token})
    assert one == thirty
    assert thirty <= 6


async def test_list_statements_do_not_grow_with_the_list(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter
) -> None:
    alice, token = await register(client, "alice")
    bob, _ = await register(client, "bob")
    video = await add_video(services, alice, "clip", T0)
    await add_comments(services, video, [bob], 2, T0)
    await add_messages(services, alice, bob, 2, start_ms=T0)
    small = {
        "/comment/list/": await statements_for(client, sql_counter, "/comment/list/", {"video_id": video}),
        "/message/chat/": await statements_for(
            client, sql_counter, "/message/chat/", {"token": token, "to_user_id": bob}
        ),
    }
    await add_comments(services, video, [bob], 90, T0 + 10)
    await add_messages(services, alice, bob, 90, start_ms=T0 + 10)
    assert (
        await statements_for(client, sql_counter, "/comment/list/", {"video_id": video})
        == small["/comment/list/"]
    )
    chat = await statements_for(client, sql_counter, "/message/chat/", {"token": token, "to_user_id": bob})
    assert chat == small["/message/chat/"]


async def test_a_feed_page_or_comment_list_read_again_costs_one_statement(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter
) -> None:
    """The unchanging part of a list is kept by its ids; the live part is one statement, signed in or not."""
    authors = [await register(client, f"author{index}") for index in range(30)]
    _, token = await register(client, "viewer")
    videos = [
        await add_video(services, author, f"v{index}", T0 + index)
        for index, (author, _) in enumerate(authors)
    ]
    await add_comments(services, videos[-1], [author for author, _ in authors[:5]], 20, T0 + 100)
    signed_in: dict[str, object] = {"token": token}
    for params in (signed_in, {}):
        await statements_for(client, sql_counter, "/feed/", params)
        assert await statements_for(client, sql_counter, "/feed/", params) == 1
        comments = {"video_id": videos[-1], **params}
        await statements_for(client, sql_counter, "/comment/list/", comments)
        assert await statements_for(client, sql_counter, "/comment/list/", comments) == 1


async def test_readers_asking_at_once_for_a_new_video_fill_it_once(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter
) -> None:
    """A new video heads the feed for every reader at once: one of them runs its unchanging part, the
    others wait for that answer instead of each running it again."""
    author, _ = await register(client, "author")
    await add_video(services, author, "old", T0)
    await ok(client, "GET", "/feed/", {})
    one = await statements_for(client, sql_counter, "/feed/", {})  # everything kept: the live part only
    await add_video(services, author, "new", T0 + 1)
    sql_counter.reset()
    pages = await asyncio.gather(*(ok(client, "GET", "/feed/", {}) for _ in range(20)))
    assert all([video["title"] for video in page["video_list"]] == ["new", "old"] for page in pages)
    fills = sql_counter.count - 20 * one
    alone = await _fill_statements(client, services, sql_counter, author, one)
    assert fills == alone


async def _fill_statements(
    client: httpx.AsyncClient, services: Services, counter: StatementCounter, author: int, live: int
) -> int:
    """What one request's fill of one new video costs in statements."""
    await add_video(services, author, "newer", T0 + 2)
    return await statements_for(client, counter, "/feed/", {}) - live


async def test_when_the_filling_request_fails_the_others_fill_for_themselves(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    author, _ = await register(client, "author")
    await add_video(services, author, "first", T0)
    original = Session.run
    failed: list[str] = []

    async def failing_once(self: Session, document: Any, operation_name: str, variables: Any) -> Any:
        if operation_name == "FeedVideos" and not failed:
            failed.append(operation_name)
            await asyncio.sleep(0.05)  # the others ask meanwhile
            raise OperationFailedError("INTERNAL_SERVER_ERROR", "the database went away")
        return await original(self, document, operation_name, variables)

    monkeypatch.setattr(Session, "run", failing_once)
    responses = await asyncio.gather(*(client.get("/douyin/feed/") for _ in range(5)))
    codes = sorted(response.json()["status_code"] for response in responses)
    assert failed == ["FeedVideos"]
    assert codes[:4] == [0, 0, 0, 0]
    assert codes[4] != 0
    assert all(len(r.json()["video_list"]) == 1 for r in responses if r.json()["status_code"] == 0)
