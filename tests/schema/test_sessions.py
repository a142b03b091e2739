"""logout and changePassword: revoked and older tokens are refused on both faces, and the check is cheap."""

from __future__ import annotations

import httpx

from resolvers import sessions
from resolvers.auth import issue_token
from storage.services import Services
from tests.conftest import StatementCounter
from tests.support.graphql import data_of, error_codes, gql
from tests.support.rest import call

REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token user { id } } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"
LOGOUT = "mutation { logout }"
CHANGE = """
mutation($c: String!, $n: String!) {
  changePassword(currentPassword: $c, newPassword: $n) { token user { id name } }
}"""
VIEWER = "{ viewer { id } }"


async def _register(
    client: httpx.AsyncClient, name: str = "alice", password: str = "secret1"
) -> tuple[str, str]:
    payload = (await data_of(client, REGISTER, {"u": name, "p": password}))["register"]
    return payload["user"]["id"], payload["token"]


async def _signed_in_on_both_faces(client: httpx.AsyncClient, user_id: str, token: str) -> bool:
    graphql = (await gql(client, VIEWER, token=token))["data"]["viewer"]
    rest = await call(client, "GET", "/user/", {"token": token})  # without user_id: the token owner
    assert (graphql is not None) == (rest["status_code"] == 0), (graphql, rest)
    if graphql is not None:
        assert graphql["id"] == user_id
        assert str(rest["user"]["id"]) == user_id
    return graphql is not None


async def test_logout_refuses_every_token_of_the_user_on_both_faces(client: httpx.AsyncClient) -> None:
    user_id, first = await _register(client)
    second = (await data_of(client, LOGIN, {"u": "alice", "p": "secret1"}))["login"]["token"]
    other_id, other = await _register(client, "bob")
    assert await _signed_in_on_both_faces(client, user_id, first)

    assert (await data_of(client, LOGOUT, token=second)) == {"logout": True}

    assert not await _signed_in_on_both_faces(client, user_id, first)
    assert not await _signed_in_on_both_faces(client, user_id, second)
    assert await error_codes(client, LOGOUT, token=first) == ["UNAUTHENTICATED"]
    # Another user's session is untouched, and signing in again works.
    assert await _signed_in_on_both_faces(client, other_id, other)
    again = (await data_of(client, LOGIN, {"u": "alice", "p": "secret1"}))["login"]["token"]
    assert await _signed_in_on_both_faces(client, user_id, again)


async def test_logout_needs_a_signed_in_viewer(client: httpx.AsyncClient) -> None:
    assert await error_codes(client, LOGOUT) == ["UNAUTHENTICATED"]


async def test_change_password_revokes_older_tokens_and_answers_a_new_one(client: httpx.AsyncClient) -> None:
    user_id, old = await _register(client)
    changed = (await data_of(client, CHANGE, {"c": "secret1", "n": "better-secret"}, token=old))[
        "changePassword"
    ]
    assert changed["user"] == {"id": user_id, "name": "alice"}
    assert not await _signed_in_on_both_faces(client, user_id, old)
    assert await _signed_in_on_both_faces(client, user_id, changed["token"])
    assert await error_codes(client, LOGIN, {"u": "alice", "p": "secret1"}) == ["UNAUTHENTICATED"]
    assert (await data_of(client, LOGIN, {"u": "alice", "p": "better-secret"}))["login"]["token"]


async def test_change_password_refuses_a_wrong_current_password_and_a_bad_new_one(
    client: httpx.AsyncClient,
) -> None:
    user_id, token = await _register(client)
    assert await error_codes(client, CHANGE, {"c": "wrong-one", "n": "better-secret"}, token=token) == [
        "UNAUTHENTICATED"
    ]
    assert await error_codes(client, CHANGE, {"c": "secret1", "n": "x"}, token=token) == ["BAD_USER_INPUT"]
    # Nothing changed: the token still works, the old password still signs in.
    assert await _signed_in_on_both_faces(client, user_id, token)
    assert (await data_of(client, LOGIN, {"u": "alice", "p": "secret1"}))["login"]["token"]


async def test_a_token_from_before_versions_counts_as_version_zero(
    client: httpx.AsyncClient, services: Services
) -> None:
    user_id, _ = await _register(client)
    legacy = issue_token(services.settings, int(user_id))  # version 0, as every token issued before
    assert await _signed_in_on_both_faces(client, user_id, legacy)
    await data_of(client, LOGOUT, token=legacy)
    assert not await _signed_in_on_both_faces(client, user_id, legacy)


async def test_checking_a_token_reads_the_database_once_then_the_cache(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter
) -> None:
    user_id, token = await _register(client)
    await services.cache.delete(f"token-version:{user_id}")
    sql_counter.reset()
    assert await sessions.signed_in_user(services, token) == int(user_id)
    assert sql_counter.count == 1
    sql_counter.reset()
    for _ in range(5):
        assert await sessions.signed_in_user(services, token) == int(user_id)
    assert sql_counter.count == 0


async def test_a_slow_cache_fill_cannot_bring_back_a_revoked_version(
    client: httpx.AsyncClient, services: Services
) -> None:
    """A request that read the old version before a sign-out and fills the cache after it."""
    user_id, token = await _register(client)
    key = f"token-version:{user_id}"
    await services.cache.delete(key)
    stale = str(await sessions._stored_version(services, int(user_id))).encode()
    await sessions.logout(services, int(user_id))
    await services.cache.add(key, stale, sessions.VERSION_TTL_SECONDS)  # what the slow request does
    assert await sessions.signed_in_user(services, token) is None
