"""Helpers for the douyin REST tests: calling routes, making users and videos, checking JSON shapes."""

from __future__ import annotations

import time
from typing import Any

import httpx
from jose import jwt

from core.clock import now_ms
from storage.counters import add_to_counters
from storage.models import Comment, Message, User, Video, table_of
from storage.services import Services

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


async def add_video(
    services: Services, author_id: int, title: str = "clip", created_at: int | None = None
) -> int:
    """A video row (no media files: the routes only turn keys into URLs)."""
    async with services.db.write() as session:
        video = Video(
            author_id=author_id,
            title=title,
            play_key=f"videos/{title}.mp4",
            cover_key=f"covers/{title}.jpg",
            created_at=created_at if created_at is not None else now_ms(),
        )
        session.add(video)
        await add_to_counters(session, table_of(User), author_id, work_count=1)
        await session.flush()
        assert video.id is not None
        return video.id


async def add_comments(services: Services, video_id: int, user_id: int, count: int, start: int) -> None:
    async with services.db.write() as session:
        for index in range(count):
            session.add(
                Comment(video_id=video_id, user_id=user_id, content=f"c{index}", created_at=start + index)
            )
        await add_to_counters(session, table_of(Video), video_id, comment_count=count)


async def add_messages(services: Services, sender: int, recipient: int, count: int, start: int) -> None:
    low, high = min(sender, recipient), max(sender, recipient)
    async with services.db.write() as session:
        for index in range(count):
            session.add(
                Message(
                    sender_id=sender,
                    recipient_id=recipient,
                    pair_low=low,
                    pair_high=high,
                    content=f"m{index}",
                    created_at=start + index,
                )
            )


def expired_token(services: Services, user_id: int) -> str:
    past = int(time.time()) - 3600
    claims = {"sub": str(user_id), "iat": past - 60, "exp": past}
    return str(jwt.encode(claims, services.settings.jwt_secret, algorithm="HS256"))
