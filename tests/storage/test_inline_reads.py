"""SQLite's small reads on the event loop's own connection: never stale, never writing, never holding the
loop past their budget or behind a lock (handed to the async engine instead)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import bindparam, event, select, text, update
from sqlalchemy.exc import OperationalError

from storage.db import Database
from storage.inline_reads import INLINE_BUDGET_SECONDS, inline_url
from storage.models import User, table_of
from tests.storage.test_timeouts import SQLITE_SLOW_READ
from tests.support.sqlite_files import add_user_row, sqlite_database

users = table_of(User)
SIGNATURE = select(users.c.signature).where(users.c.id == bindparam("id"))


@asynccontextmanager
async def _database(tmp_path: Path, **overrides: object) -> AsyncIterator[tuple[Database, Path]]:
    async with sqlite_database(tmp_path, "inline.db", **overrides) as (db, path):
        await add_user_row(db, "reader", signature="first")
        yield db, path


def _inline_statements(db: Database) -> list[str]:
    seen: list[str] = []
    inline = db.sync_engines[-1]  # the inline reader's comes last
    event.listen(inline, "before_cursor_execute", lambda *args: seen.append(str(args[2])))
    return seen


def test_inline_reads_apply_to_sqlite_files_only() -> None:
    assert inline_url("sqlite+aiosqlite:////srv/douyin.db") == "sqlite:////srv/douyin.db"
    assert inline_url("sqlite+aiosqlite:///relative/douyin.db") == "sqlite:///relative/douyin.db"
    assert inline_url("sqlite+aiosqlite://") is None
    assert inline_url("sqlite+aiosqlite:///:memory:") is None
    assert inline_url("mysql+asyncmy://root@127.0.0.1:3306/douyin") is None


async def test_every_commit_is_seen_by_the_next_inline_read(tmp_path: Path) -> None:
    async with _database(tmp_path) as (db, path):
        seen = _inline_statements(db)
        other_process = sqlite3.connect(path, isolation_level=None)  # as another worker writes
        try:
            for round_ in range(50):
                async with db.write() as session:  # this process's own writes
                    await session.execute(update(users).values(signature=f"own {round_}"))
                assert (await db.rows(SIGNATURE, {"id": 1}))[0].signature == f"own {round_}"
                other_process.execute("UPDATE users SET signature = ?", (f"other {round_}",))
                assert (await db.rows(SIGNATURE, {"id": 1}))[0].signature == f"other {round_}"
        finally:
            other_process.close()
    assert len(seen) == 100  # all of them answered inline


async def test_the_inline_connection_cannot_write(tmp_path: Path) -> None:
    async with _database(tmp_path) as (db, _path):
        with pytest.raises(OperationalError, match="readonly"):
            await db.rows(text("UPDATE users SET signature = 'inline' RETURNING id"))
        assert (await db.rows(SIGNATURE, {"id": 1}))[0].signature == "first"


async def test_a_long_read_is_cut_off_inline_and_answered_by_the_async_engine(tmp_path: Path) -> None:
    async with _database(tmp_path, db_statement_timeout_seconds=0) as (db, _path):
        inline = _inline_statements(db)
        pooled: list[str] = []
        event.listen(
            db.engine.sync_engine, "before_cursor_execute", lambda *args: pooled.append(str(args[2]))
        )
        slowest_tick = 0.0

        async def ticking() -> None:
            nonlocal slowest_tick
            while True:
                began = time.monotonic()
                await asyncio.sleep(0.005)
                slowest_tick = max(slowest_tick, time.monotonic() - began)

        ticker = asyncio.create_task(ticking())
        try:
            rows = await db.rows(text(SQLITE_SLOW_READ.replace("30000000", "3000000")))
        finally:
            ticker.cancel()
    assert rows[0][0] == 3_000_000
    assert inline == pooled == [SQLITE_SLOW_READ.replace("30000000", "3000000")]
    # The loop was held for the inline budget at most, not for the whole count.
    assert slowest_tick < INLINE_BUDGET_SECONDS + 0.1, slowest_tick


async def test_a_read_that_would_wait_for_a_lock_is_handed_to_the_async_engine(tmp_path: Path) -> None:
    async with _database(tmp_path) as (db, path):
        await db.dispose()  # an exclusive lock needs every other connection closed
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE users SET signature = 'locked'")
        try:
            started = time.monotonic()
            reading = asyncio.create_task(db.rows(SIGNATURE, {"id": 1}))
            await asyncio.sleep(0.2)
            assert not reading.done()  # waiting in the driver's thread, the loop free meanwhile
            assert time.monotonic() - started < 0.5
            holder.execute("COMMIT")
            holder.execute("PRAGMA locking_mode=NORMAL")
            holder.execute("SELECT 1")  # the exclusive lock goes with the next access
        finally:
            holder.close()
        assert (await reading)[0].signature == "locked"


async def test_inline_reads_can_be_turned_off(tmp_path: Path) -> None:
    async with _database(tmp_path, db_inline_reads=False) as (db, _path):
        pooled: list[str] = []
        event.listen(
            db.engine.sync_engine, "before_cursor_execute", lambda *args: pooled.append(str(args[2]))
        )
        assert (await db.rows(SIGNATURE, {"id": 1}))[0].signature == "first"
    assert len(pooled) == 1


async def test_orm_reads_run_inline_and_give_loaded_objects(tmp_path: Path) -> None:
    async with _database(tmp_path) as (db, _path):
        seen = _inline_statements(db)
        [user] = await db.scalars(select(User).where(users.c.id == 1))
    assert isinstance(user, User)
    assert (user.name, user.signature) == ("reader", "first")  # loaded: usable once the session is gone
    assert len(seen) == 1
