"""The one publishing pipeline behind `publishVideo` and `POST /douyin/publish/action/`.

Probe the file, take a cover, move an MP4/MOV index to the front (players then start without fetching
the end of the file first), store both objects, then write the row. The row is written only after both
objects are stored; if anything fails afterwards the stored objects are removed again, so a video is
either fully published or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import uuid
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile

from core import metrics, pools
from resolvers import rate_limits
from resolvers.errors import DomainError, bad_input, unauthenticated
from resolvers.rate_limits import Action, Client
from resolvers.uploads import scratch_directory, scratch_root, spool_upload
from resolvers.validation import check_text
from storage import media
from storage.counters import add_to_counters
from storage.models import User, Video, table_of
from storage.objects import ObjectStoreError
from storage.services import Services

log = logging.getLogger(__name__)


def remove_stale_scratch(services: Services, older_than_seconds: float = 3600) -> int:
    """Remove scratch directories a crashed process left behind; returns how many. Only old ones: other
    workers sharing DATA_DIR may be publishing right now. Blocking; run at start-up."""
    root = scratch_root(services)
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    for entry in root.iterdir():
        if entry.is_dir() and entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def new_media_stem() -> str:
    """A unique key stem, so two uploads of `bear.mp4` never overwrite each other."""
    return f"{time.strftime('%Y/%m', time.gmtime())}/{uuid.uuid4().hex}"


def validate_title(title: str, max_length: int) -> str:
    return check_text("title", title.strip(), 1, max_length)


async def _remove_objects(services: Services, keys: list[str]) -> None:
    for key in keys:
        try:
            await services.objects.delete(key)
        except ObjectStoreError:
            # Unreferenced and under a key nobody knows: harmless, but worth a line for the operator.
            log.warning("could not remove %s after a failed publish", key)


async def _insert_row(services: Services, video: Video) -> Video:
    try:
        async with services.db.write() as session:
            session.add(video)
            await add_to_counters(session, table_of(User), video.author_id, work_count=1)
            await session.flush()
    except IntegrityError as error:
        # The only reference a new video row has is its author: a token for an account that is gone.
        raise unauthenticated("the account no longer exists") from error
    return video


def _with_index_first(source: Path, workdir: Path, container: media.Container) -> Path:
    """The file to store: `source`, or a copy with its index moved to the front when it was at the end."""
    if not media.index_at_end(source, container):
        return source
    rewritten = workdir / f"video.{container.extension}"
    if media.move_index_to_front(source, rewritten, container):
        return rewritten
    log.warning(
        "could not move the index of an uploaded .%s to the front; stored as uploaded", container.extension
    )
    return source


async def publish_video(services: Services, author_id: int, title: str, source: Path) -> Video:
    """Publish the video file at `source` (left in place; the caller owns it)."""
    title = validate_title(title, services.settings.title_max)
    async with services.media_jobs:
        return await _publish(services, author_id, title, source)


async def _publish(services: Services, author_id: int, title: str, source: Path) -> Video:
    try:
        info = await pools.MEDIA.run(media.probe, source)
    except media.MediaError as error:
        raise bad_input(f"not a usable video: {error}") from error

    stem = new_media_stem()
    video_key, cover_key = f"videos/{stem}.{info.container.extension}", f"covers/{stem}.jpg"
    stored: list[str] = []
    # Beside the media on local disk, so storing the video is a link rather than a copy.
    async with scratch_directory(scratch_root(services), "publish-") as workdir:
        cover = workdir / "cover.jpg"
        try:
            await pools.MEDIA.run(media.extract_cover, source, cover)
        except media.MediaError as error:
            raise bad_input(f"not a usable video: {error}") from error
        playable = await pools.MEDIA.run(_with_index_first, source, workdir, info.container)
        try:
            await services.objects.put_file(video_key, playable, info.container.content_type)
            stored.append(video_key)
            await services.objects.put_file(cover_key, cover, "image/jpeg")
            stored.append(cover_key)
            row = Video(
                author_id=author_id,
                title=title,
                play_key=video_key,
                cover_key=cover_key,
                duration_ms=info.duration_ms,
                width=info.width,
                height=info.height,
                created_at=services.clock.now_ms(),
            )
            return await _insert_row(services, row)
        except BaseException:
            # Also on cancellation (the client went away): shielded so the clean-up itself completes.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(_remove_objects(services, stored))
            raise


async def publish_upload(
    services: Services, author_id: int, title: str, upload: UploadFile, *, address: str | None = None
) -> Video:
    """Publish an uploaded file (GraphQL `Upload` or the REST form's `data`), capped at upload_max_bytes."""
    await rate_limits.enforce(services, Action.UPLOAD, Client(author_id, address))
    title = validate_title(title, services.settings.title_max)
    limit = services.settings.upload_max_bytes
    outcome = "error"
    try:
        async with spool_upload(upload, limit, scratch_root(services)) as path:
            metrics.UPLOAD_BYTES.inc(path.stat().st_size)
            video = await publish_video(services, author_id, title, path)
        outcome = "ok"
        return video
    except DomainError as error:
        outcome = error.code.value
        raise
    finally:
        metrics.UPLOADS.labels(outcome).inc()
