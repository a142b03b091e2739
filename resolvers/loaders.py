"""Per-request DataLoaders, one per access path. Each batch is one `IN (...)` query in its own short
session (fields resolve concurrently, and an AsyncSession must never be shared between them), and
its results are re-ordered to the keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlmodel import col
from strawberry.dataloader import DataLoader

from storage.db import Database
from storage.models import Favorite, Follow, Message, User, Video


class UserByIdLoader(DataLoader[int, User | None]):
    def __init__(self, db: Database) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, ids: Sequence[int]) -> list[User | None]:
        async with self._db.read() as session:
            rows = (await session.execute(select(User).where(col(User.id).in_(ids)))).scalars().all()
        by_id = {row.id: row for row in rows}
        return [by_id.get(user_id) for user_id in ids]


class VideoByIdLoader(DataLoader[int, Video | None]):
    def __init__(self, db: Database) -> None:
        super().__init__(load_fn=self._load)
        self._db = db

    async def _load(self, ids: Sequence[int]) -> list[Video | None]:
        async with self._db.read() as session:
            rows = (await session.execute(select(Video).where(col(Video.id).in_(ids)))).scalars().all()
        by_id = {row.id: row for row in rows}
        return [by_id.get(video_id) for video_id in ids]


class LikedByViewerLoader(DataLoader[int, bool]):
    """video id -> whether the viewer likes it (always false when anonymous, without a query)."""

    def __init__(self, db: Database, viewer_id: int | None) -> None:
        super().__init__(load_fn=self._load)
        self._db = db
        self._viewer_id = viewer_id

    async def _load(self, video_ids: Sequence[int]) -> list[bool]:
        if self._viewer_id is None:
            return [False] * len(video_ids)
        async with self._db.read() as session:
            liked = set(
                (
                    await session.execute(
                        select(col(Favorite.video_id)).where(
                            col(Favorite.user_id) == self._viewer_id, col(Favorite.video_id).in_(video_ids)
                        )
                    )
                ).scalars()
            )
        return [video_id in liked for video_id in video_ids]


class FollowedByViewerLoader(DataLoader[int, bool]):
    """user id -> whether the viewer follows that user (false when anonymous or for the viewer)."""

    def __init__(self, db: Database, viewer_id: int | None) -> None:
        super().__init__(load_fn=self._load)
        self._db = db
        self._viewer_id = viewer_id

    async def _load(self, user_ids: Sequence[int]) -> list[bool]:
        if self._viewer_id is None:
            return [False] * len(user_ids)
        async with self._db.read() as session:
            followed = set(
                (
                    await session.execute(
                        select(col(Follow.followee_id)).where(
                            col(Follow.follower_id) == self._viewer_id, col(Follow.followee_id).in_(user_ids)
                        )
                    )
                ).scalars()
            )
        return [user_id in followed for user_id in user_ids]


class LastMessageByFriendLoader(DataLoader[int, Message | None]):
    """user id -> the latest message between the viewer and that user (None when anonymous)."""

    def __init__(self, db: Database, viewer_id: int | None) -> None:
        super().__init__(load_fn=self._load)
        self._db = db
        self._viewer_id = viewer_id

    async def _load(self, user_ids: Sequence[int]) -> list[Message | None]:
        viewer = self._viewer_id
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
        async with self._db.read() as session:
            rows = (await session.execute(statement)).scalars().all()
        by_pair = {(row.pair_low, row.pair_high): row for row in rows}
        return [by_pair.get(pair) for pair in pairs]


@dataclass(slots=True)
class Loaders:
    user_by_id: UserByIdLoader
    video_by_id: VideoByIdLoader
    liked_by_viewer: LikedByViewerLoader
    followed_by_viewer: FollowedByViewerLoader
    last_message_by_friend: LastMessageByFriendLoader

    @classmethod
    def for_request(cls, db: Database, viewer_id: int | None) -> Loaders:
        return cls(
            user_by_id=UserByIdLoader(db),
            video_by_id=VideoByIdLoader(db),
            liked_by_viewer=LikedByViewerLoader(db, viewer_id),
            followed_by_viewer=FollowedByViewerLoader(db, viewer_id),
            last_message_by_friend=LastMessageByFriendLoader(db, viewer_id),
        )
