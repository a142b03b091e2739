"""Rows made fast, for tests and benchmarks: straight into the database, counters kept equal to the rows.

argon2 makes `register` deliberately slow, so users come with a placeholder hash and a token from the
same module the API uses. Videos carry object keys only (the routes turn keys into URLs; no media file is
needed until something fetches one).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from jose import jwt
from sqlalchemy import select

from core.clock import now_ms
from resolvers.auth import issue_token
from resolvers.sessions import token_version
from storage.counters import add_to_counters
from storage.db import insert_row
from storage.models import Comment, Favorite, Follow, Message, User, Video, table_of
from storage.services import Services

T0 = 1_700_000_000_000  # a fixed time, so lists order the same in every run


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    token: str

    @property
    def gid(self) -> str:
        return str(self.id)


UserRef = int | Account


def _id(user: UserRef) -> int:
    return user.id if isinstance(user, Account) else user


async def add_users(services: Services, count: int, prefix: str = "user") -> list[Account]:
    accounts = []
    async with services.db.write() as session:
        for index in range(count):
            name = f"{prefix}{index}"
            user_id = await insert_row(
                session,
                table_of(User),
                name=name,
                password_hash="not-a-real-hash",
                avatar_key="",
                background_key="",
                signature="",
                created_at=now_ms(),
            )
            accounts.append(Account(user_id, name, issue_token(services.settings, user_id)))
    for account in accounts:
        # As a sign-in does: the requests that follow find the token version cached.
        await token_version(services, account.id)
    return accounts


async def add_videos(
    services: Services,
    author: UserRef,
    count: int = 1,
    *,
    titles: Sequence[str] | None = None,
    start_ms: int = T0,
    step_ms: int = 1000,
) -> list[int]:
    """`count` videos (or one per title), created `step_ms` apart from `start_ms` on, so oldest first;
    the author's `work_count` grows by as many."""
    author_id = _id(author)
    names = list(titles) if titles is not None else [str(index) for index in range(count)]
    ids = []
    async with services.db.write() as session:
        for index, name in enumerate(names):
            ids.append(
                await insert_row(
                    session,
                    table_of(Video),
                    author_id=author_id,
                    title=f"video {name}" if titles is None else name,
                    play_key=f"videos/{author_id}/{name}.mp4",
                    cover_key=f"covers/{author_id}/{name}.jpg",
                    duration_ms=2000,
                    width=640,
                    height=360,
                    created_at=start_ms + index * step_ms,
                )
            )
        await add_to_counters(session, table_of(User), author_id, work_count=len(names))
    return ids


async def add_video(
    services: Services, author: UserRef, title: str = "clip", created_at: int | None = None
) -> int:
    """One video titled `title`, created at `created_at` (default: now)."""
    start = created_at if created_at is not None else now_ms()
    [video_id] = await add_videos(services, author, titles=[title], start_ms=start)
    return video_id


async def add_follows(services: Services, pairs: Iterable[tuple[UserRef, UserRef]]) -> None:
    """Follow rows only (no counters): for list and query-count tests."""
    async with services.db.write() as session:
        for index, (follower, followee) in enumerate(pairs):
            await insert_row(
                session,
                table_of(Follow),
                follower_id=_id(follower),
                followee_id=_id(followee),
                created_at=T0 + index,
            )


async def add_comments(
    services: Services, video_id: int, writers: Sequence[UserRef], count: int, start_ms: int = T0
) -> None:
    """`count` comments on one video by the writers in turn, one millisecond apart, with the count."""
    async with services.db.write() as session:
        for index in range(count):
            await insert_row(
                session,
                table_of(Comment),
                video_id=video_id,
                user_id=_id(writers[index % len(writers)]),
                content=f"comment {index}",
                created_at=start_ms + index,
            )
        await add_to_counters(session, table_of(Video), video_id, comment_count=count)


async def add_messages(
    services: Services,
    sender: UserRef,
    recipient: UserRef,
    count: int = 1,
    *,
    start_ms: int = T0,
    contents: Sequence[str] | None = None,
) -> None:
    """`count` messages (or one per content), one millisecond apart."""
    sender_id, recipient_id = _id(sender), _id(recipient)
    texts = list(contents) if contents is not None else [f"m{index}" for index in range(count)]
    async with services.db.write() as session:
        for index, content in enumerate(texts):
            await insert_row(
                session,
                table_of(Message),
                sender_id=sender_id,
                recipient_id=recipient_id,
                pair_low=min(sender_id, recipient_id),
                pair_high=max(sender_id, recipient_id),
                content=content,
                created_at=start_ms + index,
            )


async def add_likes(services: Services, user: UserRef, video_ids: Iterable[int]) -> None:
    """Likes by one user, with every counter they move (the video's, the user's, each author's)."""
    user_id = _id(user)
    videos = table_of(Video)
    async with services.db.write() as session:
        for index, video_id in enumerate(video_ids):
            await insert_row(
                session, table_of(Favorite), user_id=user_id, video_id=video_id, created_at=T0 + index
            )
            author_id = (
                await session.execute(select(videos.c.author_id).where(videos.c.id == video_id))
            ).scalar_one()
            await add_to_counters(session, videos, video_id, favorite_count=1)
            await add_to_counters(session, table_of(User), user_id, favorite_count=1)
            await add_to_counters(session, table_of(User), author_id, total_favorited=1)


def expired_token(services: Services, user: UserRef) -> str:
    past = int(time.time()) - 3600
    claims = {"sub": str(_id(user)), "iat": past - 60, "exp": past}
    return str(jwt.encode(claims, services.settings.jwt_secret, algorithm="HS256"))
