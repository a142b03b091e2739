"""Contract: the HTTP behaviour every douyin route shares (paths, methods, parameter sources, failures)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import compat.handlers
from app import create_app
from compat.documents import OperationDocument, OperationError, load_document
from compat.routes import ROUTES, RouteSpec
from storage.services import Services
from tests.support.rest import PASSWORD, call, check_envelope, ok, register


@pytest.mark.parametrize("spec", ROUTES, ids=[spec.path for spec in ROUTES])
async def test_every_route_answers_json_on_both_spellings_without_redirects(
    client: httpx.AsyncClient, spec: RouteSpec
) -> None:
    for path in (spec.path, spec.path.rstrip("/")):
        for method in spec.methods:
            response = await client.request(method, f"/douyin{path}", follow_redirects=False)
            body = check_envelope(response)
            if spec.path != "/feed/":  # everything else needs parameters
                assert body["status_code"] != 0, (path, body)
            for key, value in spec.failure_defaults.items():
                assert body[key] == value


async def test_post_works_on_both_spellings(client: httpx.AsyncClient) -> None:
    for path in ("/douyin/user/register/", "/douyin/user/register"):
        name = "alice" if path.endswith("/") else "bob"
        response = await client.post(path, params={"username": name, "password": PASSWORD})
        assert check_envelope(response)["status_code"] == 0


async def test_actions_refuse_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/douyin/user/register/", params={"username": "alice", "password": PASSWORD})
    body = check_envelope(response)
    assert (body["status_code"], body["status_msg"]) == (2, "use POST for this route, not GET")
    assert body["token"] == ""
    # Nothing was registered.
    login = await call(client, "POST", "/user/login/", {"username": "alice", "password": PASSWORD})
    assert login["status_code"] == 1


async def test_lists_accept_post_and_head(client: httpx.AsyncClient) -> None:
    assert (await call(client, "POST", "/feed/"))["status_code"] == 0
    response = await client.head("/douyin/feed/")
    assert response.status_code == 200


async def test_parameters_come_from_the_form_when_not_in_the_query(client: httpx.AsyncClient) -> None:
    body = await call(client, "POST", "/user/register/", data={"username": "alice", "password": PASSWORD})
    assert body["status_code"] == 0
    multipart = await client.post(
        "/douyin/user/login/",
        files={"username": (None, "alice"), "password": (None, PASSWORD)},
    )
    assert check_envelope(multipart)["user_id"] == body["user_id"]


async def test_the_query_string_wins_over_the_form(client: httpx.AsyncClient) -> None:
    body = await call(
        client,
        "POST",
        "/user/register/",
        params={"username": "from-query", "password": PASSWORD},
        data={"username": "from-form", "password": "ignored-password"},
    )
    assert body["status_code"] == 0
    await ok(client, "POST", "/user/login/", {"username": "from-query", "password": PASSWORD})
    login = await call(client, "POST", "/user/login/", {"username": "from-form", "password": PASSWORD})
    assert login["status_code"] != 0


async def test_the_message_content_may_come_only_in_the_query(client: httpx.AsyncClient) -> None:
    alice, alice_token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    body = await call(
        client,
        "POST",
        "/message/action/",
        params={"token": alice_token, "to_user_id": bob, "action_type": 1, "content": "Send to UserB"},
        data={"token": alice_token, "to_user_id": bob, "action_type": 1},
    )
    assert body["status_code"] == 0
    chat = await ok(client, "GET", "/message/chat/", {"token": bob_token, "to_user_id": alice})
    assert [message["content"] for message in chat["message_list"]] == ["Send to UserB"]


async def test_bodies_on_get_are_ignored(client: httpx.AsyncClient) -> None:
    alice, token = await register(client, "alice")
    bob, _ = await register(client, "bob")
    response = await client.request(
        "GET",
        "/douyin/user/",
        params={"token": token},
        data={"user_id": str(bob)},
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert check_envelope(response)["user"]["id"] == alice


async def test_a_form_body_over_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/douyin/user/register/", data={"username": "alice", "password": PASSWORD, "padding": "x" * 2_000_000}
    )
    body = check_envelope(response)
    assert body["status_code"] == 2
    assert "too large" in body["status_msg"]
    assert body["token"] == ""


async def test_a_chunked_form_body_over_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"username=alice&password=" + PASSWORD.encode() + b"&padding="
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post(
        "/douyin/user/register/",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    body = check_envelope(response)
    assert body["status_code"] == 2
    assert "too large" in body["status_msg"]


async def test_a_malformed_multipart_body_is_a_clear_failure(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/douyin/user/login/",
        content=b"--nope\r\nthis is not multipart",
        headers={"content-type": "multipart/form-data"},
    )
    body = check_envelope(response)
    assert body["status_code"] == 2
    assert body["status_msg"].startswith("could not read the form body")


async def test_unknown_routes_answer_json(client: httpx.AsyncClient) -> None:
    body = check_envelope(await client.get("/douyin/nothing/here/"))
    assert (body["status_code"], body["status_msg"]) == (3, "no such route: /douyin/nothing/here/")


async def test_unexpected_errors_become_internal_error_json(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _, token = await register(client, "alice")

    def broken(_user: object) -> dict[str, object]:
        raise RuntimeError("shaping failed")

    monkeypatch.setattr(compat.handlers, "user_json", broken)
    with caplog.at_level(logging.ERROR, logger="compat.http"):
        body = await call(client, "GET", "/user/", {"token": token})
    assert (body["status_code"], body["status_msg"]) == (500, "internal error")
    assert "shaping failed" in caplog.text
    assert token not in caplog.text


async def test_a_stale_operation_disables_its_route_only(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_load = load_document

    def stale_feed(name: str, schema: Any) -> OperationDocument:
        if name == "feed":
            raise OperationError("feed.graphql: Cannot query field 'feed' on type 'Query'.")
        return real_load(name, schema)

    monkeypatch.setattr("compat.load_document", stale_feed)
    with caplog.at_level(logging.ERROR, logger="compat"):
        app = create_app(services=services)
    assert "Cannot query field 'feed'" in caplog.text
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        feed = check_envelope(await http.get("/douyin/feed/"))
        assert (feed["status_code"], feed["status_msg"]) == (500, "/feed/ is not available on this server")
        assert feed["video_list"] == []
        await register(http, "alice")
