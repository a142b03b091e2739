"""`/graphql` over HTTP: whatever a client sends, a malformed body is a JSON 400 with BAD_USER_INPUT, never a
plain-text answer or a server error."""

from __future__ import annotations

import httpx
import pytest

from storage.services import Services
from tests.support.factories import add_users

JSON = {"content-type": "application/json"}
DEEP = b'{"query": "{ __typename }", "variables": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}"


@pytest.mark.parametrize(
    "body",
    [b"null", b"42", b'"x"', b"true", b"\xff\xfe{}", b'{"query": "{ __typename }"', DEEP],
    ids=["null", "number", "string", "boolean", "invalid-utf8", "truncated", "nested-50000-deep"],
)
async def test_a_body_that_is_no_operation_is_a_json_bad_user_input(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post("/graphql", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_a_multipart_part_over_its_limit_is_a_json_bad_user_input(
    client: httpx.AsyncClient, services: Services
) -> None:
    """Form fields (not files) are held in memory, so each is capped; the answer says so in JSON."""
    [viewer] = await add_users(services, 1)
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'.encode()
        + b"x" * (1024 * 1024 + 1)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = await client.post(
        "/graphql",
        content=body,
        headers={
            "content-type": f"multipart/form-data; boundary={boundary}",
            "authorization": f"Bearer {viewer.token}",  # an anonymous upload is refused before reading
        },
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_an_operation_still_runs(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", content=b'{"query": "{ __typename }"}', headers=JSON)
    assert response.json() == {"data": {"__typename": "Query"}}
