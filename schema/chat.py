"""The `Message` type, the friend edge (a user edge with the latest message), `conversation` and
`sendMessage` (lazy types and builders: see users)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from core.clock import ms_from_datetime
from resolvers import chat
from resolvers.pagination import check_first
from resolvers.validation import parse_id
from schema.context import Info
from schema.pagination import Connection, Edge
from schema.permissions import IsAuthenticated, viewer_id
from storage.models import Message as MessageRow

if TYPE_CHECKING:
    from schema.users import User

DEFAULT_CONVERSATION_SIZE = 100


@strawberry.type
class Message:
    id: strawberry.ID
    content: str
    created_at: datetime
    sender_id: strawberry.Private[int]
    recipient_id: strawberry.Private[int]

    @strawberry.field
    async def sender(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")]:
        from schema import build

        return await build.load_existing_user(info, self.sender_id)

    @strawberry.field
    async def recipient(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")]:
        from schema import build

        return await build.load_existing_user(info, self.recipient_id)


@strawberry.type
class FriendEdge(Edge[Annotated["User", strawberry.lazy("schema.users")]]):
    # The latest message when the friend list fetched it up front (`last_known`); else the loader's.
    last: strawberry.Private[MessageRow | None] = None
    last_known: strawberry.Private[bool] = False

    @strawberry.field(description="The latest message between the viewer and this friend.")
    async def last_message(self, info: Info) -> Message | None:
        from schema import build

        row = (
            self.last
            if self.last_known
            else await info.context.loaders.last_message_by_friend.load(self.node.db_id)
        )
        return None if row is None else build.message_from_row(row)


@strawberry.type
class FriendConnection(Connection[Annotated["User", strawberry.lazy("schema.users")]]):
    edges: Sequence[FriendEdge]


@strawberry.type
class ChatQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description=(
            "Both directions between the viewer and `withUserId`, oldest first, strictly newer than "
            "`after`. Needs a viewer."
        ),
    )
    async def conversation(
        self,
        info: Info,
        with_user_id: strawberry.ID,
        after: datetime | None = strawberry.UNSET,
        first: int | None = DEFAULT_CONVERSATION_SIZE,
    ) -> list[Message]:
        from schema import build

        size = DEFAULT_CONVERSATION_SIZE if first is None else first
        check_first(size, info.context.services.settings.max_page_size)
        rows = await chat.conversation(
            info.context.services,
            viewer_id(info),
            parse_id("withUserId", with_user_id),
            ms_from_datetime(after) if after else None,
            size,
        )
        return [build.message_from_row(row) for row in rows]


@strawberry.type
class ChatMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def send_message(self, info: Info, to_user_id: strawberry.ID, content: str) -> Message:
        from schema import build

        row = await chat.send_message(
            info.context.services,
            viewer_id(info),
            parse_id("toUserId", to_user_id),
            content,
            address=info.context.client_address,
        )
        return build.message_from_row(row)
