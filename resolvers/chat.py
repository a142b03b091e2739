"""Direct messages between two users: the conversation and sending."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from resolvers import rate_limits
from resolvers.errors import bad_input, not_found
from resolvers.locks import lock_users
from resolvers.rate_limits import Action, Client
from resolvers.validation import check_text
from storage.db import insert_row
from storage.fanout import Notice
from storage.models import Message, MessageFields, User, table_of
from storage.services import Services

# Built once: a chat poll runs these every second per open chat, and building them cost more than
# running them.
_USER_EXISTS = select(col(User.id)).where(col(User.id) == bindparam("user_id"))
# "Newer than nothing" is newer than -1: message times are epoch milliseconds. Its rows carry the
# message's columns by name, as a `Message` does.
_CONVERSATION = (
    select(*table_of(Message).c)
    .where(
        col(Message.pair_low) == bindparam("low"),
        col(Message.pair_high) == bindparam("high"),
        col(Message.created_at) > bindparam("after"),
    )
    .order_by(col(Message.created_at), col(Message.id))
    .limit(bindparam("first"))
)


async def conversation(
    services: Services, viewer_id: int, other_id: int, after_ms: int | None, first: int
) -> Sequence[MessageFields]:
    """Both directions, oldest first, strictly newer than `after_ms`; NOT_FOUND when there is no such
    user (asked only when there are no messages: the foreign keys say a message's users exist)."""
    values = {
        "low": min(viewer_id, other_id),
        "high": max(viewer_id, other_id),
        "after": -1 if after_ms is None else after_ms,
        "first": first,
    }
    rows = await services.db.rows(_CONVERSATION, values)
    if not rows and not await services.db.rows(_USER_EXISTS, {"user_id": other_id}):
        raise not_found("No such user")
    # The rows carry the messages table's columns by name.
    return cast("Sequence[MessageFields]", rows)


async def send_message(
    services: Services, viewer_id: int, to_user_id: int, content: str, *, address: str | None = None
) -> Message:
    await rate_limits.enforce(services, Action.MESSAGE, Client(viewer_id, address))
    check_text("content", content, 1, services.settings.message_max, multiline=True)
    if to_user_id == viewer_id:
        raise bad_input("You cannot send a message to yourself")

    async def work(session: AsyncSession) -> Notice:
        # Both users' rows are locked, so sends in this conversation run one at a time; each takes a time
        # after the newest message (read with a lock, so it is the latest committed one). Times then
        # grow in commit order even when clocks of two servers disagree or one steps back, and a client
        # polling with "newer than the last time I saw" never skips or repeats a message.
        await lock_users(session, viewer_id, to_user_id)
        pair_low, pair_high = min(viewer_id, to_user_id), max(viewer_id, to_user_id)
        newest = (
            await session.execute(
                select(col(Message.created_at), col(Message.id))
                .where(col(Message.pair_low) == pair_low, col(Message.pair_high) == pair_high)
                .order_by(col(Message.created_at).desc())
                .limit(1)
                .with_for_update()
            )
        ).first()
        now = services.clock.now_ms()
        created_at = now if newest is None else max(now, int(newest[0]) + 1)
        previous_id = 0 if newest is None else int(newest[1])
        message_id = await insert_row(
            session,
            table_of(Message),
            sender_id=viewer_id,
            recipient_id=to_user_id,
            pair_low=pair_low,
            pair_high=pair_high,
            content=content,
            created_at=created_at,
        )
        row = (await session.execute(select(Message).where(col(Message.id) == message_id))).scalar_one()
        users: tuple[User, ...] = ()
        if services.fanout.has_inbox_for(viewer_id, to_user_id):
            # Subscribers here will show the two users: read them now, not once per subscriber.
            found = await session.execute(select(User).where(col(User.id).in_((viewer_id, to_user_id))))
            users = tuple(found.scalars())
        return Notice(message_id, previous_id, viewer_id, to_user_id, row, users)

    notice = await services.db.run_write(work)
    # Committed: now tell the subscriptions (never from inside the transaction, which may still roll back).
    await services.fanout.publish(notice)
    assert notice.row is not None
    return notice.row
