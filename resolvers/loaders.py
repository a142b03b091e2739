"""Per-request DataLoaders, one per access path, named `<Thing>By<Key>Loader`.

Each batch is one query in its own short session (fields resolve concurrently, and an AsyncSession must
never be shared between them), and its results are re-ordered to the keys. The loaders share one small
base per access shape: rows by primary key, and facts about the viewer and each key (set membership,
the latest message), answered without a query when anonymous.

A batch is dispatched on a later turn of the event loop, and its answer reaches the caller a turn or two
after that. Under load a turn is every other request's next step, so a request that awaits a batch waits
several of them: on a saturated worker that was most of the slowest 1% of comment lists. `load_many_now`
answers a list's one lookup of its kind before it returns when the reads can run inline (SQLite).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from functools import cached_property
from typing import Any, ClassVar, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select
from sqlmodel import col
from strawberry.dataloader import DataLoader

from core import telemetry
from resolvers.child_pages import ChildPages
from storage.db import Database
from storage.models import Favorite, Follow, Message, User, Video, table_of

V = TypeVar("V")
RowT = TypeVar("RowT")


class RequestLoader(DataLoader[int, V]):
    """A loader living for one request, which knows the database and the viewer (None: anonymous)."""

    def __init__(self, db: Database, viewer_id: int | None) -> None:
        super().__init__(load_fn=self._load)
        self.db = db
        self.viewer_id = viewer_id

    async def _load(self, keys: list[int]) -> list[V]:
        """One batch; in a `loader <Name>` span (name, key count) when tracing is on."""
        if not telemetry.STATE.enabled:
            return await self.fetch(keys)
        name = type(self).__name__
        attributes: dict[str, str | int] = {"loader.name": name, "loader.keys": len(keys)}
        with telemetry.STATE.tracer.start_as_current_span(f"loader {name}", attributes=attributes):
            return await self.fetch(keys)

    async def fetch(self, keys: list[int]) -> list[V]:
        raise NotImplementedError

    def fetch_now(self, keys: list[int]) -> list[V] | None:
        """`fetch` on the calling thread, or None when it cannot be answered without waiting."""
        return None

    def answers_now(self) -> bool:
        """Whether `fetch_now` can answer here at all (it may still hand a read back)."""
        return False

    def load_many_now(self, keys: Sequence[int]) -> Awaitable[list[V]]:
        """`load_many`, already answered when it returns if it can be: the keys not loaded yet are read
        at once (`fetch_now`) instead of in a batch on a later turn. Only for a lookup no sibling shares
        (a root field's list): items of a nested list each ask, and rely on sharing one batch."""
        missing = [key for key in dict.fromkeys(keys) if self.cache_map.get(key) is None]
        if missing:
            values = self._fetch_now(missing) if self.answers_now() else None
            if values is None:
                return self.load_many(keys)
            self.prime_many(dict(zip(missing, values, strict=True)))
        answers: list[V] = []
        for key in keys:
            future = self.cache_map.get(key)
            if future is None or not future.done() or future.cancelled() or future.exception() is not None:
                return self.load_many(keys)  # pending in a batch, or failed: the usual way
            answers.append(future.result())
        answered: asyncio.Future[list[V]] = self.loop.create_future()
        answered.set_result(answers)
        return answered

    def _fetch_now(self, keys: list[int]) -> list[V] | None:
        if not telemetry.STATE.enabled:
            return self.fetch_now(keys)
        name = type(self).__name__
        attributes: dict[str, str | int] = {"loader.name": name, "loader.keys": len(keys)}
        with telemetry.STATE.tracer.start_as_current_span(f"loader {name}", attributes=attributes) as span:
            values = self.fetch_now(keys)
            if values is None:
                span.set_attribute("loader.handed_back", True)
            return values


# Each loader's statement is built once, its keys bound per batch: building a statement cost more than
# running it (on a single user's profile, about a third of the request).
KEYS = "keys"
VIEWER = "viewer"


class RowByIdLoader(RequestLoader[RowT | None]):
    """id -> the `model` row with that primary key, or None: one `IN (...)` per batch."""

    model: ClassVar[type[Any]]
    statement: ClassVar[Select[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" not in cls.__dict__:  # a further base, not a loader
            return
        cls.statement = select(cls.model).where(col(cls.model.id).in_(bindparam(KEYS, expanding=True)))

    async def fetch(self, ids: list[int]) -> list[RowT | None]:
        return self._by_id(ids, await self.db.scalars(self.statement, {KEYS: ids}))

    def answers_now(self) -> bool:
        return self.db.reads_inline

    def fetch_now(self, ids: list[int]) -> list[RowT | None] | None:
        rows = self.db.scalars_now(self.statement, {KEYS: ids})
        return None if rows is None else self._by_id(ids, rows)

    @staticmethod
    def _by_id(ids: list[int], rows: Sequence[Any]) -> list[RowT | None]:
        by_id = {row.id: row for row in rows}
        return [by_id.get(row_id) for row_id in ids]


class ViewerSetLoader(RequestLoader[bool]):
    """key -> whether a row (`viewer_column` = the viewer, `key_column` = key) exists; always false
    when anonymous, without a query."""

    viewer_column: ClassVar[ColumnElement[int]]
    key_column: ClassVar[ColumnElement[int]]
    statement: ClassVar[Select[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "key_column" not in cls.__dict__:  # a further base, not a loader
            return
        cls.statement = select(cls.key_column).where(
            cls.viewer_column == bindparam(VIEWER), cls.key_column.in_(bindparam(KEYS, expanding=True))
        )

    async def fetch(self, keys: list[int]) -> list[bool]:
        if self.viewer_id is None:
            return [False] * len(keys)
        return self._members(keys, await self.db.rows(self.statement, {VIEWER: self.viewer_id, KEYS: keys}))

    def answers_now(self) -> bool:
        return self.viewer_id is None or self.db.reads_inline

    def fetch_now(self, keys: list[int]) -> list[bool] | None:
        if self.viewer_id is None:
            return [False] * len(keys)
        rows = self.db.rows_now(self.statement, {VIEWER: self.viewer_id, KEYS: keys})
        return None if rows is None else self._members(keys, rows)

    @staticmethod
    def _members(keys: list[int], rows: Sequence[Any]) -> list[bool]:
        found = {row[0] for row in rows}
        return [key in found for key in keys]


class UserByIdLoader(RowByIdLoader[User]):
    model = User


class VideoByIdLoader(RowByIdLoader[Video]):
    model = Video


class LikedByViewerLoader(ViewerSetLoader):
    """video id -> whether the viewer likes it."""

    viewer_column = table_of(Favorite).c.user_id
    key_column = table_of(Favorite).c.video_id


class FollowedByViewerLoader(ViewerSetLoader):
    """user id -> whether the viewer follows that user (false for the viewer)."""

    viewer_column = table_of(Follow).c.follower_id
    key_column = table_of(Follow).c.followee_id


class LastMessageByFriendLoader(RequestLoader[Message | None]):
    """user id -> the latest message between the viewer and that user (None when anonymous)."""

    async def fetch(self, user_ids: list[int]) -> list[Message | None]:
        viewer = self.viewer_id
        if viewer is None:
            return [None] * len(user_ids)
        # created_at is unique per conversation, so (pair, MAX(created_at)) names exactly one message.
        pairs = [(min(viewer, other), max(viewer, other)) for other in user_ids]
        in_pairs = or_(
            *(and_(col(Message.pair_low) == low, col(Message.pair_high) == high) for low, high in set(pairs))
        )
        latest = (
            select(
                col(Message.pair_low).label("low"),
                col(Message.pair_high).label("high"),
                func.max(col(Message.created_at)).label("latest"),
            )
            .where(in_pairs)
            .group_by(col(Message.pair_low), col(Message.pair_high))
            .subquery()
        )
        statement = select(Message).join(
            latest,
            and_(
                col(Message.pair_low) == latest.c.low,
                col(Message.pair_high) == latest.c.high,
                col(Message.created_at) == latest.c.latest,
            ),
        )
        async with self.db.read() as session:
            rows = (await session.execute(statement)).scalars().all()
        by_pair = {(row.pair_low, row.pair_high): row for row in rows}
        return [by_pair.get(pair) for pair in pairs]


class Loaders:
    """The request's loaders, each made on first use: most operations touch one or two of them, and a
    loader is a handful of objects (its cache, its batch) that nothing else would use."""

    def __init__(self, db: Database, viewer_id: int | None) -> None:
        self._db = db
        self._viewer_id = viewer_id

    @classmethod
    def for_request(cls, db: Database, viewer_id: int | None) -> Loaders:
        return cls(db, viewer_id)

    @cached_property
    def user_by_id(self) -> UserByIdLoader:
        return UserByIdLoader(self._db, self._viewer_id)

    @cached_property
    def video_by_id(self) -> VideoByIdLoader:
        return VideoByIdLoader(self._db, self._viewer_id)

    @cached_property
    def liked_by_viewer(self) -> LikedByViewerLoader:
        return LikedByViewerLoader(self._db, self._viewer_id)

    @cached_property
    def followed_by_viewer(self) -> FollowedByViewerLoader:
        return FollowedByViewerLoader(self._db, self._viewer_id)

    @cached_property
    def last_message_by_friend(self) -> LastMessageByFriendLoader:
        return LastMessageByFriendLoader(self._db, self._viewer_id)

    @cached_property
    def pages(self) -> ChildPages:
        """Pages of connection fields, batched across parents (resolvers/nested.py)."""
        return ChildPages(self._db)
