"""Demo content: a cold start has a demo user and real, playable videos with JPEG covers."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from resolvers.demo import DEMO_USER_NAME, DEMO_VIDEOS, seed_demo_content
from storage import media
from storage.models import User, Video
from storage.services import Services


async def test_seed_publishes_playable_videos_once(services: Services, tmp_path: Path) -> None:
    assert await seed_demo_content(services) is True
    assert await seed_demo_content(services) is False  # the database is no longer empty

    async with services.db.read() as session:
        users = (await session.execute(select(User))).scalars().all()
        videos = (await session.execute(select(Video).order_by(col(Video.id)))).scalars().all()
    assert [user.name for user in users] == [DEMO_USER_NAME]
    assert users[0].work_count == len(DEMO_VIDEOS) == len(videos)
    assert {video.title for video in videos} == {title for title, _ in DEMO_VIDEOS}
    for video in videos:
        assert video.duration_ms > 0
        copy = tmp_path / "copy.mp4"
        copy.write_bytes(await services.objects.read(video.play_key))
        assert media.probe(copy).width == video.width
        assert (await services.objects.read(video.cover_key)).startswith(b"\xff\xd8\xff")
