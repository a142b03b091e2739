"""HTTP body limits on /graphql: uploads get the cap plus the form around the file, anything else the
small limit; over it, a JSON 413 with BAD_USER_INPUT, before any of a declared body is read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from app import create_app
from core.body_limit import FORM_ALLOWANCE_BYTES
from storage.services import Services
from tests.support.factories import add_users
from tests.support.publishing import assert_nothing_published


async def test_graphql_refuses_a_declared_body_far_over_the_cap_before_reading_it(
    client: httpx.AsyncClient, services: Services
) -> None:
    declared = services.settings.upload_max_bytes + 50 * 1024 * 1024

    async def body_never_sent() -> Any:
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover - makes this an async generator

    response = await client.post(
        "/graphql",
        content=body_never_sent(),
        headers={"Content-Length": str(declared), "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["message"] == "the upload is too large: at most 200 MiB"


async def test_graphql_still_answers_ordinary_requests_behind_the_body_limit(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


async def test_graphql_refuses_a_json_body_over_the_request_limit(
    client: httpx.AsyncClient, services: Services
) -> None:
    padding = "x" * services.settings.max_request_body_bytes
    response = await client.post("/graphql", json={"query": "{ __typename }", "variables": {"p": padding}})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body sent without Content-Length (chunked), as a client streaming a file of unknown size does."""
    sent = 0
    while sent < total:
        chunk = b"x" * min(size, total - sent)
        sent += len(chunk)
        yield chunk


def limited_graphql(
    services: Services, upload_max_bytes: int, other_max_bytes: int = 500
) -> httpx.AsyncClient:
    limits = {"upload_max_bytes": upload_max_bytes, "max_request_body_bytes": other_max_bytes}
    services.settings = services.settings.model_copy(update=limits)
    transport = httpx.ASGITransport(app=create_app(services=services))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


MULTIPART = {"Content-Type": "multipart/form-data; boundary=x"}


def publish_form(file_bytes: int, token: str = "") -> tuple[list[bytes], dict[str, str]]:
    """A GraphQL multipart publish whose file part holds `file_bytes` bytes, as chunks and headers
    (signed in with `token`: an anonymous upload is refused before its body is read)."""
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        '{"query": "mutation($f: Upload!) { publishVideo(title: \\"t\\", file: $f) { id } }",'
        ' "variables": {"f": null}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.f"]}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.mp4"\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return [head, b"\0" * file_bytes, tail], headers


async def test_an_undeclared_upload_is_stopped_one_byte_over_the_cap(services: Services) -> None:
    """A body of unknown length: its file part is counted as it is written, to the byte."""
    [author] = await add_users(services, 1)
    responses = []
    async with limited_graphql(services, 1000) as client:
        for size in (1000, 1001):
            parts, headers = publish_form(size, author.token)

            async def body(parts: list[bytes] = parts) -> AsyncIterator[bytes]:
                for part in parts:
                    yield part

            responses.append(await client.post("/graphql", content=body(), headers=headers))
    under, over = responses
    # At the cap the form is read whole and the operation runs (and finds no video in the file).
    assert under.status_code == 200
    assert under.json()["errors"][0]["message"].startswith("not a usable video")
    assert over.status_code == 413
    assert over.headers["connection"] == "close"
    error = over.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "the upload is too large: at most 1000 bytes"
    await assert_nothing_published(services)


async def test_bodies_that_are_not_uploads_get_the_small_limit(services: Services) -> None:
    """A JSON operation is read whole into memory: it may not use the upload allowance."""
    json_type = {"Content-Type": "application/json"}
    query = b'{"query": "{ __typename }"}'
    async with limited_graphql(services, 10_000, other_max_bytes=500) as client:
        under = await client.post("/graphql", content=query.ljust(500), headers=json_type)
        over = await client.post("/graphql", content=chunks(501), headers=json_type)
        declared = await client.post("/graphql", content=b"x" * 600, headers=json_type)
    assert under.json() == {"data": {"__typename": "Query"}}
    for refused in (over, declared):
        assert refused.status_code == 413
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"] == "the request body is too large: at most 500 bytes"


async def test_graphql_refuses_an_undeclared_multipart_body_over_the_cap(
    services: Services, clip: bytes
) -> None:
    services.settings = services.settings.model_copy(update={"upload_max_bytes": 1000})
    app = create_app(services=services)
    [author] = await add_users(services, 1)
    (head, _, tail), headers = publish_form(0, author.token)

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in chunks(2 * FORM_ALLOWANCE_BYTES):
            yield chunk
        yield tail

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/graphql", content=body(), headers=headers)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    await assert_nothing_published(services)
