"""The `Comment` type, comment connections and the comment mutations."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

import strawberry

from resolvers import comments as comment_resolvers
from resolvers.pagination import Page
from resolvers.validation import parse_id
from schema.context import Info
from schema.pagination import PageInfo, page_info
from schema.permissions import IsAuthenticated, viewer_id
from schema.prefetch import children, names, node_fields, nothing
from schema.scalars import datetime_from_ms
from schema.users import User, load_existing_user, load_users_with_answers
from schema.videos import Video, load_video, video_from_row
from storage.models import Comment as CommentRow


@strawberry.type
class Comment:
    id: strawberry.ID
    content: str
    created_at: datetime
    user_id: strawberry.Private[int]
    video_id: strawberry.Private[int]
    # Answered up front by the list that holds this comment (see schema/prefetch.py); None: ask the loader.
    author_user: strawberry.Private[User | None] = None

    @strawberry.field(graphql_type=User)
    def author(self, info: Info) -> User | Awaitable[User]:
        if self.author_user is not None:
            return self.author_user
        return load_existing_user(info, self.user_id)

    @strawberry.field
    async def video(self, info: Info) -> Video:
        video = await load_video(info, self.video_id)
        if video is None:
            raise LookupError(f"video {self.video_id} referenced but missing")
        return video


def comment_from_row(row: CommentRow, author: User | None = None) -> Comment:
    return Comment(
        id=strawberry.ID(str(row.id)),
        content=row.content,
        created_at=datetime_from_ms(row.created_at),
        user_id=row.user_id,
        video_id=row.video_id,
        author_user=author,
    )


@strawberry.type
class CommentEdge:
    cursor: str
    node: Comment


@strawberry.type
class CommentConnection:
    edges: list[CommentEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[Comment]:
        return [edge.node for edge in self.edges]


async def comment_connection(info: Info, page: Page[CommentRow]) -> CommentConnection:
    rows = [row for _, row in page.items]
    fields = node_fields(info)
    authors = await (
        load_users_with_answers(info, [row.user_id for row in rows], children(fields, "author"))
        if "author" in names(fields)
        else nothing(len(rows))
    )
    return CommentConnection(
        edges=[
            CommentEdge(cursor=cursor, node=comment_from_row(row, author))
            for (cursor, row), author in zip(page.items, authors, strict=True)
        ],
        page_info=page_info(page),
    )


@strawberry.type
class DeleteCommentPayload:
    deleted_comment_id: strawberry.ID
    video: Video


@strawberry.type
class CommentMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def add_comment(self, info: Info, video_id: strawberry.ID, content: str) -> Comment:
        row = await comment_resolvers.add_comment(
            info.context.services, viewer_id(info), parse_id("videoId", video_id), content
        )
        return comment_from_row(row)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="FORBIDDEN unless the viewer wrote the comment or owns the video.",
    )
    async def delete_comment(self, info: Info, comment_id: strawberry.ID) -> DeleteCommentPayload:
        deleted = await comment_resolvers.delete_comment(
            info.context.services, viewer_id(info), parse_id("commentId", comment_id)
        )
        return DeleteCommentPayload(
            deleted_comment_id=strawberry.ID(str(deleted.comment_id)), video=video_from_row(deleted.video)
        )
