"""register, login, the viewer, and tokens."""

from __future__ import annotations

import time

import httpx
from jose import jwt

from resolvers.auth import ALGORITHM
from settings import Settings
from storage.services import Services
from tests.support.graphql import data_of, error_codes, gql

REGISTER = """
mutation($u: String!, $p: String!) {
  register(username: $u, password: $p) { token user { id name followCount avatar backgroundImage } }
}"""
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { id name } } }"
VIEWER = "{ viewer { id name } }"


async def test_register_then_login_gives_tokens_naming_the_user(client: httpx.AsyncClient) -> None:
    registered = (await data_of(client, REGISTER, {"u": "alice", "p": "secret1"}))["register"]
    user = registered["user"]
    assert user["name"] == "alice"
    assert user["followCount"] == 0
    assert user["avatar"] == "http://testserver/assets/avatar.jpg"
    assert user["backgroundImage"] == "http://testserver/assets/background.jpg"
    viewer = await data_of(client, VIEWER, token=registered["token"])
    assert viewer["viewer"] == {"id": user["id"], "name": "alice"}

    logged_in = (await data_of(client, LOGIN, {"u": "alice", "p": "secret1"}))["login"]
    assert logged_in["user"]["id"] == user["id"]
    assert (await data_of(client, VIEWER, token=logged_in["token"]))["viewer"]["name"] == "alice"


async def test_token_is_hs256_with_expiry(client: httpx.AsyncClient, services: Services) -> None:
    token = (await data_of(client, REGISTER, {"u": "bob", "p": "secret1"}))["register"]["token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.get_unverified_claims(token)
    assert claims["exp"] - claims["iat"] == services.settings.jwt_ttl_seconds


async def test_taken_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    await data_of(client, REGISTER, {"u": "carol", "p": "secret1"})
    assert await error_codes(client, REGISTER, {"u": "carol", "p": "another1"}) == ["CONFLICT"]


async def test_names_differing_only_in_case_are_different_users(client: httpx.AsyncClient) -> None:
    await data_of(client, REGISTER, {"u": "Dave", "p": "secret1"})
    second = await data_of(client, REGISTER, {"u": "dave", "p": "secret1"})
    assert second["register"]["user"]["name"] == "dave"


async def test_wrong_password_or_unknown_user_is_unauthenticated(client: httpx.AsyncClient) -> None:
    await data_of(client, REGISTER, {"u": "erin", "p": "secret1"})
    assert await error_codes(client, LOGIN, {"u": "erin", "p": "wrong-1"}) == ["UNAUTHENTICATED"]
    assert await error_codes(client, LOGIN, {"u": "nobody", "p": "secret1"}) == ["UNAUTHENTICATED"]


async def test_raising_the_password_minimum_does_not_lock_out_existing_users(
    client: httpx.AsyncClient, services: Services
) -> None:
    await data_of(client, REGISTER, {"u": "early", "p": "sixsix"})
    # The server restarts with a stricter rule for new passwords.
    services.settings = Settings.model_validate({**services.settings.model_dump(), "password_min": 10})
    assert await error_codes(client, REGISTER, {"u": "late", "p": "sixsix"}) == ["BAD_USER_INPUT"]
    signed_in = (await data_of(client, LOGIN, {"u": "early", "p": "sixsix"}))["login"]
    assert signed_in["user"]["name"] == "early"
    assert await error_codes(client, LOGIN, {"u": "early", "p": "sixsiz"}) == ["UNAUTHENTICATED"]
    # Sign-in still bounds what it hashes and looks up.
    assert await error_codes(client, LOGIN, {"u": "early", "p": "x" * 33}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, LOGIN, {"u": "e" * 33, "p": "sixsix"}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, LOGIN, {"u": "", "p": "sixsix"}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, LOGIN, {"u": "early", "p": ""}) == ["BAD_USER_INPUT"]


async def test_input_limits_count_characters(client: httpx.AsyncClient) -> None:
    # 32 emoji are 32 characters (128 bytes in UTF-8): allowed; 33 are not.
    emoji_name = "😀" * 32
    assert (await data_of(client, REGISTER, {"u": emoji_name, "p": "秘密秘密秘密"}))["register"]["user"][
        "name"
    ] == emoji_name
    assert await error_codes(client, REGISTER, {"u": "😀" * 33, "p": "secret1"}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, REGISTER, {"u": "", "p": "secret1"}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, REGISTER, {"u": "frank", "p": "12345"}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, REGISTER, {"u": "frank", "p": "x" * 33}) == ["BAD_USER_INPUT"]
    longest = await data_of(client, REGISTER, {"u": "f" * 32, "p": "x" * 32})
    assert longest["register"]["user"]["name"] == "f" * 32


async def test_bad_tokens_mean_anonymous(client: httpx.AsyncClient, services: Services) -> None:
    user_id = (await data_of(client, REGISTER, {"u": "gina", "p": "secret1"}))["register"]["user"]["id"]
    secret = services.settings.jwt_secret
    now = int(time.time())
    expired = jwt.encode({"sub": user_id, "iat": now - 100, "exp": now - 10}, secret, algorithm=ALGORITHM)
    forged = jwt.encode({"sub": user_id, "exp": now + 100}, "another-secret-0123456789", algorithm=ALGORITHM)
    no_expiry = jwt.encode({"sub": user_id}, secret, algorithm=ALGORITHM)
    for token in (expired, forged, no_expiry, "garbage"):
        assert (await data_of(client, VIEWER, token=token))["viewer"] is None
        like = 'mutation { followUser(userId: "1") { id } }'
        assert await error_codes(client, like, token=token) == ["UNAUTHENTICATED"]


async def test_anonymous_viewer_is_null(client: httpx.AsyncClient) -> None:
    assert (await data_of(client, VIEWER))["viewer"] is None
    response = await client.post("/graphql", json={"query": VIEWER}, headers={"Authorization": "Basic abc"})
    assert response.json()["data"]["viewer"] is None


async def test_login_token_works_for_user_query(client: httpx.AsyncClient) -> None:
    registered = (await data_of(client, REGISTER, {"u": "hank", "p": "secret1"}))["register"]
    body = await gql(client, "query($id: ID!) { user(id: $id) { name } }", {"id": registered["user"]["id"]})
    assert body["data"]["user"]["name"] == "hank"
