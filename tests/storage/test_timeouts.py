"""A short wait for a pooled connection, and reads stopped by the database once past their time limit."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from storage.db import Database
from storage.timeouts import is_pool_exhausted, is_statement_timeout
from tests.conftest import Backend, make_settings

# Counts to 30 million in SQLite's virtual machine: several seconds unless interrupted.
SQLITE_SLOW_READ = (
    "SELECT count(*) FROM (WITH RECURSIVE c(x) AS"
    " (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT x FROM c)"
)


@asynccontextmanager
async def _database(backend: Backend, tmp_path: Path, **overrides: object) -> AsyncIterator[Database]:
    settings = make_settings(tmp_path, database_url=backend.database_url, **overrides)
    db = Database.from_settings(settings)
    try:
        yield db
    finally:
        await db.dispose()


async def test_an_exhausted_pool_fails_after_the_configured_wait(backend: Backend, tmp_path: Path) -> None:
    async with (
        _database(backend, tmp_path, db_pool_size=2, db_max_overflow=1, db_pool_timeout_seconds=0.3) as db,
        AsyncExitStack() as held,
    ):
        # Take every connection the pool will give (its size is the default's on SQLite).
        while True:
            try:
                await held.enter_async_context(db.engine.connect())
            except PoolTimeoutError:
                break
        started = time.monotonic()
        with pytest.raises(PoolTimeoutError) as raised:
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
        waited = time.monotonic() - started
    assert is_pool_exhausted(raised.value)
    assert 0.25 <= waited < 3, waited  # the configured wait, not SQLAlchemy's 30 s


async def test_a_slow_read_is_stopped_by_the_database(backend: Backend, tmp_path: Path) -> None:
    slow = "SELECT SLEEP(5)" if backend.name == "mariadb" else SQLITE_SLOW_READ
    async with _database(backend, tmp_path, db_statement_timeout_seconds=0.3) as db:
        started = time.monotonic()
        with pytest.raises(OperationalError) as raised:
            async with db.read() as session:
                await session.execute(text(slow))
        stopped_after = time.monotonic() - started
        # the connection is still good for the next read
        async with db.read() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
    assert is_statement_timeout(raised.value)
    assert stopped_after < 2.5, stopped_after


async def test_writes_and_locking_reads_are_not_limited(backend: Backend, tmp_path: Path) -> None:
    statements: list[str] = []
    async with _database(backend, tmp_path, db_statement_timeout_seconds=0.3) as db:

        def _seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        event.listen(db.engine.sync_engine, "after_cursor_execute", _seen)
        async with db.write() as session:
            locking = "SELECT 1 FROM users FOR UPDATE" if backend.name == "mariadb" else "SELECT 1"
            await session.execute(text(locking))
            await session.execute(text("UPDATE users SET signature = signature WHERE id = -1"))
        async with db.read() as session:
            await session.execute(text("SELECT 2"))
    limited = [statement for statement in statements if "max_statement_time" in statement]
    if backend.name == "mariadb":
        assert limited == ["SET STATEMENT max_statement_time=0.3 FOR SELECT 2"], statements
    else:
        assert limited == []  # SQLite limits through a progress handler, not the text


async def test_zero_turns_the_statement_limit_off(backend: Backend, tmp_path: Path) -> None:
    statements: list[str] = []
    async with _database(backend, tmp_path, db_statement_timeout_seconds=0) as db:

        def _seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        event.listen(db.engine.sync_engine, "after_cursor_execute", _seen)
        async with db.read() as session:
            await session.execute(text("SELECT 1"))
    assert statements == ["SELECT 1"]
