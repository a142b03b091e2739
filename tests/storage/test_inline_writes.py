"""SQLite write transactions run inline: they hold the write lock without yielding to the loop, wait for
another holder without blocking it, and lose no update when several processes write at once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import OperationalError

from storage import db as db_module
from storage.db import Database
from storage.models import User, table_of
from tests.support.sqlite_files import add_user_row, sqlite_database

users = table_of(User)


@asynccontextmanager
async def _database(tmp_path: Path, **overrides: object) -> AsyncIterator[Database]:
    async with sqlite_database(tmp_path, "writes.db", **overrides) as (db, _path):
        yield db


async def _add_user(db: Database) -> None:
    await add_user_row(db, "writer")


class Ticks:
    """Counts the loop's turns while it runs."""

    def __init__(self) -> None:
        self.count = 0
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            self.count += 1
            await asyncio.sleep(0)

    def stop(self) -> None:
        self._task.cancel()


async def test_a_write_transaction_holds_the_lock_without_yielding_to_the_loop(tmp_path: Path) -> None:
    async with _database(tmp_path) as db:
        await _add_user(db)
        ticks = Ticks()
        await asyncio.sleep(0)
        async with db.write() as session:
            during = ticks.count
            for count in range(1, 9):
                await session.execute(update(users).values(follow_count=count))
            assert ticks.count == during  # eight statements, and no other task ran in between
        ticks.stop()
        assert (await db.rows(select(users.c.follow_count)))[0].follow_count == 8


async def test_a_held_lock_is_waited_for_without_blocking_the_loop(tmp_path: Path) -> None:
    async with _database(tmp_path) as db:
        await _add_user(db)
        other_process = sqlite3.connect(tmp_path / "writes.db", isolation_level=None)
        other_process.execute("BEGIN IMMEDIATE")
        other_process.execute("UPDATE users SET signature = 'other'")
        ticks = Ticks()

        async def write() -> None:
            async with db.write() as session:
                await session.execute(text("UPDATE users SET follow_count = follow_count + 1"))

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not writing.done()
        assert ticks.count > 20  # the loop kept turning while the write waited
        other_process.execute("COMMIT")
        other_process.close()
        await asyncio.wait_for(writing, 5)
        ticks.stop()
        row = (await db.rows(select(users.c.signature, users.c.follow_count)))[0]
        assert (row.signature, row.follow_count) == ("other", 1)


async def test_a_lock_never_released_fails_the_write_after_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 300)
    async with _database(tmp_path) as db:
        await _add_user(db)
        holder = sqlite3.connect(tmp_path / "writes.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(OperationalError, match="database is locked"):
                async with db.write() as session:
                    await session.execute(text("UPDATE users SET follow_count = 5"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert (await db.rows(select(users.c.follow_count)))[0].follow_count == 0


async def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    async with _database(tmp_path) as db:
        await _add_user(db)
        with pytest.raises(RuntimeError):
            async with db.write() as session:
                await session.execute(text("UPDATE users SET follow_count = 7"))
                raise RuntimeError("the request failed half way")
        assert (await db.rows(select(users.c.follow_count)))[0].follow_count == 0
        async with db.write() as session:  # and the lock was let go
            await session.execute(text("UPDATE users SET follow_count = 2"))
        assert (await db.rows(select(users.c.follow_count)))[0].follow_count == 2


async def test_two_processes_writing_at_once_lose_no_update(tmp_path: Path) -> None:
    async with _database(tmp_path) as first, _database(tmp_path) as second:
        await _add_user(first)

        async def add_one(db: Database) -> None:
            async with db.write() as session:
                count = (await session.execute(select(users.c.follow_count))).scalar_one()
                await asyncio.sleep(0)  # another writer gets its turn on the loop, not the lock
                await session.execute(update(users).values(follow_count=count + 1))

        await asyncio.gather(*(add_one(db) for _ in range(40) for db in (first, second)))
        assert (await first.rows(select(users.c.follow_count)))[0].follow_count == 80


async def test_inline_writes_can_be_turned_off(tmp_path: Path) -> None:
    async with _database(tmp_path, db_inline_writes=False) as db:
        seen: list[str] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute", lambda *args: seen.append(str(args[2])))
        await _add_user(db)
    assert seen[0] == "BEGIN IMMEDIATE"
    assert seen[1].startswith("INSERT INTO users")
