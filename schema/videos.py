"""The `Video` type, video connections, `video` / `feed` and the like mutations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types.nodes import SelectedField

from resolvers import comments as comment_resolvers
from resolvers import videos as video_resolvers
from resolvers.pagination import Page
from resolvers.validation import parse_id
from schema.context import Info
from schema.pagination import PageInfo, page_info, page_request
from schema.permissions import IsAuthenticated, viewer_id
from schema.prefetch import children, names, node_fields, nothing
from schema.scalars import datetime_from_ms, ms_from_datetime
from schema.users import User, load_existing_user, load_users_with_answers
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
    # Answered up front by the list that holds this video (see schema/prefetch.py); None: ask the loader.
    author_user: strawberry.Private[User | None] = None
    viewer_liked: strawberry.Private[bool | None] = None

    @strawberry.field(description="Absolute URL.")
    def play_url(self, info: Info) -> str:
        return info.context.services.objects.url(self.play_key, info.context.base_url)

    @strawberry.field(description="Absolute URL, never empty.")
    def cover_url(self, info: Info) -> str:
        return info.context.services.objects.url(self.cover_key, info.context.base_url)

    @strawberry.field(graphql_type=User)
    def author(self, info: Info) -> User | Awaitable[User]:
        if self.author_user is not None:
            return self.author_user
        return load_existing_user(info, self.author_id)

    @strawberry.field(graphql_type=bool)
    def viewer_has_liked(self, info: Info) -> bool | Awaitable[bool]:
        if self.viewer_liked is not None:
            return self.viewer_liked
        return info.context.loaders.liked_by_viewer.load(self.db_id)

    @strawberry.field(description="Newest first.")
    async def comments(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> Annotated[CommentConnection, strawberry.lazy("schema.comments")]:
        from schema.comments import comment_connection

        page = await comment_resolvers.comments_of_video(
            info.context.services, self.db_id, page_request(info, first, after)
        )
        return await comment_connection(info, page)


def video_from_row(row: VideoRow, author: User | None = None, viewer_liked: bool | None = None) -> Video:
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
        author_user=author,
        viewer_liked=viewer_liked,
    )


async def videos_with_answers(
    info: Info, rows: Sequence[VideoRow], fields: list[SelectedField]
) -> list[Video]:
    """Videos for rows a list already fetched, with `author` (and its `viewerIsFollowing`) and
    `viewerHasLiked` answered up front when asked for: one loader batch each, all at once."""
    wanted = names(fields)
    video_ids = [int(row.id or 0) for row in rows]
    liked, authors = await asyncio.gather(
        info.context.loaders.liked_by_viewer.load_many(video_ids)
        if "viewerHasLiked" in wanted
        else nothing(len(rows)),
        load_users_with_answers(info, [row.author_id for row in rows], children(fields, "author"))
        if "author" in wanted
        else nothing(len(rows)),
    )
    return [video_from_row(row, author, like) for row, author, like in zip(rows, authors, liked, strict=True)]


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


async def video_connection(info: Info, page: Page[VideoRow]) -> VideoConnection:
    rows = [row for _, row in page.items]
    # A comment's `video` on the same page is then answered without another query.
    info.context.loaders.video_by_id.prime_many({int(row.id or 0): row for row in rows})
    videos = await videos_with_answers(info, rows, node_fields(info))
    return VideoConnection(
        edges=[
            VideoEdge(cursor=cursor, node=video)
            for (cursor, _), video in zip(page.items, videos, strict=True)
        ],
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
        return await video_connection(info, page)


@strawberry.type
class VideoMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Idempotent: liking twice counts once."
    )
    async def like_video(self, info: Info, video_id: strawberry.ID) -> Video:
        row = await video_resolvers.like_video(
            info.context.services, viewer_id(info), parse_id("videoId", video_id)
        )
        return video_from_row(row)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="Idempotent.")
    async def unlike_video(self, info: Info, video_id: strawberry.ID) -> Video:
        row = await video_resolvers.unlike_video(
            info.context.services, viewer_id(info), parse_id("videoId", video_id)
        )
        return video_from_row(row)
