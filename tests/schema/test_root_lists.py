"""A root field's list is answered in one go: on SQLite its loader reads run inline, so the operation
never waits a turn of the event loop (under load, a turn is every other request's work); elsewhere the
same answers come through the usual batches. Nested lists keep sharing one batch (test_queries.py)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from schema.executor import Executor
from storage.services import Services
from tests.conftest import StatementCounter
from tests.support.factories import add_comments, add_follows, add_likes, add_users, add_video

T0 = 1_700_000_000_000

VIDEOS = """
query Videos($ids: [ID!]!) {
  videos(ids: $ids) { id title viewerHasLiked author { id name viewerIsFollowing } }
}
"""
COMMENTS = "query Comments($ids: [ID!]!) { comments(ids: $ids) { id content author { id name } } }"


def _without_yielding(operation: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """The operation's answer when it finishes on its first step; fails when it awaits anything."""
    try:
        operation.send(None)
    except StopIteration as finished:
        answer: dict[str, Any] = finished.value
        return answer
    operation.close()
    raise AssertionError("the operation waited for the event loop")


async def _answer(services: Services, operation: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    if services.db.reads_inline:
        return _without_yielding(operation)
    return await operation


async def test_videos_by_id_with_authors_likes_and_follows_in_one_go(
    services: Services, sql_counter: StatementCounter
) -> None:
    viewer, alice, bob = await add_users(services, 3)
    first = await add_video(services, alice.id, "first", T0)
    second = await add_video(services, bob.id, "second", T0 + 1)
    await add_likes(services, viewer, [second])
    await add_follows(services, [(viewer, alice)])
    executor = Executor(services)
    session = await executor.start(None, viewer.token)
    document = executor.prepare("videos", VIDEOS)
    ids = [str(first), str(second), "999999"]
    sql_counter.reset()
    answer = await _answer(services, session.run(document, "Videos", {"ids": ids}))
    assert answer["videos"] == [
        {
            "id": str(first),
            "title": "first",
            "viewerHasLiked": False,
            "author": {"id": alice.gid, "name": alice.name, "viewerIsFollowing": True},
        },
        {
            "id": str(second),
            "title": "second",
            "viewerHasLiked": True,
            "author": {"id": bob.gid, "name": bob.name, "viewerIsFollowing": False},
        },
        None,
    ]
    assert sql_counter.count == 4  # the videos, their authors, the viewer's likes, the viewer's follows


async def test_comments_by_id_with_their_authors_in_one_go(
    services: Services, sql_counter: StatementCounter
) -> None:
    author, alice, bob = await add_users(services, 3)
    video = await add_video(services, author.id, "clip", T0)
    await add_comments(services, video, [alice, bob], 4, T0 + 10)
    executor = Executor(services)
    session = await executor.start(None, None)
    listed = await session.run(
        executor.prepare(
            "list", "query L($v: ID!) { video(id: $v) { comments(first: 10) { nodes { id } } } }"
        ),
        "L",
        {"v": str(video)},
    )
    ids = [node["id"] for node in listed["video"]["comments"]["nodes"]]
    sql_counter.reset()
    answer = await _answer(
        services, session.run(executor.prepare("comments", COMMENTS), "Comments", {"ids": ids})
    )
    authors = [comment["author"]["name"] for comment in answer["comments"]]
    assert sorted(authors) == sorted([alice.name, bob.name] * 2)
    assert [comment["content"] for comment in answer["comments"]] == [
        "comment 3",
        "comment 2",
        "comment 1",
        "comment 0",
    ]
    assert sql_counter.count == 2  # the comments, their authors
