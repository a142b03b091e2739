"""Publishing keeps ffmpeg work to `media_max_jobs` at a time, however many uploads arrive together."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from resolvers.publishing import publish_video
from storage import clips, media
from storage.models import User
from storage.services import Services


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"media_max_jobs": 1}


async def test_concurrent_publishes_run_ffmpeg_one_job_at_a_time(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "clip.mp4"
    clips.make_test_video(source, seconds=1)
    async with services.db.write() as session:
        author = User(name="author", password_hash="-")
        session.add(author)
        await session.flush()
    assert author.id is not None

    lock = threading.Lock()
    running = peak = 0
    real_probe = media.probe

    def watched_probe(path: Path) -> media.VideoInfo:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            return real_probe(path)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(media, "probe", watched_probe)
    videos = await asyncio.gather(
        *(publish_video(services, author.id, f"clip {i}", source) for i in range(4))
    )
    assert len({video.id for video in videos}) == 4
    assert peak == 1
