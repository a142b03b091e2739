"""Publishing in tests: uploads, what was stored, and the GraphQL multipart request."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlmodel import col
from starlette.datastructures import UploadFile

from storage.models import User, Video
from storage.objects import LocalObjectStore
from storage.services import Services

PUBLISH = """
mutation Publish($title: String!, $file: Upload!) {
  publishVideo(title: $title, file: $file) { id title playUrl coverUrl author { id workCount } }
}
"""


async def publish_multipart(
    client: httpx.AsyncClient, data: bytes, *, title: str = "A bear", token: str | None = None
) -> httpx.Response:
    """One request as the multipart request spec lays it out: operations, map, then the file part."""
    operations = {"query": PUBLISH, "variables": {"title": title, "file": None}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("bear.mp4", data, "video/mp4")},
        headers=headers,
    )


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
