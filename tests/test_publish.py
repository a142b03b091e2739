"""The publishing pipeline on local disk: what is uploaded is what phones fetch, and a refused or failed
upload leaves nothing behind (no row, no object, no temporary file)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlmodel import col
from starlette.datastructures import UploadFile

from app import create_app
from core.body_limit import FORM_ALLOWANCE_BYTES
from resolvers import publishing
from resolvers.errors import DomainError, ErrorCode
from storage import clips
from storage.models import User, Video
from storage.objects import LocalObjectStore, ObjectStoreError
from storage.services import Services
from tests.test_media import ffmpeg, make_not_a_video

BASE_URL = "http://testserver"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 2-second H.264 MP4, 320x240."""
    path = tmp_path_factory.mktemp("clips") / "bear.mp4"
    clips.make_test_video(path, seconds=2, size="320x240")
    return path.read_bytes()


def upload_of(data: bytes, filename: str = "bear.mp4", *, declare_size: bool = True) -> UploadFile:
    return UploadFile(io.BytesIO(data), size=len(data) if declare_size else None, filename=filename)


async def make_user(services: Services, name: str = "author") -> int:
    async with services.db.write() as session:
        user = User(name=name, password_hash="x")
        session.add(user)
        await session.flush()
        assert user.id is not None
        return user.id


async def video_rows(services: Services) -> list[Video]:
    async with services.db.read() as session:
        return list((await session.execute(select(Video).order_by(col(Video.id)))).scalars())


async def work_count(services: Services, user_id: int) -> int:
    async with services.db.read() as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user.work_count


def local_keys(services: Services) -> set[str]:
    assert isinstance(services.objects, LocalObjectStore)
    root = services.objects.root
    return (
        {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}
        if root.exists()
        else set()
    )


def leftover_uploads(services: Services) -> list[Path]:
    spool = services.settings.data_dir / "tmp"
    return list(spool.iterdir()) if spool.exists() else []


async def assert_nothing_published(services: Services) -> None:
    assert await video_rows(services) == []
    assert local_keys(services) == set()
    assert leftover_uploads(services) == []


async def test_published_video_is_served_byte_for_byte_with_a_jpeg_cover(
    services: Services, client: httpx.AsyncClient, clip: bytes
) -> None:
    author = await make_user(services)
    data = clip  # the bytes phones must get back
    video = await publishing.publish_upload(services, author, "  A bear  ", upload_of(data))

    assert video.id is not None
    assert video.title == "A bear"
    assert (video.width, video.height, video.duration_ms) == (320, 240, 2000)
    assert video.play_key.startswith("videos/")
    assert video.play_key.endswith(".mp4")
    assert video.cover_key.startswith("covers/")
    assert video.cover_key.endswith(".jpg")
    assert [row.id for row in await video_rows(services)] == [video.id]
    assert await work_count(services, author) == 1
    assert leftover_uploads(services) == []

    play_url = services.objects.url(video.play_key, BASE_URL)
    assert play_url.startswith(f"{BASE_URL}/media/videos/")
    played = await client.get(play_url)
    assert played.status_code == 200
    assert played.content == data
    assert played.headers["content-type"] == "video/mp4"
    seek = await client.get(play_url, headers={"Range": "bytes=100-1099"})
    assert seek.status_code == 206
    assert seek.content == data[100:1100]

    cover = await client.get(services.objects.url(video.cover_key, BASE_URL))
    assert cover.status_code == 200
    assert cover.headers["content-type"] == "image/jpeg"
    assert cover.content[:3] == b"\xff\xd8\xff"


async def test_two_uploads_of_the_same_name_never_overwrite_each_other(
    services: Services, clip: bytes
) -> None:
    first_author, second_author = await make_user(services, "first"), await make_user(services, "second")
    data = clip
    first = await publishing.publish_upload(services, first_author, "one", upload_of(data))
    second = await publishing.publish_upload(services, second_author, "two", upload_of(data))
    assert first.play_key != second.play_key
    assert first.cover_key != second.cover_key
    assert local_keys(services) == {first.play_key, first.cover_key, second.play_key, second.cover_key}


async def test_the_stored_key_and_type_follow_the_real_container_not_the_file_name(
    services: Services, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    webm = tmp_path / "clip.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc=duration=1:size=320x240:rate=30", "-c:v", "libvpx-vp9", str(webm))
    author = await make_user(services)
    video = await publishing.publish_upload(
        services, author, "webm", upload_of(webm.read_bytes(), "clip.mp4")
    )
    assert video.play_key.endswith(".webm")
    response = await client.get(services.objects.url(video.play_key, BASE_URL))
    assert response.headers["content-type"] == "video/webm"


async def test_a_phone_recording_is_stored_with_its_index_first(
    services: Services, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    recorded = tmp_path / "recorded.mp4"  # as phones write them: the index (moov) after the media
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=30",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(recorded),
    )  # fmt: skip
    data = recorded.read_bytes()
    assert data.index(b"moov") > data.index(b"mdat")
    author = await make_user(services)
    video = await publishing.publish_upload(services, author, "recorded", upload_of(data))
    stored = (await client.get(services.objects.url(video.play_key, BASE_URL))).content
    assert stored.index(b"moov") < stored.index(b"mdat")
    assert abs(len(stored) - len(data)) < 1024  # the same packets, only moved
    assert (video.width, video.height, video.duration_ms) == (320, 240, 2000)


@pytest.mark.parametrize("kind", ["empty", "text", "picture"])
async def test_files_that_are_not_videos_are_refused_and_nothing_stays(
    services: Services, tmp_path: Path, kind: str
) -> None:
    author = await make_user(services)
    fake = tmp_path / f"{kind}.mp4"
    make_not_a_video(fake, kind)
    with pytest.raises(DomainError) as refused:
        await publishing.publish_upload(services, author, "fake", upload_of(fake.read_bytes()))
    assert refused.value.code == ErrorCode.BAD_USER_INPUT
    assert "not a usable video" in refused.value.message
    await assert_nothing_published(services)
    assert await work_count(services, author) == 0


async def test_a_truncated_upload_is_refused_and_nothing_stays(services: Services, tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp4"
    clips.make_test_video(whole, seconds=3, size="640x360")
    data = whole.read_bytes()
    author = await make_user(services)
    with pytest.raises(DomainError, match="damaged or truncated"):
        await publishing.publish_upload(services, author, "cut", upload_of(data[: len(data) // 2]))
    await assert_nothing_published(services)


@pytest.mark.parametrize("declare_size", [True, False])
async def test_an_upload_over_the_cap_is_refused_and_nothing_stays(
    services: Services, clip: bytes, declare_size: bool
) -> None:
    data = clip
    services.settings = services.settings.model_copy(update={"upload_max_bytes": len(data) - 1})
    author = await make_user(services)
    expected = f"the upload is too large: at most {len(data) - 1} bytes"
    with pytest.raises(DomainError, match=expected) as refused:
        await publishing.publish_upload(services, author, "big", upload_of(data, declare_size=declare_size))
    assert refused.value.code == ErrorCode.BAD_USER_INPUT
    await assert_nothing_published(services)


async def test_an_upload_exactly_at_the_cap_is_accepted(services: Services, clip: bytes) -> None:
    data = clip
    services.settings = services.settings.model_copy(update={"upload_max_bytes": len(data)})
    author = await make_user(services)
    video = await publishing.publish_upload(services, author, "fits", upload_of(data, declare_size=False))
    assert video.id is not None


@pytest.mark.parametrize("title", ["", "   ", "x" * 101])
async def test_a_bad_title_is_refused_before_the_file_is_read(
    services: Services, clip: bytes, title: str
) -> None:
    author = await make_user(services)
    upload = upload_of(clip)
    with pytest.raises(DomainError) as refused:
        await publishing.publish_upload(services, author, title, upload)
    assert refused.value.code == ErrorCode.BAD_USER_INPUT
    assert upload.file.tell() == 0
    await assert_nothing_published(services)


async def test_a_storage_failure_on_the_cover_removes_the_video_and_writes_no_row(
    services: Services, clip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    author = await make_user(services)
    real_put = services.objects.put_file

    async def put_file_failing_on_covers(key: str, path: Path, content_type: str) -> None:
        if key.startswith("covers/"):
            raise ObjectStoreError("disk full")
        await real_put(key, path, content_type)

    monkeypatch.setattr(services.objects, "put_file", put_file_failing_on_covers)
    with pytest.raises(ObjectStoreError):
        await publishing.publish_upload(services, author, "bear", upload_of(clip))
    await assert_nothing_published(services)
    assert await work_count(services, author) == 0


async def test_an_author_that_does_not_exist_leaves_no_object(services: Services, clip: bytes) -> None:
    with pytest.raises(DomainError) as refused:
        await publishing.publish_upload(services, 987654, "ghost", upload_of(clip))
    assert refused.value.code == ErrorCode.UNAUTHENTICATED
    await assert_nothing_published(services)


async def test_a_failing_database_write_removes_both_objects(
    services: Services, clip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    author = await make_user(services)

    async def failing_counter_update(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("UPDATE users", {}, Exception("server has gone away"))

    monkeypatch.setattr(publishing, "add_to_counters", failing_counter_update)
    with pytest.raises(OperationalError):
        await publishing.publish_upload(services, author, "bear", upload_of(clip))
    await assert_nothing_published(services)


async def test_a_publish_cancelled_after_storing_removes_its_objects(
    services: Services, clip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    author = await make_user(services)
    objects_stored = asyncio.Event()

    async def row_write_that_hangs(_services: Services, _video: Video) -> Video:
        objects_stored.set()
        await asyncio.Event().wait()  # the client goes away while the row is being written
        raise AssertionError("unreachable")

    monkeypatch.setattr(publishing, "_insert_row", row_write_that_hangs)
    task = asyncio.create_task(publishing.publish_upload(services, author, "bear", upload_of(clip)))
    await asyncio.wait_for(objects_stored.wait(), timeout=30)
    assert len(local_keys(services)) == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_nothing_published(services)


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


def publish_form(file_bytes: int) -> tuple[list[bytes], dict[str, str]]:
    """A GraphQL multipart publish whose file part holds `file_bytes` bytes, as chunks and headers."""
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
    return [head, b"\0" * file_bytes, tail], {"Content-Type": f"multipart/form-data; boundary={boundary}"}


async def test_body_limit_stops_an_undeclared_body_once_it_passes_the_limit(services: Services) -> None:
    """The limit is the upload cap plus the form allowance, to the byte, for a body of unknown length."""
    framing = sum(len(part) for part in publish_form(0)[0])
    responses = []
    async with limited_graphql(services, 1000) as client:
        for total in (FORM_ALLOWANCE_BYTES + 1000, FORM_ALLOWANCE_BYTES + 1001):
            parts, headers = publish_form(total - framing)

            async def body(parts: list[bytes] = parts) -> AsyncIterator[bytes]:
                for part in parts:
                    yield part

            responses.append(await client.post("/graphql", content=body(), headers=headers))
    under, over = responses
    # Under the limit the form is read whole and the operation runs (and is refused: nobody signed in).
    assert under.status_code == 200
    assert under.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert over.status_code == 413
    assert over.headers["connection"] == "close"
    error = over.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "the upload is too large: at most 1000 bytes"


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
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        '{"query": "mutation($f: Upload!) { publishVideo(title: \\"t\\", file: $f) { id } }",'
        ' "variables": {"f": null}}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.f"]}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.mp4"\r\n\r\n'
    ).encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in chunks(2 * FORM_ALLOWANCE_BYTES):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/graphql", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    await assert_nothing_published(services)
