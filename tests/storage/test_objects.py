"""Object storage: local disk served at /media with Range support, and S3 through the minio SDK against a
real S3 endpoint (moto's server)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from minio.error import S3Error

from storage.objects import LocalObjectStore, ObjectStoreError, S3ObjectStore, content_type_for
from storage.services import Services
from tests.conftest import S3Endpoint, free_port, make_settings

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes, every offset distinguishable


@pytest.fixture
def payload_file(tmp_path: Path) -> Path:
    path = tmp_path / "payload.bin"
    path.write_bytes(PAYLOAD)
    return path


def test_content_types_follow_the_key_extension() -> None:
    assert content_type_for("videos/2026/12/a.mp4") == "video/mp4"
    assert content_type_for("videos/a.webm") == "video/webm"
    assert content_type_for("videos/a.mov") == "video/quicktime"
    assert content_type_for("videos/a.mkv") == "video/x-matroska"
    assert content_type_for("covers/a.jpg") == "image/jpeg"


async def test_local_store_round_trip(tmp_path: Path, payload_file: Path) -> None:
    store = LocalObjectStore(tmp_path / "media")
    await store.put_file("videos/x/a.mp4", payload_file, "video/mp4")
    assert await store.exists("videos/x/a.mp4")
    assert await store.read("videos/x/a.mp4") == PAYLOAD
    assert not list((tmp_path / "media").rglob("*.partial"))
    await store.delete("videos/x/a.mp4")
    assert not await store.exists("videos/x/a.mp4")
    await store.delete("videos/x/a.mp4")  # deleting twice is not an error


async def test_local_store_keeps_the_object_after_the_source_is_removed(
    tmp_path: Path, payload_file: Path
) -> None:
    store = LocalObjectStore(tmp_path / "media")
    await store.put_file("videos/x/b.mp4", payload_file, "video/mp4")
    await asyncio.to_thread(payload_file.unlink)
    assert await store.read("videos/x/b.mp4") == PAYLOAD


async def test_local_store_copies_when_the_source_is_on_another_file_system(
    tmp_path: Path, payload_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cross_device_link(_source: object, _target: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr("storage.objects.os.link", cross_device_link)
    store = LocalObjectStore(tmp_path / "media")
    await store.put_file("videos/x/c.mp4", payload_file, "video/mp4")
    assert await store.read("videos/x/c.mp4") == PAYLOAD
    assert not list((tmp_path / "media").rglob("*.partial"))


@pytest.mark.parametrize("key", ["../outside.mp4", "/etc/passwd", "videos/../../x", "", "videos//a.mp4"])
async def test_local_store_refuses_keys_that_leave_its_root(
    tmp_path: Path, payload_file: Path, key: str
) -> None:
    store = LocalObjectStore(tmp_path / "media")
    with pytest.raises(ObjectStoreError):
        await store.put_file(key, payload_file, "video/mp4")
    assert not (tmp_path / "outside.mp4").exists()


def test_local_urls_are_absolute_under_the_media_route(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    assert store.url("videos/2026/12/a b.mp4", "https://douyin.example/") == (
        "https://douyin.example/media/videos/2026/12/a%20b.mp4"
    )


async def stored_locally(services: Services, payload_file: Path, key: str = "videos/t/clip.mp4") -> str:
    await services.objects.put_file(key, payload_file, "video/mp4")
    return f"/media/{key}"


async def test_media_route_serves_whole_files_with_type_and_caching(
    services: Services, client: httpx.AsyncClient, payload_file: Path
) -> None:
    url = await stored_locally(services, payload_file)
    response = await client.get(url)
    assert response.status_code == 200
    assert response.content == PAYLOAD
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert "immutable" in response.headers["cache-control"]


async def test_media_route_answers_ranges_so_players_can_seek(
    services: Services, client: httpx.AsyncClient, payload_file: Path
) -> None:
    url = await stored_locally(services, payload_file)
    response = await client.get(url, headers={"Range": "bytes=1000-1999"})
    assert response.status_code == 206
    assert response.content == PAYLOAD[1000:2000]
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(PAYLOAD)}"
    assert response.headers["content-length"] == "1000"

    tail = await client.get(url, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206
    assert tail.content == PAYLOAD[-100:]

    open_ended = await client.get(url, headers={"Range": "bytes=10000-"})
    assert open_ended.status_code == 206
    assert open_ended.content == PAYLOAD[10000:]


async def test_media_route_refuses_unsatisfiable_ranges(
    services: Services, client: httpx.AsyncClient, payload_file: Path
) -> None:
    url = await stored_locally(services, payload_file)
    response = await client.get(url, headers={"Range": f"bytes={len(PAYLOAD)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(PAYLOAD)}"


async def test_media_route_head_gives_headers_without_body(
    services: Services, client: httpx.AsyncClient, payload_file: Path
) -> None:
    url = await stored_locally(services, payload_file)
    response = await client.head(url)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(PAYLOAD))
    assert response.content == b""
    ranged = await client.head(url, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == f"bytes 0-9/{len(PAYLOAD)}"


@pytest.mark.parametrize("path", ["/media/videos/t/missing.mp4", "/media/..%2F..%2Fapp.py", "/media/videos/"])
async def test_media_route_404s_for_missing_or_escaping_keys(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


# S3, against moto's server through the minio SDK.


def s3_store(tmp_path: Path, endpoint: S3Endpoint, bucket: str, **overrides: object) -> S3ObjectStore:
    return S3ObjectStore(make_settings(tmp_path, **endpoint.settings_overrides(bucket), **overrides))


async def test_s3_store_creates_a_public_bucket_and_serves_objects_with_their_type(
    tmp_path: Path, s3_endpoint: S3Endpoint, bucket_name: str, payload_file: Path
) -> None:
    store = s3_store(tmp_path, s3_endpoint, bucket_name)
    assert not store.client.bucket_exists(bucket_name)
    await store.put_file("videos/x/a.webm", payload_file, "video/webm")
    assert store.client.bucket_exists(bucket_name)
    assert await store.exists("videos/x/a.webm")
    assert await store.read("videos/x/a.webm") == PAYLOAD

    url = store.url("videos/x/a.webm", "http://ignored")
    assert url == f"http://{s3_endpoint.address}/{bucket_name}/videos/x/a.webm"
    async with httpx.AsyncClient() as http:  # anonymous, as a phone fetches it
        response = await http.get(url)
        ranged = await http.get(url, headers={"Range": "bytes=100-199"})
    assert response.status_code == 200
    assert response.content == PAYLOAD
    assert response.headers["content-type"] == "video/webm"
    assert "immutable" in response.headers["cache-control"]
    assert ranged.status_code == 206
    assert ranged.content == PAYLOAD[100:200]

    await store.delete("videos/x/a.webm")
    assert not await store.exists("videos/x/a.webm")


async def test_s3_store_makes_the_bucket_again_when_the_store_comes_back_empty(
    tmp_path: Path, s3_endpoint: S3Endpoint, bucket_name: str, payload_file: Path
) -> None:
    store = s3_store(tmp_path, s3_endpoint, bucket_name)
    await store.put_file("videos/x/a.mp4", payload_file, "video/mp4")
    # The object store restarts empty: the bucket and everything in it are gone.
    await store.delete("videos/x/a.mp4")
    store.client.remove_bucket(bucket_name)
    await store.put_file("videos/x/b.mp4", payload_file, "video/mp4")
    assert await store.read("videos/x/b.mp4") == PAYLOAD
    async with httpx.AsyncClient() as http:  # public again, as phones fetch it
        assert (await http.get(store.url("videos/x/b.mp4", "http://ignored"))).content == PAYLOAD


async def test_s3_public_url_setting_sets_the_host_phones_use(
    tmp_path: Path, s3_endpoint: S3Endpoint, bucket_name: str
) -> None:
    store = s3_store(tmp_path, s3_endpoint, bucket_name, s3_public_url="https://cdn.example.com/media/")
    assert store.url("covers/a.jpg", "http://ignored") == "https://cdn.example.com/media/covers/a.jpg"


async def test_s3_presigned_mode_keeps_the_bucket_private(
    tmp_path: Path, s3_endpoint: S3Endpoint, bucket_name: str, payload_file: Path
) -> None:
    store = s3_store(tmp_path, s3_endpoint, bucket_name, s3_presign_seconds=600)
    await store.put_file("covers/a.jpg", payload_file, "image/jpeg")
    plain = f"http://{s3_endpoint.address}/{bucket_name}/covers/a.jpg"
    signed = store.url("covers/a.jpg", "http://ignored")
    assert "X-Amz-Expires=600" in signed
    async with httpx.AsyncClient() as http:
        assert (await http.get(plain)).status_code == 403
        response = await http.get(signed)
    assert response.status_code == 200
    assert response.content == PAYLOAD
    with pytest.raises(S3Error, match="NoSuchBucketPolicy"):
        store.client.get_bucket_policy(bucket_name)


async def test_s3_presigned_urls_are_signed_for_the_public_host(
    tmp_path: Path, s3_endpoint: S3Endpoint, bucket_name: str, payload_file: Path
) -> None:
    # The server reaches S3 at 127.0.0.1; phones know it by another name (here: localhost).
    public = f"http://localhost:{s3_endpoint.port}"
    store = s3_store(tmp_path, s3_endpoint, bucket_name, s3_presign_seconds=60, s3_public_url=public)
    await store.put_file("covers/b.jpg", payload_file, "image/jpeg")
    signed = store.url("covers/b.jpg", "http://ignored")
    assert signed.startswith(f"{public}/{bucket_name}/covers/b.jpg?")
    assert "X-Amz-Signature=" in signed
    async with httpx.AsyncClient() as phone:
        response = await phone.get(signed)
    assert response.status_code == 200
    assert response.content == PAYLOAD


async def test_s3_store_fails_fast_when_the_endpoint_is_down(tmp_path: Path, payload_file: Path) -> None:
    settings = make_settings(
        tmp_path,
        s3_endpoint=f"http://127.0.0.1:{free_port()}",
        s3_access_key="testing",
        s3_secret_key="testing",
        s3_bucket="down",
    )
    store = S3ObjectStore(settings)
    started = time.monotonic()
    with pytest.raises(ObjectStoreError):
        await store.put_file("videos/a.mp4", payload_file, "video/mp4")
    with pytest.raises(ObjectStoreError):
        await store.ping()
    assert time.monotonic() - started < 10
