"""Contract: publish/action over REST: multipart parts first, then the query; refusals change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from storage import clips
from storage.services import Services
from tests.support.rest import check_envelope, check_video, ok, register

MIB = 1024 * 1024
UPLOAD_MAX = 2 * MIB


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"upload_max_bytes": UPLOAD_MAX}


@pytest.fixture(scope="module")
def bear_mp4(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real, decodable MP4 (the pipeline probes it and takes a cover)."""
    path = tmp_path_factory.mktemp("videos") / "bear.mp4"
    clips.make_test_video(path, seconds=1, size="320x240")
    return path.read_bytes()


async def publish(
    client: httpx.AsyncClient,
    data: dict[str, str],
    file: tuple[str, bytes, str] | None,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    files = {"data": file} if file is not None else None
    response = await client.post("/douyin/publish/action/", data=data, files=files, params=params)
    return check_envelope(response)


async def videos_of(client: httpx.AsyncClient, user_id: int) -> list[dict[str, Any]]:
    videos: list[dict[str, Any]] = (await ok(client, "GET", "/publish/list/", {"user_id": user_id}))[
        "video_list"
    ]
    return videos


async def test_publish_then_list_with_playable_urls(client: httpx.AsyncClient, bear_mp4: bytes) -> None:
    alice, token = await register(client, "alice")
    content = bear_mp4
    body = await publish(client, {"token": token, "title": "Bear"}, ("bear.mp4", content, "video/mp4"))
    assert (body["status_code"], body["status_msg"]) == (0, "success")
    (video,) = await videos_of(client, alice)
    check_video(video)
    assert video["title"] == "Bear"
    assert video["author"]["work_count"] == 1
    played = await client.get(video["play_url"])
    assert played.status_code == 200
    assert played.content == content
    cover = await client.get(video["cover_url"])
    assert cover.content[:3] == b"\xff\xd8\xff"  # a JPEG


async def test_form_parts_win_over_the_query_and_the_query_fills_gaps(
    client: httpx.AsyncClient, bear_mp4: bytes
) -> None:
    alice, token = await register(client, "alice")
    file = ("bear.mp4", bear_mp4, "video/mp4")
    await publish(client, {"token": token, "title": "from form"}, file, params={"title": "from query"})
    await publish(client, {}, file, params={"token": token, "title": "query only"})
    titles = [video["title"] for video in await videos_of(client, alice)]
    assert titles == ["query only", "from form"]


async def test_refusals_publish_nothing(
    client: httpx.AsyncClient, services: Services, bear_mp4: bytes
) -> None:
    alice, token = await register(client, "alice")
    video = ("bear.mp4", bear_mp4, "video/mp4")
    cases: list[tuple[dict[str, str], tuple[str, bytes, str] | None, int, str | None]] = [
        ({"token": "forged", "title": "t"}, video, 1, None),
        ({"title": "t"}, video, 1, None),
        ({"token": token, "title": "t"}, None, 2, "data is required"),
        ({"token": token}, video, 2, "title is required"),
        ({"token": token, "title": "x" * 101}, video, 2, "title must be at most 100 characters"),
        ({"token": token, "title": "t"}, ("notes.mp4", b"not a video at all", "video/mp4"), 2, None),
        ({"token": token, "title": "t"}, ("empty.mp4", b"", "video/mp4"), 2, None),
    ]
    for data, file, status, message in cases:
        body = await publish(client, data, file)
        assert body["status_code"] == status, (data, body)
        if message:
            assert body["status_msg"] == message
    assert await videos_of(client, alice) == []


async def test_a_text_data_field_is_not_a_file(client: httpx.AsyncClient) -> None:
    _, token = await register(client, "alice")
    body = await publish(client, {"token": token, "title": "t", "data": "bear.mp4"}, None)
    assert body["status_code"] == 2
    assert "multipart" in body["status_msg"]


async def test_a_urlencoded_publish_is_told_to_send_a_file(client: httpx.AsyncClient) -> None:
    _, token = await register(client, "alice")
    body = await publish(client, {"token": token, "title": "t"}, None)
    assert (body["status_code"], body["status_msg"]) == (2, "data is required")


async def test_a_declared_oversize_upload_is_refused_before_reading(client: httpx.AsyncClient) -> None:
    alice, token = await register(client, "alice")
    big = ("big.mp4", b"\0" * (UPLOAD_MAX + 2 * MIB), "video/mp4")
    body = await publish(client, {"token": token, "title": "t"}, big)
    assert body["status_code"] == 2
    assert body["status_msg"] == "the upload is too large: at most 2 MiB"
    assert await videos_of(client, alice) == []


async def test_an_upload_over_the_cap_is_refused_by_the_pipeline(client: httpx.AsyncClient) -> None:
    alice, token = await register(client, "alice")
    big = ("big.mp4", b"\0" * (UPLOAD_MAX + MIB // 2), "video/mp4")
    body = await publish(client, {"token": token, "title": "t"}, big)
    assert body["status_code"] == 2
    assert await videos_of(client, alice) == []


async def test_an_undeclared_chunked_upload_is_stopped_at_the_limit(client: httpx.AsyncClient) -> None:
    alice, token = await register(client, "alice")
    boundary = "douyin-boundary"

    async def body() -> AsyncIterator[bytes]:
        for name, value in (("token", token), ("title", "t")):
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="data"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        for _ in range((UPLOAD_MAX + 2 * MIB) // (256 * 1024)):
            yield b"\0" * (256 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/douyin/publish/action/",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    result = check_envelope(response)
    assert (result["status_code"], result["status_msg"]) == (2, "the upload is too large: at most 2 MiB")
    assert await videos_of(client, alice) == []
