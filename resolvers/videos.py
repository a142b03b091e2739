"""Video lists (feed, a user's works, a user's likes) and likes."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from resolvers import rate_limits
from resolvers.locks import lock_users, lock_video
from resolvers.nested import ChildList
from resolvers.pagination import Page, PageRequest, Position, build_page, newest_first
from resolvers.rate_limits import Action, Client
from storage.counters import add_to_counters
from storage.db import insert_ignore
from storage.models import Favorite, User, Video, table_of
from storage.services import Services


def _video_position(video: Video) -> Position:
    return Position(video.created_at, int(video.id or 0))


async def feed(services: Services, request: PageRequest, before_ms: int | None) -> Page[Video]:
    """Newest first, strictly older than `before_ms` (default: now)."""
    before = services.clock.now_ms() + 1 if before_ms is None else before_ms
    statement = select(Video).where(col(Video.created_at) < before)
    statement = newest_first(statement, col(Video.created_at), col(Video.id), request)
    rows = await services.db.scalars(statement)
    return build_page(list(rows), request, _video_position)


VIDEOS_BY_AUTHOR: ChildList[Video] = ChildList(
    name="videos by author",
    select=select(Video),
    parent=col(Video.author_id),
    time=col(Video.created_at),
    row_id=col(Video.id),
    item=lambda row: row[0],
    position=lambda row: _video_position(row[0]),
)
"""A user's videos, newest first."""

FAVORITES_OF_USER: ChildList[Video] = ChildList(
    name="favorites of user",
    select=select(Video, col(Favorite.created_at)).join(Favorite, col(Favorite.video_id) == col(Video.id)),
    parent=col(Favorite.user_id),
    time=col(Favorite.created_at),
    row_id=col(Favorite.video_id),
    item=lambda row: row[0],
    position=lambda row: Position(int(row[1]), int(row[0].id or 0)),
)
"""The videos a user likes, most recently liked first; cursors follow the like, not the video."""


async def _reload_video(session: AsyncSession, video_id: int) -> Video:
    return (
        await session.execute(
            select(Video).where(col(Video.id) == video_id).execution_options(populate_existing=True)
        )
    ).scalar_one()


async def like_video(
    services: Services, viewer_id: int, video_id: int, *, address: str | None = None
) -> Video:
    await rate_limits.enforce(services, Action.SOCIAL, Client(viewer_id, address))

    async def work(session: AsyncSession) -> Video:
        author_id = await lock_video(session, video_id)
        await lock_users(session, viewer_id, author_id)
        values = {"user_id": viewer_id, "video_id": video_id, "created_at": services.clock.now_ms()}
        if await insert_ignore(session, table_of(Favorite), values):
            await _change_like_counters(session, viewer_id, video_id, author_id, +1)
        return await _reload_video(session, video_id)

    return await services.db.run_write(work)


async def unlike_video(
    services: Services, viewer_id: int, video_id: int, *, address: str | None = None
) -> Video:
    await rate_limits.enforce(services, Action.SOCIAL, Client(viewer_id, address))

    async def work(session: AsyncSession) -> Video:
        author_id = await lock_video(session, video_id)
        await lock_users(session, viewer_id, author_id)
        result = await session.execute(
            delete(table_of(Favorite)).where(
                table_of(Favorite).c.user_id == viewer_id, table_of(Favorite).c.video_id == video_id
            )
        )
        if result.rowcount:  # type: ignore[attr-defined]
            await _change_like_counters(session, viewer_id, video_id, author_id, -1)
        return await _reload_video(session, video_id)

    return await services.db.run_write(work)


async def _change_like_counters(
    session: AsyncSession, liker_id: int, video_id: int, author_id: int, delta: int
) -> None:
    await add_to_counters(session, table_of(Video), video_id, favorite_count=delta)
    users = table_of(User)
    # Users in ascending id order, the order their rows were locked in.
    if liker_id == author_id:
        await add_to_counters(session, users, liker_id, favorite_count=delta, total_favorited=delta)
    elif liker_id < author_id:
        await add_to_counters(session, users, liker_id, favorite_count=delta)
        await add_to_counters(session, users, author_id, total_favorited=delta)
    else:
        await add_to_counters(session, users, author_id, total_favorited=delta)
        await add_to_counters(session, users, liker_id, favorite_count=delta)
