"""Chat fan-out: "conversation X has message N" from the worker that committed it to every subscriber.

The database is the truth; a notice only says where to look. Each subscription holds an `Inbox`, a bounded
queue of notices registered under its user; a notice goes to the inboxes of the message's sender and
recipient in this worker. An inbox that may have missed notices (its queue overflowed, or the Redis
listener lost its connection) is marked `behind`, and its reader catches up from the database.

- `Fanout` (no `REDIS_URL`): notices stay in this process.
- `RedisFanout`: the committing worker hands the notice to its own inboxes at once and publishes it on one
  channel; every worker holds one pub/sub connection (never one per subscriber) and hands on what others
  published, with the rows fetched once per worker in a batch. The listener reconnects by itself; after
  every (re)connect every inbox is marked behind, since what was published meanwhile is in the database
  only. Its client never retries silently: redis-py's own reconnect would resubscribe and lose the gap
  without telling anyone.

Notices carry ids only (no content), and nothing here logs them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace

import orjson
import redis.asyncio as redis_asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from sqlalchemy import select
from sqlmodel import col

from core import metrics as exported
from core.realtime_metrics import RealtimeMetrics
from storage.db import Database
from storage.models import Message, User

log = logging.getLogger("douyin.fanout")

DEFAULT_QUEUE_SIZE = 100
DEFAULT_PER_USER = 10
# Redis listener: notices handed on per database fetch; quiet seconds before a ping, and as long for the
# pong; reconnect back-off bounds.
LISTENER_BATCH = 500
LISTENER_HEALTH_SECONDS = 5.0
RECONNECT_FIRST_SECONDS = 0.05
RECONNECT_MAX_SECONDS = 2.0
PUBLISH_TIMEOUT_SECONDS = 2.0
LISTENER_TASK_NAME = "douyin-chat-notices"


@dataclass(frozen=True, slots=True)
class Notice:
    """Message `message_id` was committed in the conversation of `sender_id` and `recipient_id`, whose
    message before it was `previous_id` (0: none). `row` is the message itself where it is at hand, and
    `users` the rows of its two users as of its commit (so that a delivery needs no query of its own)."""

    message_id: int
    previous_id: int
    sender_id: int
    recipient_id: int
    row: Message | None = None
    users: tuple[User, ...] = ()

    @property
    def conversation(self) -> tuple[int, int]:
        return min(self.sender_id, self.recipient_id), max(self.sender_id, self.recipient_id)

    def encode(self, origin: str) -> bytes:
        return orjson.dumps([origin, self.message_id, self.previous_id, self.sender_id, self.recipient_id])

    @staticmethod
    def decode(data: bytes | str) -> tuple[str, Notice]:
        origin, message_id, previous_id, sender_id, recipient_id = orjson.loads(data)
        return str(origin), Notice(int(message_id), int(previous_id), int(sender_id), int(recipient_id))


class TooManySubscriptionsError(Exception):
    """The user already holds the most subscriptions one worker allows them."""


class Inbox:
    """One subscription's notices, at most `capacity` of them. When full, the queue is dropped and the
    inbox marked behind: the dropped notices are all of committed messages, which a catch-up from the
    database will find, so memory stays bounded and nothing is lost."""

    __slots__ = ("_metrics", "_queue", "_ready", "behind", "capacity", "closed", "user_id")

    def __init__(self, user_id: int, capacity: int, metrics: RealtimeMetrics) -> None:
        self.user_id = user_id
        self.capacity = capacity
        self.behind = False
        self.closed = False
        self._queue: deque[Notice] = deque()
        self._ready = asyncio.Event()
        self._metrics = metrics

    def __len__(self) -> int:
        return len(self._queue)

    def offer(self, notice: Notice) -> None:
        if self.closed:
            return
        if len(self._queue) >= self.capacity:
            self._queue.clear()
            self._metrics.queue_overflows.inc()
            self.behind = True
        else:
            self._queue.append(notice)
        self._ready.set()

    def mark_behind(self) -> None:
        self.behind = True
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._queue.clear()
        self._ready.set()

    async def next(self) -> Notice | None:
        """The next notice; None when the inbox is behind (catch up, then call again) or closed (stop)."""
        while True:
            if self.closed or self.behind:
                return None
            if self._queue:
                return self._queue.popleft()
            self._ready.clear()
            await self._ready.wait()


class Fanout:
    """The inboxes of this worker, by user. On its own (no Redis) notices go no further than this process."""

    name = "memory"

    def __init__(
        self,
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        per_user: int = DEFAULT_PER_USER,
        metrics: RealtimeMetrics | None = None,
    ) -> None:
        self.queue_size = queue_size
        self.per_user = per_user
        self.metrics = metrics or RealtimeMetrics()
        self._inboxes: dict[int, set[Inbox]] = {}

    @property
    def inbox_count(self) -> int:
        return sum(len(inboxes) for inboxes in self._inboxes.values())

    def open_inbox(self, user_id: int) -> Inbox:
        held = self._inboxes.setdefault(user_id, set())
        if len(held) >= self.per_user:
            if not held:
                del self._inboxes[user_id]
            self.metrics.subscriptions_refused.inc()
            raise TooManySubscriptionsError(user_id)
        inbox = Inbox(user_id, self.queue_size, self.metrics)
        held.add(inbox)
        self.metrics.subscriptions_open.inc()
        exported.SUBSCRIPTIONS_OPEN.inc()
        return inbox

    def close_inbox(self, inbox: Inbox) -> None:
        inbox.close()
        held = self._inboxes.get(inbox.user_id)
        if held is None or inbox not in held:
            return
        held.discard(inbox)
        if not held:
            del self._inboxes[inbox.user_id]
        self.metrics.subscriptions_open.dec()
        exported.SUBSCRIPTIONS_OPEN.dec()

    def has_inbox_for(self, *user_ids: int) -> bool:
        return any(user_id in self._inboxes for user_id in user_ids)

    def interested(self, notice: Notice) -> bool:
        return self.has_inbox_for(notice.sender_id, notice.recipient_id)

    def dispatch(self, notice: Notice) -> None:
        for user_id in (notice.sender_id, notice.recipient_id):
            for inbox in self._inboxes.get(user_id, ()):
                inbox.offer(notice)

    def mark_all_behind(self) -> None:
        for inboxes in self._inboxes.values():
            for inbox in inboxes:
                inbox.mark_behind()

    async def publish(self, notice: Notice) -> None:
        """Called after the message's transaction committed; never raises."""
        self.dispatch(notice)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for inboxes in list(self._inboxes.values()):
            for inbox in list(inboxes):
                self.close_inbox(inbox)


class RedisFanout(Fanout):
    name = "redis"

    def __init__(
        self,
        url: str,
        db: Database,
        *,
        channel: str,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        per_user: int = DEFAULT_PER_USER,
        metrics: RealtimeMetrics | None = None,
    ) -> None:
        super().__init__(queue_size=queue_size, per_user=per_user, metrics=metrics)
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._db = db
        self._url = url
        # Publishing may retry briefly (a duplicate notice is harmless); it runs on the request path.
        self._publisher = redis_asyncio.Redis.from_url(
            url,
            socket_timeout=PUBLISH_TIMEOUT_SECONDS,
            socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), 2),
        )
        self._listener: asyncio.Task[None] | None = None
        self._listener_client: redis_asyncio.Redis | None = None
        self.connected = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.done()

    def open_inbox(self, user_id: int) -> Inbox:
        inbox = super().open_inbox(user_id)
        if self._listener is None:
            # Started with the first subscription: a worker nobody subscribes to holds no pub/sub connection.
            self._listener = asyncio.create_task(self._listen(), name=LISTENER_TASK_NAME)
        return inbox

    async def publish(self, notice: Notice) -> None:
        self.dispatch(notice)
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                await self._publisher.publish(self.channel, notice.encode(self.origin))
        except Exception as error:  # the message is committed; a notice lost here is caught up later
            self.metrics.publish_failures.inc()
            log.warning("could not publish a chat notice to Redis: %s", type(error).__name__)
        else:
            self.metrics.notices_published.inc()

    async def ping(self) -> None:
        await self._publisher.ping()

    async def close(self) -> None:
        await super().close()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with suppress(asyncio.CancelledError):
                await listener
        await self._publisher.aclose()

    # The listener: one pub/sub connection, its own reconnects.

    async def _listen(self) -> None:
        failures = 0
        client = redis_asyncio.Redis.from_url(
            self._url,
            socket_connect_timeout=PUBLISH_TIMEOUT_SECONDS,
            socket_timeout=None,
            retry=Retry(NoBackoff(), 0),
        )
        self._listener_client = client
        try:
            while True:
                pubsub = client.pubsub()
                try:
                    await pubsub.subscribe(self.channel)
                    await self._confirmed(pubsub)
                    self.connected.set()
                    failures = 0
                    # Whatever was published while this worker was not subscribed is in the database only.
                    self.mark_all_behind()
                    await self._pump(pubsub)
                except asyncio.CancelledError:
                    raise
                except Exception as error:  # any failure of the connection: reconnect
                    log.warning("chat notice listener lost Redis (%s); reconnecting", type(error).__name__)
                finally:
                    self.connected.clear()
                    with suppress(Exception):
                        await asyncio.wait_for(pubsub.aclose(), PUBLISH_TIMEOUT_SECONDS)  # type: ignore[no-untyped-call]
                self.metrics.listener_reconnects.inc()
                failures += 1
                delay = min(RECONNECT_MAX_SECONDS, RECONNECT_FIRST_SECONDS * 2 ** min(failures, 8))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        finally:
            self._listener_client = None
            with suppress(Exception):
                await asyncio.wait_for(client.aclose(), PUBLISH_TIMEOUT_SECONDS)

    @staticmethod
    async def _confirmed(pubsub: redis_asyncio.client.PubSub) -> None:
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            while True:
                message = await pubsub.get_message(timeout=PUBLISH_TIMEOUT_SECONDS)
                if message is not None and message["type"] == "subscribe":
                    return

    async def _pump(self, pubsub: redis_asyncio.client.PubSub) -> None:
        ping_outstanding = False
        while True:
            message = await pubsub.get_message(timeout=LISTENER_HEALTH_SECONDS)
            if message is None:
                if ping_outstanding:
                    raise ConnectionError("Redis did not answer a ping")
                await pubsub.ping()
                ping_outstanding = True
                continue
            batch = [message]
            while len(batch) < LISTENER_BATCH:
                more = await pubsub.get_message(timeout=0)
                if more is None:
                    break
                batch.append(more)
            ping_outstanding = ping_outstanding and not any(item["type"] == "pong" for item in batch)
            await self._hand_on(item["data"] for item in batch if item["type"] == "message")

    async def _hand_on(self, payloads: Iterable[bytes]) -> None:
        notices = []
        for payload in payloads:
            self.metrics.notices_received.inc()
            try:
                origin, notice = Notice.decode(payload)
            except (ValueError, TypeError):
                log.warning("ignored a malformed chat notice")
                continue
            if origin != self.origin and self.interested(notice):
                notices.append(notice)
        if not notices:
            return
        try:
            messages, users = await self._rows(notices)
        except Exception as error:  # the readers catch up from the database when it answers again
            log.warning("could not read noticed messages: %s", type(error).__name__)
            messages, users = {}, {}
        for notice in notices:
            # Without its row (not found, or the read failed) the notice still tells its readers to look.
            people = tuple(users[key] for key in (notice.sender_id, notice.recipient_id) if key in users)
            self.dispatch(replace(notice, row=messages.get(notice.message_id), users=people))

    async def _rows(self, notices: Sequence[Notice]) -> tuple[dict[int, Message], dict[int, User]]:
        """The noticed messages and their users: two queries for the whole batch."""
        message_ids = [notice.message_id for notice in notices]
        user_ids = {user_id for notice in notices for user_id in (notice.sender_id, notice.recipient_id)}
        async with self._db.read() as session:
            messages = await session.scalars(select(Message).where(col(Message.id).in_(message_ids)))
            users = await session.scalars(select(User).where(col(User.id).in_(user_ids)))
            return (
                {row.id: row for row in messages if row.id is not None},
                {row.id: row for row in users if row.id is not None},
            )


def create_fanout(redis_url: str, db: Database, *, prefix: str, queue_size: int, per_user: int) -> Fanout:
    if redis_url:
        return RedisFanout(
            redis_url, db, channel=f"{prefix}chat-notices", queue_size=queue_size, per_user=per_user
        )
    return Fanout(queue_size=queue_size, per_user=per_user)
