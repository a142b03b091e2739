"""The `Video` type, `video` / `feed` and the like mutations (lazy types and builders: see users)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from core.clock import ms_from_datetime
from resolvers import videos as video_resolvers
from resolvers.validation import parse_id
from schema.context import Info
from schema.pagination import Connection, page_request
from schema.permissions import IsAuthenticated, viewer_id

if TYPE_CHECKING:
    from schema.comments import Comment
    from schema.users import User


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
    # Answered up front by the list that holds this video (see schema/build.py); None: ask the loader.
    author_user: strawberry.Private[Annotated[User, strawberry.lazy("schema.users")] | None] = None
    viewer_liked: strawberry.Private[bool | None] = None

    @strawberry.field(description="Absolute URL.")
    def play_url(self, info: Info) -> str:
        return info.context.services.objects.url(self.play_key, info.context.base_url)

    @strawberry.field(description="Absolute URL, never empty.")
    def cover_url(self, info: Info) -> str:
        return info.context.services.objects.url(self.cover_key, info.context.base_url)

    @strawberry.field(graphql_type=Annotated["User", strawberry.lazy("schema.users")])
    def author(self, info: Info) -> User | Awaitable[User]:
        if self.author_user is not None:
            return self.author_user
        from schema import build

        return build.load_existing_user(info, self.author_id)

    @strawberry.field(graphql_type=bool)
    def viewer_has_liked(self, info: Info) -> bool | Awaitable[bool]:
        if self.viewer_liked is not None:
            return self.viewer_liked
        return info.context.loaders.liked_by_viewer.load(self.db_id)

    @strawberry.field(description="Newest first.")
    async def comments(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> Connection[Annotated[Comment, strawberry.lazy("schema.comments")]]:
        from schema import build

        page = await info.context.loaders.pages.comments_of_video.load(
            (self.db_id, page_request(info, first, after))
        )
        return await build.comment_connection(info, page)


@strawberry.type
class VideoQuery:
    @strawberry.field
    async def video(self, info: Info, id: strawberry.ID) -> Video | None:
        from schema import build

        return await build.load_video(info, parse_id("id", id))

    @strawberry.field(description="Newest first, strictly older than `before` (default: now).")
    async def feed(
        self,
        info: Info,
        first: int | None = 30,
        before: datetime | None = strawberry.UNSET,
        after: str | None = strawberry.UNSET,
    ) -> Connection[Video]:
        from schema import build

        before_ms = ms_from_datetime(before) if before else None
        page = await video_resolvers.feed(info.context.services, page_request(info, first, after), before_ms)
        return await build.video_connection(info, page)


@strawberry.type
class VideoMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Idempotent: liking twice counts once."
    )
    async def like_video(self, info: Info, video_id: strawberry.ID) -> Video:
        from schema import build

        row = await video_resolvers.like_video(
            info.context.services,
            viewer_id(info),
            parse_id("videoId", video_id),
            address=info.context.client_address,
        )
        return build.video_from_row(row)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="Idempotent.")
    async def unlike_video(self, info: Info, video_id: strawberry.ID) -> Video:
        from schema import build

        row = await video_resolvers.unlike_video(
            info.context.services,
            viewer_id(info),
            parse_id("videoId", video_id),
            address=info.context.client_address,
        )
        return build.video_from_row(row)
