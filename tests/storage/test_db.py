"""The database layer: constraints do the idempotency, transactions are all-or-nothing, text round-trips."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.counters import add_to_counters
from storage.db import Database, create_engine, insert_ignore
from storage.models import Favorite, Follow, Message, User, Video, table_of
from storage.services import Services
from tests.conftest import Backend, make_settings


async def _users(services: Services, *names: str) -> list[int]:
    async with services.db.write() as session:
        users = [User(name=name, password_hash="x") for name in names]
        session.add_all(users)
        await session.flush()
        return [user.id for user in users if user.id is not None]


async def _video(services: Services, author_id: int) -> int:
    async with services.db.write() as session:
        video = Video(author_id=author_id, title="t", play_key="v.mp4", cover_key="c.jpg")
        session.add(video)
        await session.flush()
        assert video.id is not None
        return video.id


async def _count(services: Services, model: type) -> int:
    async with services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_second_like_is_a_no_op_at_the_database_level(services: Services) -> None:
    (user_id,) = await _users(services, "liker")
    video_id = await _video(services, user_id)
    row = {"user_id": user_id, "video_id": video_id, "created_at": 1}
    async with services.db.write() as session:
        assert await insert_ignore(session, table_of(Favorite), row) is True
    async with services.db.write() as session:
        assert await insert_ignore(session, table_of(Favorite), row) is False
    with pytest.raises(IntegrityError):
        async with services.db.write() as session:
            session.add(Favorite(**row))
    assert await _count(services, Favorite) == 1


async def test_second_follow_is_a_no_op_and_self_follow_is_refused(services: Services) -> None:
    a, b = await _users(services, "a", "b")
    row = {"follower_id": a, "followee_id": b, "created_at": 1}
    async with services.db.write() as session:
        assert await insert_ignore(session, table_of(Follow), row) is True
        assert await insert_ignore(session, table_of(Follow), row) is False
    # SQLite reports a CHECK failure as an integrity error, MariaDB as an operational one (4025).
    with pytest.raises((IntegrityError, OperationalError)):
        async with services.db.write() as session:
            session.add(Follow(follower_id=a, followee_id=a))
    assert await _count(services, Follow) == 1


async def test_failing_statement_leaves_no_partial_rows(services: Services) -> None:
    (author,) = await _users(services, "author")
    with pytest.raises(IntegrityError):
        async with services.db.write() as session:
            session.add(Video(author_id=author, title="first", play_key="a", cover_key="b"))
            await add_to_counters(session, table_of(User), author, work_count=1)
            await session.flush()
            session.add(User(name="author", password_hash="dup"))  # violates uq_users_name
            await session.flush()
    assert await _count(services, Video) == 0
    async with services.db.read() as session:
        assert await session.scalar(select(col(User.work_count)).where(col(User.id) == author)) == 0


async def test_foreign_keys_are_enforced(services: Services) -> None:
    with pytest.raises(IntegrityError):
        async with services.db.write() as session:
            session.add(Video(author_id=999_999, title="orphan", play_key="a", cover_key="b"))


async def test_emoji_and_chinese_round_trip(services: Services) -> None:
    name = "抖音🐻‍❄️"
    text = "测试评论 👍🏽 emoji ñ"
    a, b = await _users(services, name, "other")
    async with services.db.write() as session:
        session.add(Message(sender_id=a, recipient_id=b, pair_low=a, pair_high=b, content=text))
    async with services.db.read() as session:
        assert await session.scalar(select(col(User.name)).where(col(User.id) == a)) == name
        assert await session.scalar(select(col(Message.content))) == text


async def test_names_are_compared_exactly(services: Services) -> None:
    # Different emoji and letter cases are different names (no collation folding on MariaDB).
    await _users(services, "😀", "😃", "Alice", "alice")
    assert await _count(services, User) == 4


async def test_concurrent_write_transactions_keep_counts_exact(services: Services) -> None:
    """Many writers at once: no "database is locked", no lost update, duplicates counted once."""
    (author,) = await _users(services, "author")
    video_id = await _video(services, author)
    likers = await _users(services, *(f"fan{i}" for i in range(15)))

    async def like(user_id: int) -> None:
        async def work(session: AsyncSession) -> None:
            row = {"user_id": user_id, "video_id": video_id, "created_at": 1}
            if await insert_ignore(session, table_of(Favorite), row):
                await add_to_counters(session, table_of(Video), video_id, favorite_count=1)

        await services.db.run_write(work)

    # Every fan likes twice, all at the same time.
    await asyncio.gather(*(like(user_id) for user_id in likers * 2))
    async with services.db.read() as session:
        count = await session.scalar(select(col(Video.favorite_count)).where(col(Video.id) == video_id))
    assert count == len(likers)
    assert await _count(services, Favorite) == len(likers)


@pytest.mark.services
async def test_pool_recovers_after_the_server_drops_a_connection(mariadb_backend: Backend) -> None:
    """A pooled connection the server closed (restart, wait_timeout) is replaced, not handed out."""
    settings = make_settings(Path("/tmp"), database_url=mariadb_backend.database_url)
    db = Database.from_settings(settings)
    killer = create_engine(mariadb_backend.database_url, settings)
    try:
        async with db.read() as session:
            pooled_id = (await session.execute(text("SELECT CONNECTION_ID()"))).scalar_one()
        async with killer.connect() as connection:
            await connection.execute(text(f"KILL {int(pooled_id)}"))
        for _ in range(3):
            async with db.read() as session:
                assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await killer.dispose()
        await db.dispose()


async def test_statement_parameters_never_reach_logs_or_error_messages(services: Services) -> None:
    # They hold password hashes and message content; DB_ECHO and logged tracebacks show statements only.
    assert services.db.engine.sync_engine.hide_parameters
