"""The one publishing pipeline behind `publishVideo` and `POST /douyin/publish/action/`.

Probe the file, take a cover, store both objects, then write the row. The row is written only after both
objects are stored; if anything fails afterwards the stored objects are removed again, so a video is
either fully published or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
import uuid
from pathlib import Path

from resolvers.errors import bad_input
from storage import media
from storage.counters import add_to_counters
from storage.models import User, Video, table_of
from storage.objects import ObjectStoreError
from storage.services import Services

log = logging.getLogger(__name__)


def new_media_stem() -> str:
    """A unique key stem, so two uploads of `bear.mp4` never overwrite each other."""
    return f"{time.strftime('%Y/%m', time.gmtime())}/{uuid.uuid4().hex}"


def validate_title(title: str, max_length: int) -> str:
    title = title.strip()
    if not title:
        raise bad_input("title must not be empty")
    if len(title) > max_length:
        raise bad_input(f"title must be at most {max_length} characters")
    return title


async def publish_video(services: Services, author_id: int, title: str, source: Path) -> Video:
    title = validate_title(title, services.settings.title_max)
    try:
        info = await asyncio.to_thread(media.probe, source)
    except media.MediaError as error:
        raise bad_input(f"not a usable video: {error}") from error

    stem = new_media_stem()
    video_key, cover_key = f"videos/{stem}.mp4", f"covers/{stem}.jpg"
    stored: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cover-") as workdir:
        cover = Path(workdir) / "cover.jpg"
        try:
            await asyncio.to_thread(media.extract_cover, source, cover)
        except media.MediaError as error:
            raise bad_input(f"not a usable video: {error}") from error
        try:
            await services.objects.put_file(video_key, source, "video/mp4")
            stored.append(video_key)
            await services.objects.put_file(cover_key, cover, "image/jpeg")
            stored.append(cover_key)
            async with services.db.write() as session:
                video = Video(
                    author_id=author_id,
                    title=title,
                    play_key=video_key,
                    cover_key=cover_key,
                    duration_ms=info.duration_ms,
                    width=info.width,
                    height=info.height,
                )
                session.add(video)
                await add_to_counters(session, table_of(User), author_id, work_count=1)
                await session.flush()
        except BaseException:
            for key in stored:
                with contextlib.suppress(ObjectStoreError):
                    await services.objects.delete(key)
            raise
    return video
