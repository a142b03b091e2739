"""Log lines: one JSON request line per request (LOG_FORMAT=json), the trace id on every line inside a
trace, and never a token, a password or a message's content."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLError
from opentelemetry.sdk.trace import TracerProvider

from core import telemetry
from core.logs import JsonFormatter, TextFormatter, logging_config
from schema.errors import classify
from tests.support.factories import add_users
from tests.support.rest import PASSWORD, ok, register
from tests.support.servers import serving

SECRET_MESSAGE = "meet me at the old mill at nine"


def server_lines(stream: io.StringIO) -> list[str]:
    """The lines the server wrote (not the test client's own `httpx` lines, which show its URLs)."""
    lines = stream.getvalue().splitlines()
    return [line for line in lines if not json.loads(line)["logger"].startswith(("httpx", "httpcore"))]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every line logged during the test, formatted as LOG_FORMAT=json formats them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


async def test_log_lines_hold_no_token_password_or_message_content(
    client: httpx.AsyncClient, json_log: io.StringIO
) -> None:
    alice_id, alice_token = await register(client, "alice")
    bob_id, _ = await register(client, "bob")
    await ok(client, "POST", "/user/login/", {"username": "alice", "password": PASSWORD})
    await ok(client, "GET", "/feed/", {"token": alice_token})
    await ok(
        client,
        "POST",
        "/message/action/",
        {"token": alice_token, "to_user_id": bob_id, "action_type": 1, "content": SECRET_MESSAGE},
    )
    await client.post(
        "/graphql",
        json={
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            "variables": {"u": "alice", "p": PASSWORD},
        },
        headers={"Authorization": f"Bearer {alice_token}"},
    )
    lines = server_lines(json_log)
    requests = [json.loads(line) for line in lines if json.loads(line)["logger"] == "douyin.request"]
    assert len(requests) == 6
    for line in lines:
        for secret in (alice_token, PASSWORD, SECRET_MESSAGE):
            assert secret not in line
    feed = next(entry for entry in requests if entry["route"] == "/douyin/feed/")
    assert {"time", "level", "request_id", "route", "status", "outcome", "duration_ms", "trace_id"} <= set(
        feed
    )
    assert feed["status"] == 200
    assert feed["outcome"] == "ok"
    assert feed["viewer_id"] == alice_id
    assert feed["operation"] == "Feed"
    assert feed["level"] == "info"
    graphql = next(entry for entry in requests if entry["route"] == "/graphql")
    assert graphql["viewer_id"] == alice_id


def _record(message: str = "hello", **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("douyin.test", logging.WARNING, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return record


def test_every_line_inside_a_trace_carries_its_trace_id() -> None:
    provider = TracerProvider()
    telemetry.install(provider)
    try:
        with telemetry.span("work"):
            trace_id = telemetry.current_trace_id()
            json_line = json.loads(JsonFormatter().format(_record(route="/graphql")))
            text_line = TextFormatter().format(_record())
    finally:
        telemetry.shutdown(provider)
    assert trace_id is not None
    assert json_line["trace_id"] == trace_id
    assert json_line["route"] == "/graphql"
    assert text_line.endswith(f"hello trace={trace_id}")
    assert json.loads(JsonFormatter().format(_record()))["trace_id"] is None
    assert "trace=" not in TextFormatter().format(_record())


def test_a_masked_error_carries_the_trace_id(caplog: pytest.LogCaptureFixture) -> None:
    provider = TracerProvider()
    telemetry.install(provider)
    try:
        with telemetry.span("operation"):
            trace_id = telemetry.current_trace_id()
            error = GraphQLError("boom", path=["feed"], original_error=RuntimeError("database on fire"))
            with caplog.at_level(logging.ERROR, logger="douyin.graphql"):
                classify(error, "request-1")
    finally:
        telemetry.shutdown(provider)
    assert error.message == "Internal server error"
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "traceId": trace_id}
    assert f"trace {trace_id}" in caplog.text
    assert "request-1" in caplog.text


def test_the_server_logging_config_chooses_the_format_and_drops_the_access_log() -> None:
    text = logging_config("info", "text")
    assert text["handlers"]["stdout"]["formatter"] == "text"
    assert logging_config("info", "json")["handlers"]["stdout"]["formatter"] == "json"
    assert text["loggers"]["uvicorn.access"]["propagate"] is False


async def test_the_request_line_names_the_viewer(
    client: httpx.AsyncClient, json_log: io.StringIO, services: Any
) -> None:
    [viewer] = await add_users(services, 1)
    await ok(client, "GET", "/user/", {"token": viewer.token})
    lines = server_lines(json_log)
    [line] = [json.loads(line) for line in lines if '"douyin.request"' in line]
    assert line["viewer_id"] == viewer.id
    assert line["route"] == "/douyin/user/"
    assert viewer.token not in "\n".join(lines)


def test_a_real_server_logs_no_password_or_token_from_any_face(tmp_path: Path, clip: bytes) -> None:
    """Register, sign in, read the feed, publish, comment and message with the credentials in query
    strings, form fields, headers and GraphQL variables, right and wrong, at LOG_LEVEL=debug: nothing the
    server process printed (its log lines, uvicorn's, the libraries', anything on stdout or stderr)
    holds a password, a token, a password hash or a message's content."""
    output_path = tmp_path / "server-output.log"
    passwords = [f"pw-{secrets.token_hex(8)}" for _ in range(3)]
    wrong = f"wrong-{secrets.token_hex(8)}"
    tokens: list[str] = []
    overrides = {"LOG_LEVEL": "debug", "JWT_SECRET": secrets.token_hex(24), "ENV": "production"}
    with (
        output_path.open("wb") as output,
        serving(tmp_path / "var", overrides, output=output) as base,
        httpx.Client(base_url=base, timeout=120) as http,
    ):

        def call(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
            body: dict[str, Any] = http.request(method, f"/douyin{path}", **kwargs).json()
            return body

        def sign_in(path: str, where: str, name: str, password: str) -> dict[str, Any]:
            return call("POST", path, **{where: {"username": name, "password": password}})

        # Register and sign in: in the query string, in the form body, and over GraphQL.
        alice = sign_in("/user/register/", "params", "alice", passwords[0])
        bob = sign_in("/user/register/", "data", "bob", passwords[1])
        tokens += [alice["token"], bob["token"]]
        tokens.append(sign_in("/user/login/", "params", "alice", passwords[0])["token"])
        tokens.append(sign_in("/user/login/", "data", "bob", passwords[1])["token"])
        assert sign_in("/user/login/", "params", "alice", wrong)["status_code"] == 1
        register = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"
        answer = http.post(
            "/graphql", json={"query": register, "variables": {"u": "carol", "p": passwords[2]}}
        )
        tokens.append(answer.json()["data"]["register"]["token"])
        token, mine = tokens[0], {"token": tokens[0], "user_id": alice["user_id"]}
        assert call("GET", "/feed/", params={"token": token})["status_code"] == 0
        assert call("GET", "/user/", params=mine)["status_code"] == 0
        published = call(
            "POST",
            "/publish/action/",
            params={"token": token},
            data={"token": token, "title": "bear"},
            files={"data": ("bear.mp4", clip, "video/mp4")},
        )
        assert published["status_code"] == 0, published
        [video] = call("GET", "/publish/list/", params=mine)["video_list"]
        comment = {"token": token, "video_id": video["id"], "action_type": 1, "comment_text": "nice"}
        assert call("POST", "/comment/action/", params=comment)["status_code"] == 0
        assert call("POST", "/comment/action/", data=comment)["status_code"] == 0
        message = {"token": token, "to_user_id": bob["user_id"], "action_type": 1, "content": SECRET_MESSAGE}
        assert call("POST", "/message/action/", params=message)["status_code"] == 0
        chat = {"token": tokens[1], "to_user_id": alice["user_id"]}
        assert call("GET", "/message/chat/", params=chat)["status_code"] == 0
        # A forged token, and a good one in a header on /graphql.
        assert call("GET", "/feed/", params={"token": token + "x"})["status_code"] == 0
        viewer = http.post(
            "/graphql", json={"query": "{ viewer { id } }"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert viewer.json()["data"]["viewer"]["id"] == str(alice["user_id"])
    printed = output_path.read_text(errors="replace")
    assert "GET /douyin/feed/ Feed 200" in printed  # the request lines are there
    secrets_sent = [*passwords, wrong, *tokens, *(value.split(".")[2] for value in tokens), SECRET_MESSAGE]
    leaked = [value for value in [*secrets_sent, "$argon2"] if value in printed]
    assert leaked == [], [line for line in printed.splitlines() if any(value in line for value in leaked)][:5]
