"""The `Message` type, `conversation` and `sendMessage`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import chat
from resolvers.pagination import check_first
from resolvers.validation import parse_id
from schema.context import Info
from schema.permissions import IsAuthenticated, viewer_id
from schema.scalars import datetime_from_ms, ms_from_datetime
from schema.users import User, load_existing_user
from storage.models import Message as MessageRow

DEFAULT_CONVERSATION_SIZE = 100


@strawberry.type
class Message:
    id: strawberry.ID
    content: str
    created_at: datetime
    sender_id: strawberry.Private[int]
    recipient_id: strawberry.Private[int]

    @strawberry.field
    async def sender(self, info: Info) -> User:
        return await load_existing_user(info, self.sender_id)

    @strawberry.field
    async def recipient(self, info: Info) -> User:
        return await load_existing_user(info, self.recipient_id)


def message_from_row(row: MessageRow) -> Message:
    return Message(
        id=strawberry.ID(str(row.id)),
        content=row.content,
        created_at=datetime_from_ms(row.created_at),
        sender_id=row.sender_id,
        recipient_id=row.recipient_id,
    )


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
        size = DEFAULT_CONVERSATION_SIZE if first is None else first
        check_first(size, info.context.services.settings.max_page_size)
        rows = await chat.conversation(
            info.context.services,
            viewer_id(info),
            parse_id("withUserId", with_user_id),
            ms_from_datetime(after) if after else None,
            size,
        )
        return [message_from_row(row) for row in rows]


@strawberry.type
class ChatMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def send_message(self, info: Info, to_user_id: strawberry.ID, content: str) -> Message:
        row = await chat.send_message(
            info.context.services, viewer_id(info), parse_id("toUserId", to_user_id), content
        )
        return message_from_row(row)
