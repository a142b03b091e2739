"""Concurrent writes leave exact counts: counters change in the row's transaction, idempotency comes
from the unique keys, and row locks are taken in one order so writers queue instead of deadlocking."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from storage.services import Services
from tests.support.clocks import ScriptedClock
from tests.support.factories import add_users, add_videos
from tests.support.graphql import data_of

LIKE = "mutation($id: ID!) { likeVideo(videoId: $id) { id } }"
VIDEO = "query($id: ID!) { video(id: $id) { favoriteCount commentCount author { totalFavorited } } }"
USER = "query($id: ID!) { user(id: $id) { favoriteCount followerCount followCount } }"
FOLLOW = "mutation($id: ID!) { followUser(userId: $id) { id } }"
SEND = "mutation($to: ID!, $c: String!) { sendMessage(toUserId: $to, content: $c) { createdAt } }"
CONVERSATION = "query($with: ID!) { conversation(withUserId: $with) { content createdAt } }"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Dozens of crossing writes from one client at once queue for the pool behind each other's row
    # locks; these tests are about what the writes leave behind, so they wait for a connection as long
    # as it takes instead of being answered SERVICE_BUSY after the short default wait.
    return {"db_pool_timeout_seconds": 60}


async def test_twenty_users_liking_one_video_at_once(client: httpx.AsyncClient, services: Services) -> None:
    author, *fans = await add_users(services, 21)
    [video_id] = await add_videos(services, author, 1)
    await asyncio.gather(*(data_of(client, LIKE, {"id": str(video_id)}, token=fan.token) for fan in fans))
    video = (await data_of(client, VIDEO, {"id": str(video_id)}))["video"]
    assert video["favoriteCount"] == 20
    assert video["author"]["totalFavorited"] == 20
    for fan in fans[:3]:
        assert (await data_of(client, USER, {"id": fan.gid}))["user"]["favoriteCount"] == 1


async def test_one_user_liking_the_same_video_many_times_at_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    author, fan = await add_users(services, 2)
    [video_id] = await add_videos(services, author, 1)
    await asyncio.gather(*(data_of(client, LIKE, {"id": str(video_id)}, token=fan.token) for _ in range(10)))
    video = (await data_of(client, VIDEO, {"id": str(video_id)}))["video"]
    assert video["favoriteCount"] == 1
    assert video["author"]["totalFavorited"] == 1
    assert (await data_of(client, USER, {"id": fan.gid}))["user"]["favoriteCount"] == 1


async def test_crossing_likes_and_follows_do_not_deadlock(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Users liking each other's videos and following each other at the same time."""
    users = await add_users(services, 6)
    videos = [
        (await add_videos(services, user, 1, start_ms=1_700_000_000_000 + i))[0]
        for i, user in enumerate(users)
    ]
    operations = []
    for liker in users:
        for author_index, video_id in enumerate(videos):
            if users[author_index] != liker:
                operations.append(data_of(client, LIKE, {"id": str(video_id)}, token=liker.token))
                operations.append(data_of(client, FOLLOW, {"id": users[author_index].gid}, token=liker.token))
    await asyncio.gather(*operations)
    for user, video_id in zip(users, videos, strict=True):
        counts = (await data_of(client, USER, {"id": user.gid}))["user"]
        assert counts == {"favoriteCount": 5, "followerCount": 5, "followCount": 5}
        assert (await data_of(client, VIDEO, {"id": str(video_id)}))["video"]["author"]["totalFavorited"] == 5


async def test_concurrent_messages_in_one_millisecond_get_distinct_times(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, bob = await add_users(services, 2)
    services.clock = ScriptedClock([1_796_092_800_000])
    sends = [data_of(client, SEND, {"to": bob.gid, "c": f"m{i}"}, token=alice.token) for i in range(5)]
    sends += [data_of(client, SEND, {"to": alice.gid, "c": f"r{i}"}, token=bob.token) for i in range(5)]
    results = await asyncio.gather(*sends)
    times = sorted(result["sendMessage"]["createdAt"] for result in results)
    assert len(set(times)) == 10
    assert times[0] == "2026-12-01T02:40:00.000Z"
    assert times[-1] == "2026-12-01T02:40:00.009Z"


async def test_concurrent_comments_and_deletes_keep_the_comment_count(
    client: httpx.AsyncClient, services: Services
) -> None:
    owner, *writers = await add_users(services, 11)
    [video_id] = await add_videos(services, owner, 1)
    add = "mutation($v: ID!, $c: String!) { addComment(videoId: $v, content: $c) { id } }"
    delete = "mutation($id: ID!) { deleteComment(commentId: $id) { deletedCommentId } }"
    added = await asyncio.gather(
        *(data_of(client, add, {"v": str(video_id), "c": "hi"}, token=writer.token) for writer in writers)
    )
    ids = [result["addComment"]["id"] for result in added]
    assert (await data_of(client, VIDEO, {"id": str(video_id)}))["video"]["commentCount"] == 10
    # The owner deletes half of them twice over, at the same time: each comment counts once.
    results = await asyncio.gather(
        *(
            client.post(
                "/graphql",
                json={"query": delete, "variables": {"id": comment_id}},
                headers={"Authorization": f"Bearer {owner.token}"},
            )
            for comment_id in ids[:5] * 2
        )
    )
    codes = [
        error["extensions"]["code"] for response in results for error in response.json().get("errors", [])
    ]
    assert set(codes) <= {"NOT_FOUND"}
    assert (await data_of(client, VIDEO, {"id": str(video_id)}))["video"]["commentCount"] == 5


async def test_concurrent_messages_in_many_new_conversations_all_arrive(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Empty conversations next to each other in the index: the senders' locks must not make any send
    fail (a deadlock between them is retried)."""
    users = await add_users(services, 12)
    pairs = [(users[i], users[i + 1]) for i in range(0, 12, 2)]
    sends = [
        data_of(client, SEND, {"to": to.gid, "c": f"{sender.name}->{to.name} {n}"}, token=sender.token)
        for sender, to in pairs
        for n in range(3)
    ]
    await asyncio.gather(*sends)
    for sender, to in pairs:
        history = (await data_of(client, CONVERSATION, {"with": to.gid}, token=sender.token))["conversation"]
        assert sorted(m["content"] for m in history) == [f"{sender.name}->{to.name} {n}" for n in range(3)]
        times = [m["createdAt"] for m in history]
        assert times == sorted(set(times))  # oldest first, no two alike
