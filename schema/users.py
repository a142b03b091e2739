"""The `User` type, user connections and the `viewer` / `user` root fields."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types.nodes import SelectedField

from resolvers import social
from resolvers import videos as video_resolvers
from resolvers.pagination import Page
from resolvers.validation import parse_id
from schema.context import Info
from schema.pagination import PageInfo, page_info, page_request
from schema.prefetch import children, fields_of_current, names, node_fields, nothing
from storage.models import Message as MessageRow
from storage.models import User as UserRow

if TYPE_CHECKING:
    from schema.chat import Message
    from schema.videos import VideoConnection

DEFAULT_AVATAR = "/assets/avatar.jpg"
DEFAULT_BACKGROUND = "/assets/background.jpg"


@strawberry.type
class User:
    id: strawberry.ID
    name: str
    signature: str
    follow_count: int = strawberry.field(description="Users this user follows.")
    follower_count: int
    total_favorited: int = strawberry.field(description="Likes received over all of this user's videos.")
    work_count: int = strawberry.field(description="Videos published.")
    favorite_count: int = strawberry.field(description="Videos this user likes.")
    db_id: strawberry.Private[int]
    avatar_key: strawberry.Private[str]
    background_key: strawberry.Private[str]
    # Answered up front by the list that holds this user (see schema/prefetch.py); None: ask the loader.
    viewer_follows: strawberry.Private[bool | None] = None

    @strawberry.field(description="Absolute URL.")
    def avatar(self, info: Info) -> str:
        return _image_url(info, self.avatar_key, DEFAULT_AVATAR)

    @strawberry.field(description="Absolute URL.")
    def background_image(self, info: Info) -> str:
        return _image_url(info, self.background_key, DEFAULT_BACKGROUND)

    @strawberry.field(graphql_type=bool, description="False when anonymous or when this is the viewer.")
    def viewer_is_following(self, info: Info) -> bool | Awaitable[bool]:
        if self.viewer_follows is not None:
            return self.viewer_follows
        return info.context.loaders.followed_by_viewer.load(self.db_id)

    @strawberry.field(description="Published, newest first.")
    async def videos(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> Annotated[VideoConnection, strawberry.lazy("schema.videos")]:
        from schema.videos import video_connection

        page = await video_resolvers.videos_by_author(
            info.context.services, self.db_id, page_request(info, first, after)
        )
        return await video_connection(info, page)

    @strawberry.field(description="Liked, most recently liked first.")
    async def favorites(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> Annotated[VideoConnection, strawberry.lazy("schema.videos")]:
        from schema.videos import video_connection

        page = await video_resolvers.favorites_of(
            info.context.services, self.db_id, page_request(info, first, after)
        )
        return await video_connection(info, page)

    @strawberry.field(description="Users this user follows, most recently followed first.")
    async def following(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> UserConnection:
        page = await social.following(info.context.services, self.db_id, page_request(info, first, after))
        return await user_connection(info, page)

    @strawberry.field(description="Users following this user, most recent first.")
    async def followers(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> UserConnection:
        page = await social.followers(info.context.services, self.db_id, page_request(info, first, after))
        return await user_connection(info, page)

    @strawberry.field(
        description="Mutual follows, each with the latest message between the viewer and that friend."
    )
    async def friends(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> FriendConnection:
        page = await social.friends(info.context.services, self.db_id, page_request(info, first, after))
        rows = [row for _, row in page.items]
        prime_users(info, rows)
        edges = children(fields_of_current(info), "edges")
        friend_ids = [int(row.id or 0) for row in rows]
        users, last_messages = await asyncio.gather(
            users_with_answers(info, rows, node_fields(info)),
            info.context.loaders.last_message_by_friend.load_many(friend_ids)
            if "lastMessage" in names(edges)
            else nothing(len(rows)),
        )
        return FriendConnection(
            edges=[
                FriendEdge(cursor=cursor, node=user, last=last, last_known="lastMessage" in names(edges))
                for (cursor, _), user, last in zip(page.items, users, last_messages, strict=True)
            ],
            page_info=page_info(page),
        )


def _image_url(info: Info, key: str, default_path: str) -> str:
    context = info.context
    if not key:
        return f"{context.base_url}{default_path}"
    return context.services.objects.url(key, context.base_url)


def user_from_row(row: UserRow, viewer_follows: bool | None = None) -> User:
    return User(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        signature=row.signature,
        follow_count=row.follow_count,
        follower_count=row.follower_count,
        total_favorited=row.total_favorited,
        work_count=row.work_count,
        favorite_count=row.favorite_count,
        db_id=int(row.id or 0),
        avatar_key=row.avatar_key,
        background_key=row.background_key,
        viewer_follows=viewer_follows,
    )


async def users_with_answers(info: Info, rows: Sequence[UserRow], fields: list[SelectedField]) -> list[User]:
    """Users for rows a list already fetched, `viewerIsFollowing` answered up front when asked for."""
    ids = [int(row.id or 0) for row in rows]
    follows = await (
        info.context.loaders.followed_by_viewer.load_many(ids)
        if "viewerIsFollowing" in names(fields)
        else nothing(len(ids))
    )
    return [user_from_row(row, follow) for row, follow in zip(rows, follows, strict=True)]


async def load_users_with_answers(
    info: Info, user_ids: Sequence[int], fields: list[SelectedField]
) -> list[User | None]:
    """Users by id (the same batches as field-by-field loading, all at once) with their answers."""
    loaders = info.context.loaders
    rows, follows = await asyncio.gather(
        loaders.user_by_id.load_many(user_ids),
        loaders.followed_by_viewer.load_many(user_ids)
        if "viewerIsFollowing" in names(fields)
        else nothing(len(user_ids)),
    )
    return [
        None if row is None else user_from_row(row, follow) for row, follow in zip(rows, follows, strict=True)
    ]


async def load_user(info: Info, user_id: int) -> User | None:
    row = await info.context.loaders.user_by_id.load(user_id)
    return None if row is None else user_from_row(row)


async def load_existing_user(info: Info, user_id: int) -> User:
    """For references the foreign keys guarantee (a video's author, a message's sender)."""
    user = await load_user(info, user_id)
    if user is None:
        raise LookupError(f"user {user_id} referenced but missing")
    return user


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[User]:
        return [edge.node for edge in self.edges]


def prime_users(info: Info, rows: list[UserRow]) -> None:
    """Rows a list already fetched: later lookups of the same users (a message's sender, a comment's
    author) come from the request's loader instead of another query."""
    info.context.loaders.user_by_id.prime_many({int(row.id or 0): row for row in rows})


async def user_connection(info: Info, page: Page[UserRow]) -> UserConnection:
    rows = [row for _, row in page.items]
    prime_users(info, rows)
    users = await users_with_answers(info, rows, node_fields(info))
    return UserConnection(
        edges=[
            UserEdge(cursor=cursor, node=user) for (cursor, _), user in zip(page.items, users, strict=True)
        ],
        page_info=page_info(page),
    )


@strawberry.type
class FriendEdge:
    cursor: str
    node: User
    # The latest message when the friend list fetched it up front (`last_known`); else the loader's.
    last: strawberry.Private[MessageRow | None] = None
    last_known: strawberry.Private[bool] = False

    @strawberry.field(description="The latest message between the viewer and this friend.")
    async def last_message(self, info: Info) -> Annotated[Message, strawberry.lazy("schema.chat")] | None:
        from schema.chat import message_from_row

        row = (
            self.last
            if self.last_known
            else await info.context.loaders.last_message_by_friend.load(self.node.db_id)
        )
        return None if row is None else message_from_row(row)


@strawberry.type
class FriendConnection:
    edges: list[FriendEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[User]:
        return [edge.node for edge in self.edges]


@strawberry.type
class UserQuery:
    @strawberry.field(description="The signed-in user, or null when anonymous.")
    async def viewer(self, info: Info) -> User | None:
        viewer_id = info.context.viewer_id
        return None if viewer_id is None else await load_user(info, viewer_id)

    @strawberry.field
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        return await load_user(info, parse_id("id", id))
