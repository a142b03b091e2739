"""Receiving uploads on both faces: nothing of a file is stored before its token and an upload slot admit
it; slow bodies are dropped; a client, and the server, have a bounded number of uploads in progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from storage.services import Services
from tests.support.factories import add_users
from tests.support.publishing import assert_nothing_published
from tests.support.rest import check_envelope

BOUNDARY = "b0undary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
CHUNK = b"\0" * (64 * 1024)


def _field(name: str, value: str) -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()


def _file_head(name: str = "data") -> bytes:
    disposition = f'form-data; name="{name}"; filename="bear.mp4"'
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()


TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


class Body:
    """A form streamed chunk by chunk, counting how much of it the server asked for, optionally waiting
    before each file chunk (a slow client) or until released (an upload held in progress)."""

    def __init__(self, head: bytes, chunks: int = 40, *, pause: float = 0.0) -> None:
        self.head = head
        self.chunks = chunks
        self.pause = pause
        self.sent = 0
        self.release = asyncio.Event()
        self.holding = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        for _ in range(self.chunks):
            if self.holding:
                await self.release.wait()
            if self.pause:
                await asyncio.sleep(self.pause)
            self.sent += 1
            yield CHUNK
        yield TAIL


def _scratch_bytes(services: Services) -> int:
    root = services.settings.data_dir / "tmp"
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file()) if root.exists() else 0


async def _publish(client: httpx.AsyncClient, body: Body) -> dict[str, Any]:
    response = await client.post("/douyin/publish/action/", content=body, headers=MULTIPART)
    return check_envelope(response)


async def test_a_bad_token_before_the_file_is_refused_before_any_of_the_file_is_read(
    client: httpx.AsyncClient, services: Services
) -> None:
    for token in ("not-a-token", ""):
        body = Body(_field("token", token) + _field("title", "t") + _file_head())
        answer = await _publish(client, body)
        assert answer["status_code"] == 1
        assert body.sent <= 1  # what the server had asked for when it refused: nothing was written
    await assert_nothing_published(services)


async def test_a_good_token_before_the_file_publishes_through_the_stream(
    client: httpx.AsyncClient, services: Services, clip: bytes
) -> None:
    [author] = await add_users(services, 1)
    form = _field("token", author.token) + _field("title", "Bear") + _file_head() + clip + TAIL
    answer = check_envelope(await client.post("/douyin/publish/action/", content=form, headers=MULTIPART))
    assert answer["status_code"] == 0, answer
    assert _scratch_bytes(services) == 0


@pytest.mark.parametrize("settings_overrides", [{"upload_idle_timeout_seconds": 0.3}])
async def test_a_slow_upload_is_dropped_and_leaves_nothing(
    client: httpx.AsyncClient, services: Services
) -> None:
    [author] = await add_users(services, 1)
    body = Body(_field("token", author.token) + _field("title", "t") + _file_head(), chunks=5, pause=1.0)
    answer = await _publish(client, body)
    assert answer["status_code"] == 2
    assert answer["status_msg"] == "the upload was too slow: the server stopped waiting for it"
    await assert_nothing_published(services)


@pytest.mark.parametrize("settings_overrides", [{"upload_read_timeout_seconds": 0.5}])
async def test_an_upload_taking_longer_than_the_read_timeout_is_dropped(
    client: httpx.AsyncClient, services: Services
) -> None:
    [author] = await add_users(services, 1)
    body = Body(_field("token", author.token) + _file_head(), chunks=10, pause=0.1)
    assert (await _publish(client, body))["status_code"] == 2
    await assert_nothing_published(services)


async def _second_while_first_in_progress(
    client: httpx.AsyncClient, services: Services, first: Body, second: Body
) -> tuple[dict[str, Any], dict[str, Any]]:
    first.holding = True
    pending = asyncio.create_task(_publish(client, first))
    async with asyncio.timeout(10):
        # Until the first is admitted and its file is being received (the slots have no event to wait on).
        while services.uploads.reserved_bytes == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    refused = await _publish(client, second)
    first.release.set()
    return refused, await pending


@pytest.mark.parametrize("settings_overrides", [{"upload_max_concurrent_per_user": 1}])
async def test_a_user_has_a_bounded_number_of_uploads_in_progress(
    client: httpx.AsyncClient, services: Services
) -> None:
    [author] = await add_users(services, 1)
    head = _field("token", author.token) + _field("title", "t") + _file_head()
    refused, first = await _second_while_first_in_progress(client, services, Body(head, chunks=2), Body(head))
    assert refused["status_code"] == 6
    assert refused["status_msg"] == "You have too many uploads in progress; try again in 10 seconds"
    assert first["status_code"] == 2  # two chunks of zeros are no video, but they were received


@pytest.mark.parametrize("settings_overrides", [{"upload_max_concurrent_per_address": 1}])
async def test_an_address_has_a_bounded_number_of_uploads_in_progress(
    client: httpx.AsyncClient, services: Services
) -> None:
    first_author, second_author = await add_users(services, 2)
    first = Body(_field("token", first_author.token) + _file_head(), chunks=2)
    second = Body(_field("token", second_author.token) + _file_head())
    refused, _ = await _second_while_first_in_progress(client, services, first, second)
    assert refused["status_code"] == 6
    assert refused["status_msg"].startswith("Too many uploads in progress from this address")


@pytest.mark.parametrize("settings_overrides", [{"upload_scratch_max_mib": 1}])
async def test_an_upload_that_does_not_fit_the_scratch_space_is_refused(
    client: httpx.AsyncClient, services: Services
) -> None:
    [author] = await add_users(services, 1)
    body = Body(_field("token", author.token) + _file_head(), chunks=40)
    answer = await _publish(client, body)  # chunked: it reserves a whole UPLOAD_MAX_BYTES
    assert answer["status_code"] == 6
    assert answer["status_msg"].startswith("The server is receiving too many uploads")
    assert body.sent <= 1
    assert services.uploads.reserved_bytes == 0


async def test_graphql_refuses_an_anonymous_upload_before_reading_its_body(
    client: httpx.AsyncClient, services: Services
) -> None:
    body = Body(_field("operations", '{"query": "mutation { __typename }"}') + _file_head("0"))
    response = await client.post("/graphql", content=body, headers=MULTIPART)
    assert response.status_code == 401
    assert response.headers["connection"] == "close"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body.sent == 0
    await assert_nothing_published(services)


async def test_an_address_has_one_upload_in_progress_whose_sender_is_not_known_yet(
    client: httpx.AsyncClient, services: Services
) -> None:
    [author] = await add_users(services, 1)
    # No token before the file: admitted for its address, and the token checked at the end.
    first, second = Body(_file_head(), chunks=2), Body(_file_head())
    refused, _ = await _second_while_first_in_progress(client, services, first, second)
    assert refused["status_code"] == 6
    assert refused["status_msg"].startswith("Too many uploads in progress from this address; send the token")
    # One whose token comes first is still admitted beside it.
    signed = Body(_field("token", author.token) + _file_head(), chunks=1)
    beside, _ = await _second_while_first_in_progress(client, services, Body(_file_head(), chunks=2), signed)
    assert beside["status_code"] == 2  # admitted and received whole: a file of zeros is no video
