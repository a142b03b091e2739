"""The `User` type and the `viewer` / `user` root fields. Other types are named lazily, and rows
become types through schema/build.py (which imports this module, so it is imported at call time)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers.validation import parse_id
from schema.context import Info
from schema.pagination import Connection, page_request

if TYPE_CHECKING:
    from schema.chat import FriendConnection
    from schema.videos import Video

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
    # Answered up front by the list that holds this user (see schema/build.py); None: ask the loader.
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
    ) -> Connection[Annotated[Video, strawberry.lazy("schema.videos")]]:
        from schema import build

        page = await info.context.loaders.pages.videos_by_author.load(
            (self.db_id, page_request(info, first, after))
        )
        return await build.video_connection(info, page)

    @strawberry.field(description="Liked, most recently liked first.")
    async def favorites(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> Connection[Annotated[Video, strawberry.lazy("schema.videos")]]:
        from schema import build

        page = await info.context.loaders.pages.favorites_of_user.load(
            (self.db_id, page_request(info, first, after))
        )
        return await build.video_connection(info, page)

    @strawberry.field(description="Users this user follows, most recently followed first.")
    async def following(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> Connection[User]:
        from schema import build

        page = await info.context.loaders.pages.following.load((self.db_id, page_request(info, first, after)))
        return await build.user_connection(info, page)

    @strawberry.field(description="Users following this user, most recent first.")
    async def followers(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> Connection[User]:
        from schema import build

        page = await info.context.loaders.pages.followers.load((self.db_id, page_request(info, first, after)))
        return await build.user_connection(info, page)

    @strawberry.field(
        description="Mutual follows, each with the latest message between the viewer and that friend."
    )
    async def friends(
        self, info: Info, first: int | None = 30, after: str | None = strawberry.UNSET
    ) -> Annotated[FriendConnection, strawberry.lazy("schema.chat")]:
        from schema import build

        page = await info.context.loaders.pages.friends.load((self.db_id, page_request(info, first, after)))
        return await build.friend_connection(info, page)


def _image_url(info: Info, key: str, default_path: str) -> str:
    context = info.context
    if not key:
        return f"{context.base_url}{default_path}"
    return context.services.objects.url(key, context.base_url)


@strawberry.type
class UserQuery:
    @strawberry.field(description="The signed-in user, or null when anonymous.")
    async def viewer(self, info: Info) -> User | None:
        from schema import build

        viewer_id = info.context.viewer_id
        return None if viewer_id is None else await build.load_user(info, viewer_id)

    @strawberry.field
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        from schema import build

        return await build.load_user(info, parse_id("id", id))
