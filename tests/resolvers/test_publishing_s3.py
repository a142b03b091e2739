"""The publishing pipeline on a real S3 endpoint (moto's server, through the minio SDK): phones fetch the
uploaded bytes from the bucket; refusals and failures leave no object and no row."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from minio.error import S3Error
from moto.server import ThreadedMotoServer

from resolvers import publishing
from resolvers.errors import DomainError, ErrorCode
from storage.objects import ObjectStoreError, S3ObjectStore
from storage.services import Services
from tests.conftest import S3Endpoint, free_port
from tests.support.factories import add_users
from tests.support.media import make_not_a_video
from tests.support.publishing import make_user, publish_multipart, upload_of, video_rows, work_count

BASE_URL = "http://testserver"


@pytest.fixture
def settings_overrides(s3_endpoint: S3Endpoint, bucket_name: str) -> dict[str, Any]:
    return s3_endpoint.settings_overrides(bucket_name)


def s3_objects(services: Services) -> S3ObjectStore:
    assert isinstance(services.objects, S3ObjectStore)
    return services.objects


async def bucket_keys(services: Services) -> set[str]:
    store = s3_objects(services)

    def _list() -> set[str]:
        try:
            return {str(item.object_name) for item in store.client.list_objects(store.bucket, recursive=True)}
        except S3Error as error:
            if error.code == "NoSuchBucket":
                return set()
            raise

    return await asyncio.to_thread(_list)


async def assert_nothing_published(services: Services) -> None:
    assert await video_rows(services) == []
    assert await bucket_keys(services) == set()


async def test_phones_fetch_the_uploaded_bytes_and_a_jpeg_cover_from_the_bucket(
    services: Services, clip: bytes, s3_endpoint: S3Endpoint, bucket_name: str
) -> None:
    author = await make_user(services)
    video = await publishing.publish_upload(services, author, "bear on s3", upload_of(clip))
    assert await bucket_keys(services) == {video.play_key, video.cover_key}
    assert await work_count(services, author) == 1

    play_url = services.objects.url(video.play_key, BASE_URL)
    cover_url = services.objects.url(video.cover_key, BASE_URL)
    assert play_url.startswith(f"http://{s3_endpoint.address}/{bucket_name}/videos/")
    async with httpx.AsyncClient() as phone:
        played = await phone.get(play_url)
        seek = await phone.get(play_url, headers={"Range": "bytes=500-1499"})
        cover = await phone.get(cover_url)
    assert played.status_code == 200
    assert played.content == clip
    assert played.headers["content-type"] == "video/mp4"
    assert seek.status_code == 206
    assert seek.content == clip[500:1500]
    assert seek.headers["content-range"] == f"bytes 500-1499/{len(clip)}"
    assert cover.status_code == 200
    assert cover.headers["content-type"] == "image/jpeg"
    assert cover.content[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize("kind", ["empty", "text", "picture"])
async def test_non_videos_leave_the_bucket_empty(services: Services, tmp_path: Path, kind: str) -> None:
    author = await make_user(services)
    fake = tmp_path / f"{kind}.mp4"
    make_not_a_video(fake, kind)
    with pytest.raises(DomainError) as refused:
        await publishing.publish_upload(services, author, "fake", upload_of(fake.read_bytes()))
    assert refused.value.code == ErrorCode.BAD_USER_INPUT
    await assert_nothing_published(services)


async def test_truncated_and_oversize_uploads_leave_the_bucket_empty(services: Services, clip: bytes) -> None:
    author = await make_user(services)
    with pytest.raises(DomainError, match="damaged or truncated"):
        await publishing.publish_upload(services, author, "cut", upload_of(clip[: len(clip) // 2]))
    services.settings = services.settings.model_copy(update={"upload_max_bytes": 1000})
    with pytest.raises(DomainError, match="the upload is too large: at most 1000 bytes"):
        await publishing.publish_upload(services, author, "big", upload_of(clip, declare_size=False))
    await assert_nothing_published(services)


@dataclass
class DoomedS3:
    server: ThreadedMotoServer
    endpoint: S3Endpoint


@pytest.fixture
def doomed_s3() -> Iterator[DoomedS3]:
    """A second S3 server of its own, for a test to stop (stopping twice is harmless)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield DoomedS3(server, S3Endpoint("127.0.0.1", port))
    finally:
        server.stop()


async def test_a_stopped_s3_endpoint_leaves_no_row(
    services: Services, clip: bytes, doomed_s3: DoomedS3, bucket_name: str
) -> None:
    settings = services.settings.model_copy(update=doomed_s3.endpoint.settings_overrides(bucket_name))
    store = S3ObjectStore(settings)
    await store.ping()  # the bucket exists and the store is ready: the failure comes mid-publish
    services.objects = store
    await asyncio.to_thread(doomed_s3.server.stop)

    author = await make_user(services)
    with pytest.raises(ObjectStoreError):
        await publishing.publish_upload(services, author, "bear", upload_of(clip))
    assert await video_rows(services) == []
    assert await work_count(services, author) == 0


async def test_an_author_that_does_not_exist_leaves_no_object_in_the_bucket(
    services: Services, clip: bytes
) -> None:
    with pytest.raises(DomainError) as refused:
        await publishing.publish_upload(services, 424242, "ghost", upload_of(clip))
    assert refused.value.code == ErrorCode.UNAUTHENTICATED
    await assert_nothing_published(services)


async def test_publish_video_over_graphql_gives_urls_in_the_bucket(
    services: Services, client: httpx.AsyncClient, clip: bytes, s3_endpoint: S3Endpoint, bucket_name: str
) -> None:
    (author,) = await add_users(services, 1, prefix="s3author")
    response = await publish_multipart(client, clip, token=author.token)
    video = response.json()["data"]["publishVideo"]
    assert video["playUrl"].startswith(f"http://{s3_endpoint.address}/{bucket_name}/videos/")
    async with httpx.AsyncClient() as phone:
        assert (await phone.get(video["playUrl"])).content == clip
        assert (await phone.get(video["coverUrl"])).content[:3] == b"\xff\xd8\xff"
