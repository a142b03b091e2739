"""`publishVideo` over HTTP: the GraphQL multipart request spec on /graphql, and the douyin REST route
`POST /douyin/publish/action/`, both through the one pipeline."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.datastructures import UploadFile

from app import create_app
from storage import clips
from storage.services import Services
from tests.support.factories import Account, add_users
from tests.support.graphql import data_of
from tests.support.publishing import leftover_uploads, local_keys, publish_multipart, video_rows


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("clips") / "bear.mp4"
    clips.make_test_video(path, seconds=1, size="320x240")
    return path.read_bytes()


@pytest.fixture
async def author(services: Services) -> Account:
    (account,) = await add_users(services, 1, prefix="author")
    return account


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    body: dict[str, Any] = response.json()
    errors: list[dict[str, Any]] = body.get("errors") or []
    return errors


async def test_publish_video_over_graphql_multipart_serves_what_was_uploaded(
    services: Services, client: httpx.AsyncClient, author: Account, clip: bytes
) -> None:
    response = await publish_multipart(client, clip, token=author.token)
    assert response.status_code == 200, response.text
    assert errors_of(response) == []
    video = response.json()["data"]["publishVideo"]
    assert video["title"] == "A bear"
    assert video["author"] == {"id": author.gid, "workCount": 1}
    assert video["playUrl"].startswith("http://testserver/media/videos/")
    assert video["coverUrl"].startswith("http://testserver/media/covers/")

    played = await client.get(video["playUrl"])
    assert played.content == clip
    assert (await client.get(video["coverUrl"])).content[:3] == b"\xff\xd8\xff"

    feed = await data_of(client, "{ feed(first: 5) { nodes { id playUrl } } }")
    assert feed["feed"]["nodes"] == [{"id": video["id"], "playUrl": video["playUrl"]}]


async def test_without_a_public_base_url_media_urls_use_the_request_host(
    services: Services, author: Account, clip: bytes
) -> None:
    services.settings = services.settings.model_copy(update={"public_base_url": ""})
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.2.2:8080") as phone:
        response = await publish_multipart(phone, clip, token=author.token)
        video = response.json()["data"]["publishVideo"]
        assert video["playUrl"].startswith("http://10.0.2.2:8080/media/videos/")
        assert video["coverUrl"].startswith("http://10.0.2.2:8080/media/covers/")
        assert (await phone.get(video["playUrl"])).content == clip


async def test_publishing_needs_a_signed_in_viewer(
    services: Services, client: httpx.AsyncClient, clip: bytes
) -> None:
    response = await publish_multipart(client, clip)
    assert [error["extensions"]["code"] for error in errors_of(response)] == ["UNAUTHENTICATED"]
    assert await video_rows(services) == []
    assert local_keys(services) == set()


async def test_a_non_video_upload_is_a_bad_user_input_error(
    services: Services, client: httpx.AsyncClient, author: Account
) -> None:
    response = await publish_multipart(client, b"plain text, not a video\n" * 50, token=author.token)
    (error,) = errors_of(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not a usable video" in error["message"]
    assert await video_rows(services) == []
    assert local_keys(services) == set()


async def test_an_oversize_upload_is_a_bad_user_input_error(
    services: Services, client: httpx.AsyncClient, author: Account, clip: bytes
) -> None:
    services.settings = services.settings.model_copy(update={"upload_max_bytes": len(clip) // 2})
    response = await publish_multipart(client, clip, token=author.token)
    (error,) = errors_of(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == f"the upload is too large: at most {len(clip) // 2} bytes"
    assert await video_rows(services) == []


async def test_rest_publish_action_runs_the_same_pipeline(
    services: Services, client: httpx.AsyncClient, author: Account, clip: bytes
) -> None:
    response = await client.post(
        "/douyin/publish/action/",
        data={"token": author.token, "title": "bear over REST"},
        files={"data": ("bear.mp4", clip, "video/mp4")},
    )
    assert response.status_code == 200
    assert response.json()["status_code"] == 0, response.text

    listed = await client.get("/douyin/publish/list/", params={"token": author.token, "user_id": author.id})
    (video,) = listed.json()["video_list"]
    assert video["title"] == "bear over REST"
    assert (await client.get(video["play_url"])).content == clip
    assert (await client.get(video["cover_url"])).content[:3] == b"\xff\xd8\xff"


async def test_rest_publish_of_a_non_video_fails_with_a_status_code_and_stores_nothing(
    services: Services, client: httpx.AsyncClient, author: Account
) -> None:
    response = await client.post(
        "/douyin/publish/action/",
        data={"token": author.token, "title": "fake"},
        files={"data": ("bear.mp4", b"not a video at all" * 10, "video/mp4")},
    )
    body = response.json()
    assert body["status_code"] != 0
    assert "not a usable video" in body["status_msg"]
    assert await video_rows(services) == []
    assert local_keys(services) == set()


async def test_rest_publish_over_the_cap_fails_with_a_status_code_and_stores_nothing(
    services: Services, client: httpx.AsyncClient, author: Account, clip: bytes
) -> None:
    services.settings = services.settings.model_copy(update={"upload_max_bytes": len(clip) - 1})
    response = await client.post(
        "/douyin/publish/action/",
        data={"token": author.token, "title": "too big"},
        files={"data": ("bear.mp4", clip, "video/mp4")},
    )
    body = response.json()
    assert body["status_code"] != 0
    assert body["status_msg"] == f"the upload is too large: at most {len(clip) - 1} bytes"
    assert await video_rows(services) == []
    assert local_keys(services) == set()


async def test_uploads_are_released_when_the_operation_fails_before_any_resolver(
    client: httpx.AsyncClient,
    services: Services,
    author: Account,
    clip: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[str | None] = []
    real_close = UploadFile.close

    async def recording_close(self: UploadFile) -> None:
        closed.append(self.filename)
        await real_close(self)

    monkeypatch.setattr(UploadFile, "close", recording_close)
    operations = {
        "query": "mutation($file: Upload!) { noSuchField(file: $file) }",
        "variables": {"file": None},
    }
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("bear.mp4", clip, "video/mp4")},
        headers={"Authorization": f"Bearer {author.token}"},
    )
    assert [error["extensions"]["code"] for error in errors_of(response)] == ["BAD_USER_INPUT"]
    assert set(closed) == {"bear.mp4"}
    assert leftover_uploads(services) == []
