"""Comments on videos: the list, adding one, deleting one (its writer or the video's owner only)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from resolvers import rate_limits
from resolvers.errors import forbidden, not_found
from resolvers.locks import lock_users, lock_video
from resolvers.nested import ChildList
from resolvers.pagination import Position
from resolvers.rate_limits import Action, Client
from resolvers.validation import check_text
from storage.counters import add_to_counters
from storage.db import insert_row
from storage.models import Comment, Video, table_of
from storage.services import Services

COMMENTS_OF_VIDEO: ChildList[Comment] = ChildList(
    name="comments of video",
    select=select(Comment),
    parent=col(Comment.video_id),
    time=col(Comment.created_at),
    row_id=col(Comment.id),
    item=lambda row: row[0],
    position=lambda row: Position(row[0].created_at, int(row[0].id or 0)),
)
"""A video's comments, newest first."""


async def add_comment(
    services: Services, viewer_id: int, video_id: int, content: str, *, address: str | None = None
) -> Comment:
    await rate_limits.enforce(services, Action.COMMENT, Client(viewer_id, address))
    check_text("content", content, 1, services.settings.comment_max, multiline=True)

    async def work(session: AsyncSession) -> Comment:
        await lock_video(session, video_id)
        await lock_users(session, viewer_id)
        comment_id = await insert_row(
            session,
            table_of(Comment),
            video_id=video_id,
            user_id=viewer_id,
            content=content,
            created_at=services.clock.now_ms(),
        )
        await add_to_counters(session, table_of(Video), video_id, comment_count=1)
        return (await session.execute(select(Comment).where(col(Comment.id) == comment_id))).scalar_one()

    return await services.db.run_write(work)


@dataclass(frozen=True, slots=True)
class DeletedComment:
    comment_id: int
    video: Video


async def delete_comment(services: Services, viewer_id: int, comment_id: int) -> DeletedComment:
    async def work(session: AsyncSession) -> DeletedComment:
        found = (
            await session.execute(
                select(col(Comment.video_id), col(Comment.user_id)).where(col(Comment.id) == comment_id)
            )
        ).one_or_none()
        if found is None:
            raise not_found("No such comment")
        video_id, writer_id = int(found[0]), int(found[1])
        owner_id = await lock_video(session, video_id)
        if viewer_id not in (writer_id, owner_id):
            raise forbidden("Only the comment's writer or the video's owner may delete it")
        comments = table_of(Comment)
        result = await session.execute(delete(comments).where(comments.c.id == comment_id))
        # A concurrent delete of the same comment may have won: then it already changed the count.
        if result.rowcount:  # type: ignore[attr-defined]
            await add_to_counters(session, table_of(Video), video_id, comment_count=-1)
        statement = select(Video).where(col(Video.id) == video_id).execution_options(populate_existing=True)
        return DeletedComment(comment_id, (await session.execute(statement)).scalar_one())

    return await services.db.run_write(work)


async def comments_by_ids(services: Services, ids: list[int]) -> list[Comment | None]:
    """Each of `ids` (None where there is no such comment), in that order."""
    if not ids:
        return []
    rows = await services.db.scalars(select(Comment).where(col(Comment.id).in_(set(ids))))
    by_id = {row.id: row for row in rows}
    return [by_id.get(comment_id) for comment_id in ids]
