"""The publishing pipeline on local disk: what is uploaded is what phones fetch, and a refused or failed
upload leaves nothing behind (no row, no object, no temporary file)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from resolvers import publishing
from resolvers.errors import DomainError, ErrorCode
from storage import clips
from storage.models import Video
from storage.objects import ObjectStoreError
from storage.services import Services
from tests.support.media import ffmpeg, make_not_a_video
from tests.support.publishing import (
    assert_nothing_published,
    leftover_uploads,
    local_keys,
    make_user,
    upload_of,
    video_rows,
    work_count,
)

BASE_URL = "http://testserver"


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
