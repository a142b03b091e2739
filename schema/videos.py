"""The `Video` type, video connections, `video` / `feed` and the like mutations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import comments as comment_resolvers
from resolvers import videos as video_resolvers
from resolvers.pagination import Page
from resolvers.users import require_viewer
from resolvers.validation import parse_id
from schema.context import Info
from schema.pagination import PageInfo, page_info, page_request
from schema.scalars import datetime_from_ms, ms_from_datetime
from schema.users import User, load_existing_user
from storage.models import Video as VideoRow

if TYPE_CHECKING:
    from schema.comments import CommentConnection


@strawberry.type
class Video:
    id: strawberry.ID
    title: str
    favorite_count: int
    comment_count: int
    created_at: datetime
    db_id: strawberry.Private[int]
    author_id: strawberry.Private[int]
    play_key: strawberry.Private[str]
    cover_key: strawberry.Private[str]

    @strawberry.field(description="Absolute URL.")
    def play_url(self, info: Info) -> str:
        return info.context.services.objects.url(self.play_key, info.context.base_url)

    @strawberry.field(description="Absolute URL, never empty.")
    def cover_url(self, info: Info) -> str:
        return info.context.services.objects.url(self.cover_key, info.context.base_url)

    @strawberry.field
    async def author(self, info: Info) -> User:
        return await load_existing_user(info, self.author_id)

    @strawberry.field
    async def viewer_has_liked(self, info: Info) -> bool:
        return await info.context.loaders.liked_by_viewer.load(self.db_id)

    @strawberry.field(description="Newest first.")
    async def comments(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> Annotated[CommentConnection, strawberry.lazy("schema.comments")]:
        from schema.comments import comment_connection

        page = await comment_resolvers.comments_of_video(
            info.context.services, self.db_id, page_request(info, first, after)
        )
        return comment_connection(page)


def video_from_row(row: VideoRow) -> Video:
    """The GraphQL `Video` for a stored row (also used by the publishing mutation)."""
    return Video(
        id=strawberry.ID(str(row.id)),
        title=row.title,
        favorite_count=row.favorite_count,
        comment_count=row.comment_count,
        created_at=datetime_from_ms(row.created_at),
        db_id=int(row.id or 0),
        author_id=row.author_id,
        play_key=row.play_key,
        cover_key=row.cover_key,
    )


@strawberry.type
class VideoEdge:
    cursor: str
    node: Video


@strawberry.type
class VideoConnection:
    edges: list[VideoEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Video]:
        return [edge.node for edge in self.edges]


def video_connection(info: Info, page: Page[VideoRow]) -> VideoConnection:
    # A comment's `video` on the same page is then answered without another query.
    info.context.loaders.video_by_id.prime_many({int(row.id or 0): row for _, row in page.items})
    return VideoConnection(
        edges=[VideoEdge(cursor=cursor, node=video_from_row(row)) for cursor, row in page.items],
        page_info=page_info(page),
    )


async def load_video(info: Info, video_id: int) -> Video | None:
    row = await info.context.loaders.video_by_id.load(video_id)
    return None if row is None else video_from_row(row)


@strawberry.type
class VideoQuery:
    @strawberry.field
    async def video(self, info: Info, id: strawberry.ID) -> Video | None:
        return await load_video(info, parse_id("id", id))

    @strawberry.field(description="Newest first, strictly older than `before` (default: now).")
    async def feed(
        self,
        info: Info,
        first: int | None = 30,
        before: datetime | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
    ) -> VideoConnection:
        before_ms = ms_from_datetime(before) if before else None
        page = await video_resolvers.feed(info.context.services, page_request(info, first, after), before_ms)
        return video_connection(info, page)


@strawberry.type
class VideoMutation:
    @strawberry.mutation(description="Idempotent: liking twice counts once.")
    async def like_video(self, info: Info, video_id: strawberry.ID) -> Video:
        viewer_id = require_viewer(info.context.viewer_id)
        row = await video_resolvers.like_video(
            info.context.services, viewer_id, parse_id("videoId", video_id)
        )
        return video_from_row(row)

    @strawberry.mutation(description="Idempotent.")
    async def unlike_video(self, info: Info, video_id: strawberry.ID) -> Video:
        viewer_id = require_viewer(info.context.viewer_id)
        row = await video_resolvers.unlike_video(
            info.context.services, viewer_id, parse_id("videoId", video_id)
        )
        return video_from_row(row)
