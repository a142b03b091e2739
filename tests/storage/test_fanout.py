"""The fan-out under the subscriptions: bounded inboxes, the per-user cap, Redis between workers (one
pub/sub connection each, reconnecting by itself), and readers that catch up from the database whenever a
notice may have been missed, late, or repeated."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, suppress

import pytest
import redis.asyncio as redis_asyncio

from resolvers import chat, live_chat
from resolvers.live_chat import Delivery
from storage.fanout import Fanout, Notice, RedisFanout, TooManySubscriptionsError
from storage.models import Message
from storage.services import Services
from tests.support.factories import add_users
from tests.support.realtime import ThrowawayRedis, throwaway_redis, until


def notice(message_id: int, previous_id: int = 0, sender: int = 1, recipient: int = 2) -> Notice:
    return Notice(message_id, previous_id, sender, recipient)


# Inboxes and the cap


async def test_an_inbox_holds_at_most_its_capacity_and_then_asks_for_a_catch_up() -> None:
    fanout = Fanout(queue_size=3)
    inbox = fanout.open_inbox(1)
    for message_id in range(1, 4):
        fanout.dispatch(notice(message_id))
    assert len(inbox) == 3
    assert not inbox.behind
    fanout.dispatch(notice(4))
    # Full: the queue is dropped (every dropped notice is of a committed message the database has).
    assert len(inbox) == 0
    assert inbox.behind
    assert fanout.metrics.queue_overflows.value == 1
    for message_id in range(5, 100):
        fanout.dispatch(notice(message_id))
        assert len(inbox) <= 3
    assert await inbox.next() is None  # behind: catch up first
    inbox.behind = False
    assert (await inbox.next()) is not None


async def test_notices_go_to_the_senders_and_the_recipients_inboxes_only() -> None:
    fanout = Fanout()
    sender, recipient, other = fanout.open_inbox(1), fanout.open_inbox(2), fanout.open_inbox(3)
    second_session = fanout.open_inbox(1)
    fanout.dispatch(notice(7, sender=1, recipient=2))
    for inbox in (sender, recipient, second_session):
        assert (await inbox.next()) == notice(7, sender=1, recipient=2)
    assert len(other) == 0


async def test_the_per_user_cap_counts_open_inboxes_and_closing_frees_a_place() -> None:
    fanout = Fanout(per_user=2)
    first, _second = fanout.open_inbox(1), fanout.open_inbox(1)
    with pytest.raises(TooManySubscriptionsError):
        fanout.open_inbox(1)
    fanout.open_inbox(2)
    assert fanout.metrics.subscriptions_open.value == 3
    assert fanout.metrics.subscriptions_refused.value == 1
    fanout.close_inbox(first)
    fanout.close_inbox(first)  # twice is harmless
    fanout.open_inbox(1)
    assert fanout.inbox_count == 3
    assert fanout.metrics.subscriptions_open.value == 3


async def test_closing_the_fanout_ends_every_reader() -> None:
    fanout = Fanout()
    inboxes = [fanout.open_inbox(user) for user in (1, 1, 2)]
    waiting = [asyncio.ensure_future(inbox.next()) for inbox in inboxes]
    await asyncio.sleep(0)
    await fanout.close()
    assert await asyncio.gather(*waiting) == [None, None, None]
    assert all(inbox.closed for inbox in inboxes)
    assert fanout.inbox_count == 0
    assert fanout.metrics.subscriptions_open.value == 0


# Readers: late, lost and repeated notices


class Held:
    """Notices `send_message` published, held back so a test decides what reaches the inboxes."""

    def __init__(self, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fanout = services.fanout
        self.notices: list[Notice] = []

        async def hold(notice: Notice) -> None:
            self.notices.append(notice)

        monkeypatch.setattr(services.fanout, "publish", hold)

    def deliver(self, *indexes: int) -> None:
        for index in indexes:
            self.fanout.dispatch(self.notices[index])


@pytest.fixture
def held(services: Services, monkeypatch: pytest.MonkeyPatch) -> Held:
    return Held(services, monkeypatch)


@pytest.fixture
async def feed(services: Services) -> AsyncIterator[tuple[int, int, _Pending]]:
    """Bob's feed of messages, started (its inbox open and its first catch-up done); Alice talks to him."""
    alice, bob = await add_users(services, 2)
    async with aclosing(live_chat.message_feed(services, bob.id)) as messages:
        first = asyncio.ensure_future(anext(messages))
        await until(lambda: services.fanout.inbox_count == 1)
        await asyncio.sleep(0.05)
        pending = _Pending(first, messages)
        yield alice.id, bob.id, pending
        await pending.aclose_first()


class _Pending:
    """The feed, with the `anext` that started it still pending."""

    def __init__(self, first: asyncio.Future[Delivery], messages: AsyncIterator[Delivery]) -> None:
        self._first: asyncio.Future[Delivery] | None = first
        self._messages = messages

    def __aiter__(self) -> _Pending:
        return self

    async def __anext__(self) -> Message:
        if self._first is not None:
            first, self._first = self._first, None
            return (await asyncio.wait_for(first, 2)).message
        return (await asyncio.wait_for(anext(self._messages), 2)).message

    async def aclose_first(self) -> None:
        if self._first is not None:
            self._first.cancel()
            with suppress(asyncio.CancelledError):
                await self._first


async def _contents(feed: AsyncIterator[Message], count: int) -> list[str]:
    return [(await anext(feed)).content for _ in range(count)]


async def _nothing_more(feed: AsyncIterator[Message]) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(feed), 0.2)


async def test_a_lost_notice_is_found_through_the_next_one_of_its_conversation(
    services: Services, held: Held, feed: tuple[int, int, _Pending]
) -> None:
    alice, bob, messages = feed
    for index in range(3):
        await chat.send_message(services, alice, bob, f"m{index}")
    held.deliver(2)  # m0 and m1 were never noticed; m2 names m1 as its previous message
    assert await _contents(messages, 3) == ["m0", "m1", "m2"]
    held.deliver(0, 1, 2)  # late and repeated: nothing twice
    await _nothing_more(messages)


async def test_notices_out_of_order_deliver_each_conversation_in_commit_order(
    services: Services, held: Held, feed: tuple[int, int, _Pending]
) -> None:
    alice, bob, messages = feed
    (carol,) = await add_users(services, 1, prefix="carol")
    await chat.send_message(services, alice, bob, "a0")
    await chat.send_message(services, carol.id, bob, "c0")
    await chat.send_message(services, bob, alice, "a1")
    held.deliver(2, 1, 0)
    received = await _contents(messages, 3)
    assert sorted(received) == ["a0", "a1", "c0"]
    assert received.index("a0") < received.index("a1")
    await _nothing_more(messages)


async def test_a_notice_without_its_row_is_read_from_the_database(
    services: Services, held: Held, feed: tuple[int, int, _Pending]
) -> None:
    alice, bob, messages = feed
    await chat.send_message(services, alice, bob, "from the database")
    (sent,) = held.notices
    services.fanout.dispatch(Notice(sent.message_id, sent.previous_id, sent.sender_id, sent.recipient_id))
    assert await _contents(messages, 1) == ["from the database"]


# More messages than one user may send in a minute: the catch-up, not the rate limit, is under test.
@pytest.mark.parametrize("settings_overrides", [{"rate_limits_enabled": False}])
async def test_a_reader_marked_behind_catches_up_in_pages(
    services: Services, held: Held, feed: tuple[int, int, _Pending]
) -> None:
    alice, bob, messages = feed
    count = live_chat.CATCH_UP_PAGE * 2 + 7
    for index in range(count):
        await chat.send_message(services, alice, bob, f"m{index}")
    services.fanout.mark_all_behind()  # as after a Redis reconnect
    assert await _contents(messages, count) == [f"m{index}" for index in range(count)]
    await _nothing_more(messages)


# Redis between workers


@pytest.fixture
def redis_server() -> Iterator[ThrowawayRedis]:
    with throwaway_redis() as server:
        yield server


@pytest.fixture
async def workers(
    services: Services, redis_server: ThrowawayRedis
) -> AsyncIterator[tuple[RedisFanout, RedisFanout]]:
    """Two workers' fan-outs on one database and one (throwaway) Redis."""
    channel = f"test:{uuid.uuid4().hex}:chat-notices"
    pair = (
        RedisFanout(redis_server.url, services.db, channel=channel),
        RedisFanout(redis_server.url, services.db, channel=channel),
    )
    try:
        yield pair
    finally:
        for fanout in pair:
            await fanout.close()


async def _numsub(url: str, channel: str) -> int:
    client = redis_asyncio.Redis.from_url(url)
    try:
        return int((await client.pubsub_numsub(channel))[0][1])
    finally:
        await client.aclose()


async def test_a_notice_published_by_one_worker_reaches_the_others_inboxes_with_its_row(
    services: Services, workers: tuple[RedisFanout, RedisFanout]
) -> None:
    a, b = workers
    alice, bob = await add_users(services, 2)
    on_a, on_b = a.open_inbox(bob.id), b.open_inbox(alice.id)
    await asyncio.wait_for(a.connected.wait(), 5)
    await asyncio.wait_for(b.connected.wait(), 5)
    for inbox in (on_a, on_b):
        assert await inbox.next() is None  # connected: catch up once
        inbox.behind = False
    row = await chat.send_message(dataclasses.replace(services, fanout=b), alice.id, bob.id, "hello")
    received = await asyncio.wait_for(on_a.next(), 2)
    assert received is not None
    assert received.row is not None
    assert (received.message_id, received.row.content) == (row.id, "hello")
    assert {user.id for user in received.users} == {alice.id, bob.id}  # read once per batch, for every reader
    # The sender's own worker handed it on at once, and ignores its own echo from Redis.
    assert (await asyncio.wait_for(on_b.next(), 1)) is not None
    await asyncio.sleep(0.2)
    assert len(on_b) == 0
    assert b.metrics.notices_published.value == 1
    assert a.metrics.notices_received.value == 1


async def test_a_worker_holds_one_pubsub_connection_whatever_its_subscriber_count(
    workers: tuple[RedisFanout, RedisFanout], redis_server: ThrowawayRedis
) -> None:
    a, _b = workers
    assert not a.listening
    assert await _numsub(redis_server.url, a.channel) == 0  # nobody subscribed, no connection
    inboxes = [a.open_inbox(user % 7) for user in range(50)]
    await asyncio.wait_for(a.connected.wait(), 5)
    assert await _numsub(redis_server.url, a.channel) == 1
    for inbox in inboxes:
        a.close_inbox(inbox)
    await a.close()
    assert not a.listening
    await until(lambda: not a.connected.is_set())
    assert await _numsub(redis_server.url, a.channel) == 0


async def test_after_redis_restarts_the_listener_resubscribes_and_every_reader_catches_up(
    services: Services, workers: tuple[RedisFanout, RedisFanout], redis_server: ThrowawayRedis
) -> None:
    a, b = workers
    alice, bob = await add_users(services, 2)
    inbox = a.open_inbox(bob.id)
    await asyncio.wait_for(a.connected.wait(), 5)
    inbox.behind = False

    redis_server.stop()
    await until(lambda: not a.connected.is_set(), 10, "the listener to notice")
    # Publishing while Redis is away fails quietly: the message is committed, and caught up later.
    via_b = dataclasses.replace(services, fanout=b)
    await chat.send_message(via_b, alice.id, bob.id, "while away")
    assert b.metrics.publish_failures.value == 1
    assert len(inbox) == 0

    redis_server.start()
    await asyncio.wait_for(a.connected.wait(), 10)
    assert a.metrics.listener_reconnects.value >= 1
    assert inbox.behind
    assert await _numsub(redis_server.url, a.channel) == 1
    await chat.send_message(via_b, alice.id, bob.id, "back again")
    assert b.metrics.notices_published.value == 1


async def test_the_listener_gives_up_a_connection_that_stops_answering(
    workers: tuple[RedisFanout, RedisFanout], redis_server: ThrowawayRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.fanout.LISTENER_HEALTH_SECONDS", 0.1)
    a, _b = workers
    inbox = a.open_inbox(1)
    await asyncio.wait_for(a.connected.wait(), 5)
    inbox.behind = False
    assert redis_server.process is not None
    pid = redis_server.process.pid
    os.kill(pid, signal.SIGSTOP)  # alive but silent, as behind a dead network path
    try:
        await until(lambda: not a.connected.is_set(), 5, "the listener to give up")
    finally:
        os.kill(pid, signal.SIGCONT)
    await asyncio.wait_for(a.connected.wait(), 10)
    assert inbox.behind
