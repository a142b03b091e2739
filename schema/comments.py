"""The `Comment` type and the comment mutations (lazy types and builders: see users)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import comments as comment_resolvers
from resolvers.validation import parse_id
from schema.context import Info
from schema.permissions import IsAuthenticated, viewer_id

if TYPE_CHECKING:
    from schema.users import User
    from schema.videos import Video


@strawberry.type
class Comment:
    id: strawberry.ID
    content: str
    created_at: datetime
    user_id: strawberry.Private[int]
    video_id: strawberry.Private[int]
    # Answered up front by the list that holds this comment (see schema/build.py); None: ask the loader.
    author_user: strawberry.Private[Annotated[User, strawberry.lazy("schema.users")] | None] = None

    @strawberry.field(graphql_type=Annotated["User", strawberry.lazy("schema.users")])
    def author(self, info: Info) -> User | Awaitable[User]:
        if self.author_user is not None:
            return self.author_user
        from schema import build

        return build.load_existing_user(info, self.user_id)

    @strawberry.field
    async def video(self, info: Info) -> Annotated[Video, strawberry.lazy("schema.videos")]:
        from schema import build

        return await build.load_existing_video(info, self.video_id)


@strawberry.type
class DeleteCommentPayload:
    deleted_comment_id: strawberry.ID
    video: Annotated[Video, strawberry.lazy("schema.videos")]


@strawberry.type
class CommentMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def add_comment(self, info: Info, video_id: strawberry.ID, content: str) -> Comment:
        from schema import build

        row = await comment_resolvers.add_comment(
            info.context.services,
            viewer_id(info),
            parse_id("videoId", video_id),
            content,
            address=info.context.client_address,
        )
        return build.comment_from_row(row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="FORBIDDEN unless the viewer wrote the comment or owns the video.",
    )
    async def delete_comment(self, info: Info, comment_id: strawberry.ID) -> DeleteCommentPayload:
        from schema import build

        deleted = await comment_resolvers.delete_comment(
            info.context.services, viewer_id(info), parse_id("commentId", comment_id)
        )
        return DeleteCommentPayload(
            deleted_comment_id=strawberry.ID(str(deleted.comment_id)),
            video=build.video_from_row(deleted.video),
        )
