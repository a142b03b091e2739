"""Rate limits per client address and per user, on both faces: RATE_LIMITED with the seconds to wait
(`extensions.retryAfter`; REST status_code 6), and an HTTP Retry-After."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from storage.services import Services
from tests.support.clients import client_at
from tests.support.factories import add_users, add_video
from tests.support.rest import check_envelope

REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"
ACTIONS = {
    "comment": ('mutation($v: ID!) { addComment(videoId: $v, content: "hi") { id } }', "Too many comments"),
    "message": ('mutation($u: ID!) { sendMessage(toUserId: $u, content: "hi") { id } }', "Too many messages"),
    "social": ("mutation($v: ID!) { likeVideo(videoId: $v) { id } }", "Too many likes and follows"),
}


async def _post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {"rate_limit_comment_per_user": "2/minute"},
        {"rate_limit_message_per_user": "2/minute"},
        {"rate_limit_social_per_user": "2/minute"},
    ],
    ids=["comment", "message", "social"],
)
async def test_a_user_over_an_action_limit_is_told_to_wait(
    client: httpx.AsyncClient, services: Services, settings_overrides: dict[str, Any]
) -> None:
    [action] = [name for name in ACTIONS if f"rate_limit_{name}_per_user" in settings_overrides]
    query, refusal = ACTIONS[action]
    alice, bob = await add_users(services, 2)
    video = await add_video(services, bob)
    variables = {"v": str(video), "u": bob.gid}
    for _ in range(2):
        answer = await _post(client, query, variables, alice.token)
        assert "errors" not in answer.json(), answer.json()
    refused = await _post(client, query, variables, alice.token)
    assert refused.status_code == 200
    [error] = refused.json()["errors"]
    wait = error["extensions"]["retryAfter"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= wait <= 60
    assert error["message"] == f"{refusal}; try again in {wait} second{'s' if wait > 1 else ''}"
    assert refused.headers["retry-after"] == str(wait)
    # Bob's allowance is his own.
    assert "errors" not in (await _post(client, query, {"v": str(video), "u": alice.gid}, bob.token)).json()


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_comment_per_user": "1/minute"}])
async def test_over_the_limit_a_douyin_route_answers_status_code_6(
    client: httpx.AsyncClient, services: Services
) -> None:
    [alice] = await add_users(services, 1)
    video = await add_video(services, alice)
    params: dict[str, str | int] = {
        "token": alice.token,
        "video_id": video,
        "action_type": 1,
        "comment_text": "hi",
    }
    assert check_envelope(await client.post("/douyin/comment/action/", params=params))["status_code"] == 0
    response = await client.post("/douyin/comment/action/", params=params)
    body = check_envelope(response)
    assert body["status_code"] == 6
    assert body["status_msg"].startswith("Too many comments; try again in ")
    assert 1 <= int(response.headers["retry-after"]) <= 60


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_register_per_address": "2/minute"}])
async def test_new_accounts_are_limited_per_address(services: Services) -> None:
    async with client_at(services, "203.0.113.1") as crowd, client_at(services, "203.0.113.2") as other:
        codes = []
        for n in range(3):
            body = (
                await crowd.post(
                    "/graphql", json={"query": REGISTER, "variables": {"u": f"u{n}", "p": "secret1"}}
                )
            ).json()
            codes.append(body["errors"][0]["extensions"]["code"] if "errors" in body else "ok")
        assert codes == ["ok", "ok", "RATE_LIMITED"]
        answer = await other.post("/douyin/user/register/", params={"username": "u9", "password": "secret1"})
        assert check_envelope(answer)["status_code"] == 0


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_operations_per_address": "3/minute"}])
async def test_every_request_counts_against_its_address_on_both_faces(services: Services) -> None:
    async with client_at(services, "203.0.113.1") as busy, client_at(services, "203.0.113.2") as other:
        for _ in range(3):
            assert (await busy.post("/graphql", json={"query": "{ viewer { id } }"})).status_code == 200
        refused = await busy.post("/graphql", json={"query": "{ viewer { id } }"})
        assert refused.status_code == 429
        [error] = refused.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert refused.headers["retry-after"] == str(error["extensions"]["retryAfter"])
        rest = await busy.get("/douyin/feed/")
        assert check_envelope(rest)["status_code"] == 6
        assert "retry-after" in rest.headers
        assert check_envelope(await other.get("/douyin/feed/"))["status_code"] == 0


@pytest.mark.parametrize("settings_overrides", [{"rate_limit_operations_per_user": "2/minute"}])
async def test_a_user_is_counted_across_addresses(services: Services) -> None:
    [alice] = await add_users(services, 1)
    headers = {"Authorization": f"Bearer {alice.token}"}
    async with client_at(services, "203.0.113.1") as home, client_at(services, "203.0.113.2") as work:
        statuses = [
            (await client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=headers)).status_code
            for client in (home, work, home)
        ]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize(
    "settings_overrides", [{"rate_limits_enabled": False, "rate_limit_operations_per_address": "1/minute"}]
)
async def test_rate_limits_can_be_turned_off(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await client.post("/graphql", json={"query": "{ viewer { id } }"})).status_code == 200
