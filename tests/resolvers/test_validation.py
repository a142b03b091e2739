"""Text input: control characters and broken Unicode are refused with BAD_USER_INPUT, never stored and
never a server error; ordinary text in any script (and emoji) passes."""

from __future__ import annotations

import httpx
import pytest

from resolvers.errors import DomainError, ErrorCode
from resolvers.validation import check_text
from tests.support.graphql import data_of, error_codes

REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { user { name } } }"


@pytest.mark.parametrize(
    ("value", "multiline", "reason"),
    [
        ("a\x00b", False, "control characters"),
        ("a\x1bb", True, "control characters"),
        ("line\nbreak", False, "control characters"),
        ("a\x85b", False, "control characters"),
        ("a\ud800b", False, "valid Unicode"),
        ("   ", False, "blank"),
        ("", False, "empty"),
        ("x" * 11, False, "at most 10"),
    ],
)
def test_refused_text(value: str, multiline: bool, reason: str) -> None:
    with pytest.raises(DomainError) as raised:
        check_text("field", value, 1, 10, multiline=multiline)
    assert raised.value.code is ErrorCode.BAD_USER_INPUT
    assert reason in raised.value.message


@pytest.mark.parametrize(
    ("value", "multiline"),
    [("抖音🐻‍❄️", False), ("ñandú", False), ("two\nline\tx", True), ("x" * 10, False)],
)
def test_accepted_text(value: str, multiline: bool) -> None:
    assert check_text("field", value, 1, 10, multiline=multiline) == value


async def test_graphql_refuses_lone_surrogates_and_control_characters(client: httpx.AsyncClient) -> None:
    # A JSON "\ud800" escape decodes to a lone surrogate, which no database or hash can take.
    response = await client.post(
        "/graphql",
        content=b'{"query": "mutation($u: String!) { register(username: $u, password: \\"secret1\\")'
        b' { token } }", "variables": {"u": "a\\ud800b"}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == ["BAD_USER_INPUT"]
    # Sign-in cannot hash or look one up either (and must not answer with an internal error).
    login = b'"mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"'
    for variables in (b'{"u": "a\\ud800b", "p": "secret1"}', b'{"u": "carol", "p": "a\\ud800b"}'):
        response = await client.post(
            "/graphql",
            content=b'{"query": ' + login + b', "variables": ' + variables + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert [error["extensions"]["code"] for error in response.json()["errors"]] == ["BAD_USER_INPUT"]
    assert await error_codes(client, REGISTER, {"u": "nul\x00name", "p": "secret1"}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, REGISTER, {"u": " padded", "p": "secret1"}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, REGISTER, {"u": "carol", "p": "pass\x00word"}) == ["BAD_USER_INPUT"]
    registered = await data_of(client, REGISTER, {"u": "抖音用户🐻", "p": "密码secret"})
    assert registered["register"]["user"]["name"] == "抖音用户🐻"


async def test_rest_refuses_control_characters_with_a_clear_status(client: httpx.AsyncClient) -> None:
    body = (await client.post("/douyin/user/register/?username=a%00b&password=secret1")).json()
    assert body["status_code"] != 0
    assert "control characters" in body["status_msg"]
    assert body["token"] == ""


@pytest.mark.parametrize(
    "name",
    ["ad\u200bmin", "ad\u200dmin", "\u202eevil", "admin\u2066", "\ufeffbom"],
    ids=["zero-width-space", "zero-width-joiner", "right-to-left-override", "isolate", "byte-order-mark"],
)
async def test_names_with_invisible_formatting_are_refused(client: httpx.AsyncClient, name: str) -> None:
    assert await error_codes(client, REGISTER, {"u": name, "p": "secret-password"}) == ["BAD_USER_INPUT"]
    body = (
        await client.post("/douyin/user/register/", data={"username": name, "password": "secret1"})
    ).json()
    assert body["status_code"] == 2
    assert "invisible" in body["status_msg"]


async def test_names_are_stored_in_one_normal_form_and_sign_in_either_way(client: httpx.AsyncClient) -> None:
    decomposed, composed = "Jose\u0301", "Jos\u00e9"
    registered = await data_of(client, REGISTER, {"u": decomposed, "p": "secret-password"})
    assert registered["register"]["user"]["name"] == composed
    # The other spelling is the same name: taken, and it signs in.
    assert await error_codes(client, REGISTER, {"u": composed, "p": "secret-password"}) == ["CONFLICT"]
    for spelling in (decomposed, composed):
        body = (
            await client.post(
                "/douyin/user/login/", data={"username": spelling, "password": "secret-password"}
            )
        ).json()
        assert body["status_code"] == 0, body
