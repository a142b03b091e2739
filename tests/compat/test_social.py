"""Contract: follow, unfollow, the follow/follower/friend lists over REST."""

from __future__ import annotations

from typing import Any

import httpx

from storage.services import Services
from tests.support.factories import expired_token
from tests.support.rest import USER_FIELDS, call, check_fields, check_user, fails, ok, register

FRIEND_FIELDS = {**USER_FIELDS, "message": str, "msgType": int}


async def follow(client: httpx.AsyncClient, token: str, user_id: int, action_type: int = 1) -> None:
    await ok(
        client,
        "POST",
        "/relation/action/",
        {"token": token, "to_user_id": user_id, "action_type": action_type},
    )


async def test_follow_lists_and_idempotent_counts(client: httpx.AsyncClient) -> None:
    alice, alice_token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    for _ in range(2):
        await follow(client, alice_token, bob)
    following = await ok(client, "GET", "/relation/follow/list/", {"user_id": alice, "token": alice_token})
    (shown,) = following["user_list"]
    check_user(shown)
    assert (shown["id"], shown["is_follow"], shown["follower_count"]) == (bob, True, 1)
    followers = await ok(client, "GET", "/relation/follower/list/", {"user_id": bob, "token": bob_token})
    (fan,) = followers["user_list"]
    check_user(fan)
    assert (fan["id"], fan["is_follow"], fan["follow_count"]) == (alice, False, 1)
    anonymous = await ok(client, "GET", "/relation/follower/list/", {"user_id": bob})
    assert anonymous["user_list"][0]["is_follow"] is False

    for _ in range(2):
        await follow(client, alice_token, bob, action_type=2)
    assert (await ok(client, "GET", "/relation/follow/list/", {"user_id": alice}))["user_list"] == []
    assert (await ok(client, "GET", "/relation/follower/list/", {"user_id": bob}))["user_list"] == []
    me = (await ok(client, "GET", "/user/", {"token": alice_token}))["user"]
    assert me["follow_count"] == 0


async def test_relation_failures_change_nothing(client: httpx.AsyncClient, services: Services) -> None:
    alice, token = await register(client, "alice")
    bob, _ = await register(client, "bob")
    cases: list[tuple[dict[str, Any], int]] = [
        ({"to_user_id": bob, "action_type": 1}, 1),
        ({"token": "forged", "to_user_id": bob, "action_type": 1}, 1),
        ({"token": expired_token(services, alice), "to_user_id": bob, "action_type": 1}, 1),
        ({"token": token, "to_user_id": alice, "action_type": 1}, 2),  # oneself
        ({"token": token, "to_user_id": bob, "action_type": 0}, 2),
        ({"token": token, "to_user_id": "bob", "action_type": 1}, 2),
        ({"token": token, "action_type": 1}, 2),
        ({"token": token, "to_user_id": bob + 100, "action_type": 1}, 3),
    ]
    for params, status in cases:
        body = await fails(client, "POST", "/relation/action/", params)
        assert body["status_code"] == status, (params, body)
    assert (await ok(client, "GET", "/relation/follow/list/", {"user_id": alice}))["user_list"] == []
    assert (await ok(client, "GET", "/user/", {"user_id": bob}))["user"]["follower_count"] == 0


async def test_list_failures_keep_an_empty_list(client: httpx.AsyncClient) -> None:
    for path in ("/relation/follow/list/", "/relation/follower/list/", "/relation/friend/list/"):
        missing = await fails(client, "GET", path, {"user_id": 4242})
        assert (missing["status_code"], missing["user_list"]) == (3, [])
        malformed = await fails(client, "GET", path, {"user_id": "me"})
        assert (malformed["status_code"], malformed["user_list"]) == (2, [])
    required = await fails(client, "GET", "/relation/follow/list/", {})
    assert required["status_msg"] == "user_id is required"


async def test_own_follow_list_shows_is_follow_true_for_everyone(client: httpx.AsyncClient) -> None:
    alice, token = await register(client, "alice")
    others = [(await register(client, f"user{index}"))[0] for index in range(3)]
    for other in others:
        await follow(client, token, other)
    listed = (await ok(client, "GET", "/relation/follow/list/", {"user_id": alice, "token": token}))[
        "user_list"
    ]
    assert sorted(user["id"] for user in listed) == sorted(others)
    assert all(user["is_follow"] for user in listed)


async def test_friend_list_is_mutual_follows_with_the_latest_message(client: httpx.AsyncClient) -> None:
    alice, alice_token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    carol, _ = await register(client, "carol")
    await follow(client, alice_token, bob)
    await follow(client, alice_token, carol)  # one-way: not a friend
    assert (await ok(client, "GET", "/relation/friend/list/", {"token": alice_token}))["user_list"] == []
    await follow(client, bob_token, alice)

    quiet = (await ok(client, "GET", "/relation/friend/list/", {"token": alice_token}))["user_list"]
    assert len(quiet) == 1
    check_fields(quiet[0], FRIEND_FIELDS)
    assert (quiet[0]["id"], quiet[0]["message"], quiet[0]["msgType"]) == (bob, "", 0)
    assert quiet[0]["is_follow"] is True

    send = {"token": alice_token, "to_user_id": bob, "action_type": 1, "content": "hi bob"}
    await ok(client, "POST", "/message/action/", send)
    (for_alice,) = (await ok(client, "GET", "/relation/friend/list/", {"token": alice_token}))["user_list"]
    assert (for_alice["message"], for_alice["msgType"]) == ("hi bob", 1)
    by_id = await ok(client, "GET", "/relation/friend/list/", {"token": bob_token, "user_id": bob})
    (for_bob,) = by_id["user_list"]
    assert (for_bob["id"], for_bob["message"], for_bob["msgType"]) == (alice, "hi bob", 0)

    reply = {"token": bob_token, "to_user_id": alice, "action_type": 1, "content": "hi alice"}
    await ok(client, "POST", "/message/action/", reply)
    (for_alice,) = (await ok(client, "GET", "/relation/friend/list/", {"token": alice_token}))["user_list"]
    assert (for_alice["message"], for_alice["msgType"]) == ("hi alice", 0)


async def test_friend_list_without_user_id_needs_a_token(client: httpx.AsyncClient) -> None:
    for params in ({}, {"token": "forged"}):
        body = await call(client, "GET", "/relation/friend/list/", params)
        assert (body["status_code"], body["user_list"]) == (1, [])
