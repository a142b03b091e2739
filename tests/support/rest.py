"""The douyin REST routes in tests: calling them, and checking each answer's envelope and JSON shapes."""

from __future__ import annotations

from typing import Any

import httpx

JSON_UTF8 = "application/json; charset=utf-8"


PASSWORD = "secret-password"


USER_FIELDS = {
    "id": int,
    "name": str,
    "follow_count": int,
    "follower_count": int,
    "is_follow": bool,
    "avatar": str,
    "background_image": str,
    "signature": str,
    "total_favorited": int,
    "work_count": int,
    "favorite_count": int,
}


VIDEO_FIELDS = {
    "id": int,
    "author": dict,
    "play_url": str,
    "cover_url": str,
    "favorite_count": int,
    "comment_count": int,
    "is_favorite": bool,
    "title": str,
}


COMMENT_FIELDS = {"id": int, "user": dict, "content": str, "create_date": str}


MESSAGE_FIELDS = {"id": int, "to_user_id": int, "from_user_id": int, "content": str, "create_time": int}


def check_envelope(response: httpx.Response) -> dict[str, Any]:
    """What every douyin answer must be: HTTP 200 JSON object with an int status_code and a status_msg."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON_UTF8
    body = response.json()
    assert isinstance(body, dict)
    assert type(body["status_code"]) is int
    assert isinstance(body["status_msg"], str)
    assert body["status_msg"]
    return body


async def call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = await client.request(method, f"/douyin{path}", params=params, data=data)
    return check_envelope(response)


async def ok(
    client: httpx.AsyncClient, method: str, path: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = await call(client, method, path, params)
    assert body["status_code"] == 0, body
    assert body["status_msg"] == "success"
    return body


async def fails(
    client: httpx.AsyncClient, method: str, path: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = await call(client, method, path, params)
    assert body["status_code"] != 0, body
    return body


async def register(client: httpx.AsyncClient, name: str) -> tuple[int, str]:
    body = await ok(client, "POST", "/user/register/", {"username": name, "password": PASSWORD})
    return body["user_id"], body["token"]


def check_fields(obj: Any, fields: dict[str, type]) -> None:
    assert isinstance(obj, dict)
    assert set(obj) == set(fields), sorted(obj)
    for name, kind in fields.items():
        assert type(obj[name]) is kind, (name, obj[name])


def check_user(user: Any) -> None:
    check_fields(user, USER_FIELDS)
    assert user["id"] > 0
    assert user["avatar"].startswith("http")
    assert user["background_image"].startswith("http")


def check_video(video: Any) -> None:
    check_fields(video, VIDEO_FIELDS)
    check_user(video["author"])
    assert video["play_url"].startswith("http")
    assert video["cover_url"].startswith("http")


def check_comment(comment: Any) -> None:
    check_fields(comment, COMMENT_FIELDS)
    check_user(comment["user"])
    assert len(comment["create_date"]) == 5
    assert comment["create_date"][2] == "-"


def check_message(message: Any) -> None:
    check_fields(message, MESSAGE_FIELDS)
    assert message["create_time"] > 10**12  # milliseconds
