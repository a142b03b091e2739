"""Contract: feed, publish list, likes and comments over REST."""

from __future__ import annotations

import time
from typing import Any

import httpx

from core.clock import now_ms
from storage.services import Services
from tests.support.factories import add_comments, add_video, expired_token
from tests.support.rest import call, check_comment, check_video, fails, ok, register

T0 = 1_700_000_000_000  # fixed publish times, in ms


async def test_feed_is_anonymous_newest_first_and_well_formed(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, _ = await register(client, "alice")
    first = await add_video(services, alice, "first", T0)
    second = await add_video(services, alice, "second", T0 + 1000)
    body = await ok(client, "GET", "/feed/")
    assert [video["id"] for video in body["video_list"]] == [second, first]
    for video in body["video_list"]:
        check_video(video)
        assert video["is_favorite"] is False
        assert video["author"]["is_follow"] is False
        assert video["author"]["work_count"] == 2
    assert body["video_list"][0]["title"] == "second"
    assert body["next_time"] == T0  # the oldest video of the batch, in ms


async def test_feed_pages_with_next_time_in_milliseconds(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, _ = await register(client, "alice")
    ids = [await add_video(services, alice, f"v{index}", T0 + index * 1000) for index in range(35)]
    page = await ok(client, "GET", "/feed/", {"latest_time": str(now_ms())})
    assert len(page["video_list"]) == 30
    assert [video["id"] for video in page["video_list"]] == ids[::-1][:30]
    assert page["next_time"] == T0 + 5 * 1000
    rest = await ok(client, "GET", "/feed/", {"latest_time": page["next_time"]})
    assert [video["id"] for video in rest["video_list"]] == ids[4::-1]  # strictly older, no repeat
    assert rest["next_time"] == T0
    done = await ok(client, "GET", "/feed/", {"latest_time": rest["next_time"]})
    assert done["video_list"] == []
    assert abs(done["next_time"] - now_ms()) < 60_000  # empty: now, in ms


async def test_feed_paging_skips_no_video_published_in_the_same_millisecond(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Five videos share the millisecond where the first page would end: the first page holds them all
    back, and the next page (asked by time alone, as the APK does) starts with every one of them."""
    alice, _ = await register(client, "alice")
    older = [await add_video(services, alice, f"old{index}", T0 + index * 1000) for index in range(3)]
    tied = [await add_video(services, alice, f"tied{index}", T0 + 10_000) for index in range(5)]
    newer = [await add_video(services, alice, f"new{index}", T0 + 20_000 + index) for index in range(27)]
    first = await ok(client, "GET", "/feed/")
    assert [video["id"] for video in first["video_list"]] == newer[::-1]
    assert first["next_time"] == T0 + 10_001
    second = await ok(client, "GET", "/feed/", {"latest_time": first["next_time"]})
    shown = [video["id"] for video in second["video_list"]]
    assert sorted(shown[:5]) == sorted(tied)
    assert shown[5:] == older[::-1]
    assert second["next_time"] == T0


async def test_feed_latest_time_in_seconds_and_unusable_values(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, _ = await register(client, "alice")
    old = await add_video(services, alice, "old", T0)
    new = await add_video(services, alice, "new", T0 + 5000)
    in_seconds = await ok(client, "GET", "/feed/", {"latest_time": (T0 + 3000) // 1000})
    assert [video["id"] for video in in_seconds["video_list"]] == [old]
    for unusable in ("0", "", "soon", "-1"):
        body = await ok(client, "GET", "/feed/", {"latest_time": unusable})
        assert [video["id"] for video in body["video_list"]] == [new, old]


async def test_feed_marks_likes_and_follows_of_the_caller_only(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, _ = await register(client, "alice")
    _, bob_token = await register(client, "bob")
    _, carol_token = await register(client, "carol")
    video = await add_video(services, alice, "clip", T0)
    await ok(client, "POST", "/favorite/action/", {"token": bob_token, "video_id": video, "action_type": 1})
    await ok(client, "POST", "/relation/action/", {"token": bob_token, "to_user_id": alice, "action_type": 1})
    for token, expected in ((bob_token, True), (carol_token, False), ("broken-token", False)):
        body = await ok(client, "GET", "/feed/", {"token": token})
        (shown,) = body["video_list"]
        assert shown["is_favorite"] is expected
        assert shown["author"]["is_follow"] is expected
        assert shown["favorite_count"] == 1


async def test_publish_list_is_one_users_videos_newest_first(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, token = await register(client, "alice")
    bob, _ = await register(client, "bob")
    mine = [await add_video(services, alice, f"a{index}", T0 + index) for index in range(3)]
    await add_video(services, bob, "b", T0 + 10)
    for params in ({"user_id": alice, "token": token}, {"user_id": alice}, {"user_id": alice, "token": "x"}):
        body = await ok(client, "GET", "/publish/list/", params)
        assert [video["id"] for video in body["video_list"]] == mine[::-1]
        for video in body["video_list"]:
            check_video(video)
            assert video["author"]["id"] == alice
    malformed = await call(client, "GET", "/publish/list/", {"user_id": "abc"})
    assert (malformed["status_code"], malformed["video_list"]) == (2, [])


async def test_publish_list_of_a_missing_user_fails_with_an_empty_list(client: httpx.AsyncClient) -> None:
    body = await fails(client, "GET", "/publish/list/", {"user_id": 999})
    assert body["status_code"] == 3
    assert body["video_list"] == []


async def test_publish_list_returns_more_than_one_page(client: httpx.AsyncClient, services: Services) -> None:
    alice, _ = await register(client, "alice")
    for index in range(105):
        await add_video(services, alice, f"v{index}", T0 + index)
    body = await ok(client, "GET", "/publish/list/", {"user_id": alice})
    ids = [video["id"] for video in body["video_list"]]
    assert len(ids) == len(set(ids)) == 105


async def test_like_and_unlike_are_idempotent_and_counted_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, alice_token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    video = await add_video(services, alice, "clip", T0)
    like = {"token": bob_token, "video_id": video, "action_type": 1}
    unlike = {**like, "action_type": 2}

    async def counts() -> tuple[int, int, int]:
        (shown,) = (await ok(client, "GET", "/publish/list/", {"user_id": alice}))["video_list"]
        liker = (await ok(client, "GET", "/user/", {"user_id": bob}))["user"]
        return shown["favorite_count"], liker["favorite_count"], shown["author"]["total_favorited"]

    for _ in range(2):
        await ok(client, "POST", "/favorite/action/", like)
        assert await counts() == (1, 1, 1)
    liked = await ok(client, "GET", "/favorite/list/", {"user_id": bob, "token": bob_token})
    (shown,) = liked["video_list"]
    check_video(shown)
    assert (shown["id"], shown["is_favorite"]) == (video, True)
    seen_by_alice = await ok(client, "GET", "/favorite/list/", {"user_id": bob, "token": alice_token})
    assert seen_by_alice["video_list"][0]["is_favorite"] is False
    for _ in range(2):
        await ok(client, "POST", "/favorite/action/", unlike)
        assert await counts() == (0, 0, 0)
    assert (await ok(client, "GET", "/favorite/list/", {"user_id": bob}))["video_list"] == []


async def test_like_failures_change_nothing(client: httpx.AsyncClient, services: Services) -> None:
    alice, token = await register(client, "alice")
    video = await add_video(services, alice, "clip", T0)
    cases: list[tuple[dict[str, Any], int]] = [
        ({"video_id": video, "action_type": 1}, 1),
        ({"token": "forged", "video_id": video, "action_type": 1}, 1),
        ({"token": expired_token(services, alice), "video_id": video, "action_type": 1}, 1),
        ({"token": token, "video_id": video, "action_type": 3}, 2),
        ({"token": token, "video_id": video}, 2),
        ({"token": token, "video_id": "x", "action_type": 1}, 2),
        ({"token": token, "video_id": video + 50, "action_type": 1}, 3),
    ]
    for params, status in cases:
        body = await fails(client, "POST", "/favorite/action/", params)
        assert body["status_code"] == status, (params, body)
        if status == 1 and "token" in params:
            assert body["status_msg"] == "User doesn't exist: the token is invalid or expired, sign in again"
        elif status == 1:
            assert body["status_msg"] == "token is required: sign in first"
    (shown,) = (await ok(client, "GET", "/feed/"))["video_list"]
    assert shown["favorite_count"] == 0


async def test_comment_publish_list_and_delete(client: httpx.AsyncClient, services: Services) -> None:
    alice, alice_token = await register(client, "alice")
    _, bob_token = await register(client, "bob")
    video = await add_video(services, alice, "clip", T0)
    params = {"token": bob_token, "video_id": video, "action_type": 1, "comment_text": "测试评论 👍"}
    added = (await ok(client, "POST", "/comment/action/", params))["comment"]
    check_comment(added)
    assert added["content"] == "测试评论 👍"
    assert added["user"]["name"] == "bob"
    assert added["create_date"] == time.strftime("%m-%d", time.gmtime())
    second = (await ok(client, "POST", "/comment/action/", {**params, "comment_text": "again"}))["comment"]
    listed = await ok(client, "GET", "/comment/list/", {"video_id": video})
    assert [comment["id"] for comment in listed["comment_list"]] == [second["id"], added["id"]]
    for comment in listed["comment_list"]:
        check_comment(comment)
    (shown,) = (await ok(client, "GET", "/feed/"))["video_list"]
    assert shown["comment_count"] == 2

    # Only the writer or the video's owner may delete.
    _, carol_token = await register(client, "carol")
    delete = {"video_id": video, "action_type": 2, "comment_id": added["id"]}
    refused = await fails(client, "POST", "/comment/action/", {**delete, "token": carol_token})
    assert refused["status_code"] == 4
    await ok(client, "POST", "/comment/action/", {**delete, "token": bob_token})
    await ok(client, "POST", "/comment/action/", {**delete, "comment_id": second["id"], "token": alice_token})
    assert (await ok(client, "GET", "/comment/list/", {"video_id": video}))["comment_list"] == []
    (shown,) = (await ok(client, "GET", "/feed/"))["video_list"]
    assert shown["comment_count"] == 0


async def test_comment_failures(client: httpx.AsyncClient, services: Services) -> None:
    alice, token = await register(client, "alice")
    video = await add_video(services, alice, "clip", T0)
    base = {"token": token, "video_id": video}
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({**base, "action_type": 1}, 2, "comment_text is required when action_type is 1"),
        (
            {**base, "action_type": 1, "comment_text": "x" * 501},
            2,
            "comment_text must be at most 500 characters",
        ),
        ({**base, "action_type": 2}, 2, "comment_id is required when action_type is 2"),
        ({**base, "action_type": 2, "comment_id": "abc"}, 2, "comment_id must be a positive integer id"),
        ({**base, "action_type": 5, "comment_text": "hi"}, 2, "action_type must be 1 or 2"),
        ({"video_id": video, "action_type": 1, "comment_text": "hi"}, 1, None),
        ({**base, "video_id": video + 9, "action_type": 1, "comment_text": "hi"}, 3, None),
        ({**base, "action_type": 2, "comment_id": 12345}, 3, None),
    ]
    for params, status, message in cases:
        body = await fails(client, "POST", "/comment/action/", params)
        assert body["status_code"] == status, (params, body)
        if message:
            assert body["status_msg"] == message
    assert (await ok(client, "GET", "/comment/list/", {"video_id": video}))["comment_list"] == []
    missing = await fails(client, "GET", "/comment/list/", {"video_id": video + 9})
    assert (missing["status_code"], missing["comment_list"]) == (3, [])


async def test_comment_list_returns_every_comment_newest_first(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, token = await register(client, "alice")
    video = await add_video(services, alice, "clip", T0)
    await add_comments(services, video, [alice], 150, T0)
    params = {"token": token, "video_id": video, "action_type": 1, "comment_text": "newest"}
    newest = (await ok(client, "POST", "/comment/action/", params))["comment"]
    listed = (await ok(client, "GET", "/comment/list/", {"video_id": video, "token": token}))["comment_list"]
    assert len(listed) == 151
    assert listed[0]["id"] == newest["id"]
    assert [comment["content"] for comment in listed[1:4]] == ["comment 149", "comment 148", "comment 147"]
    assert len({comment["id"] for comment in listed}) == 151
