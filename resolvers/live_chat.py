"""`messageReceived`: each message a user sends or receives, once, in commit order per conversation.

Why ids are enough: every send locks both users' rows before it takes its id and holds the locks until it
commits (`send_message`), so the messages involving one user are committed one at a time, in id order.
A read of them therefore always sees a prefix in id order, with nothing missing below its newest id.

A subscription tracks what it has handled: every message involving the viewer up to `floor`, and, per
conversation seen since, up to the message it was last given. A notice of message N (whose conversation's
previous message is P) is skipped when N was handled, delivered at once when P was, and otherwise, or when
the inbox says notices may have been missed, the subscription catches up from the database: every message
involving the viewer above `floor`, oldest first, each one not yet handled delivered, and `floor` raised
to the newest read. So nothing is skipped, nothing is delivered twice, and a conversation's messages come
in the order they were committed.

It starts from the newest message involving the viewer at the moment it subscribes (read before its inbox
opens, then one catch-up for anything committed in between).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, func, or_, select
from sqlmodel import col

from resolvers.errors import DomainError, ErrorCode
from storage.fanout import Inbox, TooManySubscriptionsError
from storage.models import Message, User
from storage.services import Services

log = logging.getLogger("douyin.chat")

CATCH_UP_PAGE = 100
# Conversations tracked one by one before a catch-up folds them into the floor.
MAX_TRACKED_CONVERSATIONS = 512
# A failing catch-up (the database is away) is retried this many times, backing off, before the
# subscription ends with an error.
CATCH_UP_ATTEMPTS = 5
CATCH_UP_FIRST_RETRY_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message for the subscriber, with the rows of its users when they came with its notice."""

    message: Message
    users: tuple[User, ...] = ()


class Watermarks:
    """What a subscription has handled (see the module docstring)."""

    __slots__ = ("floor", "last")

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self.last: dict[tuple[int, int], int] = {}

    def handled(self, conversation: tuple[int, int]) -> int:
        return max(self.floor, self.last.get(conversation, 0))

    def take(self, row: Message) -> bool:
        """Records `row` as given; False when it had been handled already."""
        conversation = (row.pair_low, row.pair_high)
        message_id = int(row.id or 0)
        if message_id <= self.handled(conversation):
            return False
        self.last[conversation] = message_id
        return True

    def raise_floor(self, floor: int) -> None:
        if floor <= self.floor:
            return
        self.floor = floor
        self.last = {key: value for key, value in self.last.items() if value > floor}


def _involving(viewer_id: int) -> ColumnElement[bool]:
    return or_(col(Message.sender_id) == viewer_id, col(Message.recipient_id) == viewer_id)


# One statement, so one snapshot; each maximum answered from its own index, where an OR scans both.
_NEWEST = func.max(col(Message.id))
_NEWEST_SENT_AND_RECEIVED = select(
    select(_NEWEST).where(col(Message.sender_id) == bindparam("viewer")).scalar_subquery(),
    select(_NEWEST).where(col(Message.recipient_id) == bindparam("viewer")).scalar_subquery(),
)


async def newest_message_id(services: Services, viewer_id: int) -> int:
    """The newest message the viewer sent or received (0: none), from one snapshot. A small read of its
    own (inline on SQLite): a thousand subscribers starting at once must not queue for pooled
    connections."""
    sent, received = (await services.db.rows(_NEWEST_SENT_AND_RECEIVED, {"viewer": viewer_id}))[0]
    return max(int(sent or 0), int(received or 0))


async def messages_after(services: Services, viewer_id: int, after_id: int, limit: int) -> list[Message]:
    """Messages the viewer sent or received with an id above `after_id`, oldest first."""
    statement = (
        select(Message)
        .where(_involving(viewer_id), col(Message.id) > after_id)
        .order_by(col(Message.id))
        .limit(limit)
    )
    return list(await services.db.scalars(statement))


async def _catch_up(services: Services, viewer_id: int, marks: Watermarks) -> AsyncIterator[Delivery]:
    services.fanout.metrics.catch_ups.inc()
    while True:
        rows = await _read_with_retries(services, viewer_id, marks.floor)
        for row in rows:
            if marks.take(row):
                services.fanout.metrics.messages_caught_up.inc()
                yield Delivery(row)
        if rows:
            marks.raise_floor(int(rows[-1].id or 0))
        if len(rows) < CATCH_UP_PAGE:
            return


async def _read_with_retries(services: Services, viewer_id: int, after_id: int) -> list[Message]:
    for attempt in range(CATCH_UP_ATTEMPTS):
        try:
            return await messages_after(services, viewer_id, after_id, CATCH_UP_PAGE)
        except Exception as error:
            if attempt == CATCH_UP_ATTEMPTS - 1:
                raise
            log.warning("chat catch-up failed (%s); retrying", type(error).__name__)
            await asyncio.sleep(CATCH_UP_FIRST_RETRY_SECONDS * 2**attempt)
    raise AssertionError("unreachable")


def _open_inbox(services: Services, viewer_id: int) -> Inbox:
    try:
        return services.fanout.open_inbox(viewer_id)
    except TooManySubscriptionsError:
        limit = services.settings.subscriptions_per_user
        raise DomainError(
            ErrorCode.RATE_LIMITED, f"Too many open subscriptions (at most {limit} per user); close one first"
        ) from None


async def message_feed(services: Services, viewer_id: int) -> AsyncGenerator[Delivery, None]:
    """Each message the viewer sends or receives from now on, until the subscriber stops iterating (use
    `contextlib.aclosing`) or the worker shuts down. RATE_LIMITED over the per-user cap."""
    floor = await newest_message_id(services, viewer_id)
    inbox = _open_inbox(services, viewer_id)
    metrics = services.fanout.metrics
    try:
        marks = Watermarks(floor)
        # Anything committed between reading the floor and opening the inbox was noticed to nobody.
        inbox.mark_behind()
        while True:
            notice = await inbox.next()
            if notice is None:
                if inbox.closed:
                    return
                inbox.behind = False
                async for delivery in _catch_up(services, viewer_id, marks):
                    metrics.messages_delivered.inc()
                    yield delivery
                if len(marks.last) > MAX_TRACKED_CONVERSATIONS:
                    inbox.mark_behind()
                continue
            handled = marks.handled(notice.conversation)
            if notice.message_id <= handled:
                continue
            if notice.row is None or notice.previous_id > handled:
                # Its row did not come with it, or the conversation's previous message has not been
                # given yet (its notice is late or lost): the database has both.
                inbox.mark_behind()
                continue
            if marks.take(notice.row):
                metrics.messages_delivered.inc()
                yield Delivery(notice.row, notice.users)
            if len(marks.last) > MAX_TRACKED_CONVERSATIONS:
                inbox.mark_behind()
    finally:
        services.fanout.close_inbox(inbox)
