"""Contract: register, login and user info over REST."""

from __future__ import annotations

from typing import Any

import httpx

from settings import Settings
from storage.services import Services
from tests.support.factories import expired_token
from tests.support.rest import PASSWORD, call, check_user, fails, ok, register


async def test_register_returns_a_numeric_id_and_a_token_that_works_at_once(
    client: httpx.AsyncClient,
) -> None:
    body = await ok(client, "POST", "/user/register/", {"username": "alice", "password": PASSWORD})
    assert type(body["user_id"]) is int
    assert body["user_id"] > 0
    assert isinstance(body["token"], str)
    assert body["token"]
    me = await ok(client, "GET", "/user/", {"token": body["token"]})
    assert me["user"]["id"] == body["user_id"]
    assert me["user"]["name"] == "alice"


async def test_register_a_taken_name_fails_with_an_empty_token(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    body = await fails(client, "POST", "/user/register/", {"username": "alice", "password": "another-pw"})
    assert body["status_code"] == 5
    assert body["token"] == ""
    assert "user_id" not in body


async def test_register_refuses_malformed_credentials(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"username": "", "password": PASSWORD}, "username must not be empty"),
        ({"username": "x" * 33, "password": PASSWORD}, "username must be at most 32 characters"),
        ({"username": "bob", "password": "p" * 33}, "password must be at most 32 characters"),
        ({"password": PASSWORD}, "username is required"),
        ({"username": "bob"}, "password is required"),
    ]
    for params, message in cases:
        body = await fails(client, "POST", "/user/register/", params)
        assert (body["status_code"], body["status_msg"], body["token"]) == (2, message, "")
    short = await fails(client, "POST", "/user/register/", {"username": "bob", "password": "12345"})
    assert (short["status_code"], short["status_msg"], short["token"]) == (2, "password is too short", "")
    # Nothing was created by the refused attempts: sign-in does not judge the password's shape, so this
    # reaches the lookup and the hash, and a bob made with "12345" would be signed in.
    refused = await fails(client, "POST", "/user/login/", {"username": "bob", "password": "12345"})
    assert (refused["status_code"], refused["status_msg"], refused["token"]) == (
        1,
        "Wrong username or password",
        "",
    )
    # And the name is still free.
    await ok(client, "POST", "/user/register/", {"username": "bob", "password": PASSWORD})


async def test_raising_the_password_minimum_does_not_lock_out_existing_users(
    client: httpx.AsyncClient, services: Services
) -> None:
    user_id = (await ok(client, "POST", "/user/register/", {"username": "early", "password": "sixsix"}))[
        "user_id"
    ]
    # The server restarts with a stricter rule for new passwords.
    services.settings = Settings.model_validate({**services.settings.model_dump(), "password_min": 10})
    late = await fails(client, "POST", "/user/register/", {"username": "late", "password": "sixsix"})
    assert (late["status_code"], late["status_msg"]) == (2, "password is too short")
    body = await ok(client, "POST", "/user/login/", {"username": "early", "password": "sixsix"})
    assert body["user_id"] == user_id
    assert body["token"]


async def test_username_limit_counts_characters_not_bytes(client: httpx.AsyncClient) -> None:
    name = "抖" * 32
    user_id, token = await register(client, name)
    me = await ok(client, "GET", "/user/", {"token": token, "user_id": user_id})
    assert me["user"]["name"] == name


async def test_login(client: httpx.AsyncClient) -> None:
    user_id, _ = await register(client, "alice")
    body = await ok(client, "POST", "/user/login/", {"username": "alice", "password": PASSWORD})
    assert body["user_id"] == user_id
    assert body["token"]
    wrong = await fails(client, "POST", "/user/login/", {"username": "alice", "password": "wrong-password"})
    assert (wrong["status_code"], wrong["status_msg"], wrong["token"]) == (
        1,
        "Wrong username or password",
        "",
    )
    unknown = await fails(client, "POST", "/user/login/", {"username": "nobody", "password": PASSWORD})
    # The same answer as a wrong password, so it does not tell which names exist.
    assert (unknown["status_code"], unknown["status_msg"], unknown["token"]) == (
        1,
        "Wrong username or password",
        "",
    )
    assert "user_id" not in unknown


async def test_user_info_without_user_id_is_the_token_owner(client: httpx.AsyncClient) -> None:
    alice, token = await register(client, "alice")
    await register(client, "bob")
    body = await ok(client, "GET", "/user/", {"token": token})
    check_user(body["user"])
    assert body["user"]["id"] == alice
    assert body["user"]["is_follow"] is False  # never true for oneself


async def test_user_info_with_user_id_and_is_follow_relative_to_the_caller(client: httpx.AsyncClient) -> None:
    alice, alice_token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    await ok(client, "POST", "/relation/action/", {"token": alice_token, "to_user_id": bob, "action_type": 1})
    seen_by_alice = (await ok(client, "GET", "/user/", {"token": alice_token, "user_id": bob}))["user"]
    seen_by_bob = (await ok(client, "GET", "/user/", {"token": bob_token, "user_id": bob}))["user"]
    anonymous = (await ok(client, "GET", "/user/", {"user_id": bob}))["user"]
    check_user(seen_by_alice)
    assert seen_by_alice["id"] == bob
    assert seen_by_alice["is_follow"] is True
    assert seen_by_alice["follower_count"] == 1
    assert seen_by_bob["is_follow"] is False
    assert anonymous["is_follow"] is False
    alice_seen = (await ok(client, "GET", "/user/", {"token": bob_token, "user_id": alice}))["user"]
    assert alice_seen["follow_count"] == 1
    assert alice_seen["is_follow"] is False


async def test_user_info_failures(client: httpx.AsyncClient, services: Services) -> None:
    alice, token = await register(client, "alice")
    for params in ({}, {"token": "not-a-token"}, {"token": expired_token(services, alice)}):
        body = await fails(client, "GET", "/user/", params)
        assert body["status_code"] == 1
        assert "User doesn't exist" in body["status_msg"]
    missing = await fails(client, "GET", "/user/", {"token": token, "user_id": alice + 100})
    assert (missing["status_code"], missing["status_msg"]) == (3, "User doesn't exist")
    malformed = await fails(client, "GET", "/user/", {"token": token, "user_id": "abc"})
    assert (malformed["status_code"], malformed["status_msg"]) == (2, "user_id must be a positive integer id")


async def test_user_info_with_a_bad_token_and_a_user_id_is_anonymous(client: httpx.AsyncClient) -> None:
    alice, _ = await register(client, "alice")
    body = await call(client, "GET", "/user/", {"token": "garbage", "user_id": alice})
    assert body["status_code"] == 0
    assert body["user"]["is_follow"] is False
