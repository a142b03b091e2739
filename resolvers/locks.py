"""Row locks taken at the start of a write transaction, always in the same order (video, then users
by ascending id), so that concurrent likes, follows and comments queue instead of deadlocking.

On SQLite `FOR UPDATE` is not rendered; the BEGIN IMMEDIATE write lock already serialises writers.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from resolvers.errors import not_found, unauthenticated
from storage.models import User, Video


async def lock_video(session: AsyncSession, video_id: int) -> int:
    """Locks the video row; returns its author id."""
    author_id = (
        await session.execute(select(col(Video.author_id)).where(col(Video.id) == video_id).with_for_update())
    ).scalar_one_or_none()
    if author_id is None:
        raise not_found("No such video")
    return int(author_id)


async def lock_users(session: AsyncSession, viewer_id: int, *others: int) -> None:
    """Locks the viewer's and the other users' rows; NOT_FOUND when another user does not exist."""
    wanted = sorted({viewer_id, *others})
    found = set(
        (
            await session.execute(
                select(col(User.id)).where(col(User.id).in_(wanted)).order_by(col(User.id)).with_for_update()
            )
        ).scalars()
    )
    if viewer_id not in found:
        raise unauthenticated("Your account no longer exists")
    if any(other not in found for other in others):
        raise not_found("No such user")
