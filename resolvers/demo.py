"""Demo content for a cold start: a demo user and a few real, playable videos, so the feed is never empty."""

from __future__ import annotations

import logging
import secrets
import tempfile
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from resolvers.passwords import hash_password
from resolvers.publishing import publish_video
from storage import clips
from storage.models import User
from storage.services import Services

log = logging.getLogger(__name__)

DEMO_USER_NAME = "douyin-demo"
DEMO_VIDEOS = (
    ("Test pattern", "testsrc2"),
    ("Colour bars", "smptehdbars"),
    ("Colour sweep", "rgbtestsrc"),
)


async def seed_demo_content(services: Services) -> bool:
    """Publish the demo videos when the database has no users; True when content was added."""
    async with services.db.read() as session:
        if await session.scalar(select(func.count()).select_from(User)):
            return False
    try:
        async with services.db.write() as session:
            # Nobody signs in as the demo user: its password is random and never shown.
            demo = User(
                name=DEMO_USER_NAME,
                password_hash=await hash_password(secrets.token_urlsafe(24)),
                signature="Sample videos that ship with the server",
            )
            session.add(demo)
            await session.flush()
            author_id = demo.id
    except IntegrityError:
        return False  # another worker seeded first
    assert author_id is not None
    with tempfile.TemporaryDirectory(prefix="demo-") as workdir:
        for title, pattern in DEMO_VIDEOS:
            source = Path(workdir) / f"{pattern}.mp4"
            clips.make_test_video(source, seconds=4, size="540x960", pattern=pattern)
            await publish_video(services, author_id, title, source)
    log.info("demo content published: %d videos", len(DEMO_VIDEOS))
    return True
