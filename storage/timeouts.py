"""A time limit on every read statement, enforced by the database, and how overload errors are told apart.

MariaDB: each SELECT is sent as `SET STATEMENT max_statement_time=N FOR SELECT ...` (the server aborts it
with error 1969 once it has run N seconds); MySQL: the `MAX_EXECUTION_TIME` optimizer hint (error 3024).
Only reads get it: writes, locking reads (`FOR UPDATE`) and migrations run to completion or to their own
lock-wait timeout, so a write is never cut off half way by this limit. The prefix rides on the statement
itself: no extra round trip.

SQLite: a progress handler on each connection (called every few thousand virtual-machine steps, in the
driver's thread) interrupts a read once it has run past its deadline ("interrupted").
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

# MariaDB ER_STATEMENT_TIMEOUT, MySQL ER_QUERY_TIMEOUT.
_STATEMENT_TIMEOUT_ERRORS = frozenset({1969, 3024})
_SQLITE_PROGRESS_STEPS = 10_000
_DEADLINE = "douyin_statement_deadline"


def _is_plain_read(statement: str) -> bool:
    head = statement.lstrip()[:6].upper()
    if head != "SELECT":
        return False
    upper = statement.upper()
    return "FOR UPDATE" not in upper and "LOCK IN SHARE MODE" not in upper and "FOR SHARE" not in upper


def limit_statement_time(engine: AsyncEngine, seconds: float) -> None:
    """Reads on `engine` are aborted after `seconds` (0: no limit)."""
    if seconds <= 0:
        return
    dialect = engine.dialect
    if dialect.name == "sqlite":
        _limit_sqlite(engine, seconds)
    elif dialect.name == "mysql":
        _limit_mysql(engine, seconds)


def _limit_mysql(engine: AsyncEngine, seconds: float) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _prefix(
        connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> tuple[str, Any]:
        if not _is_plain_read(statement):
            return statement, parameters
        if connection.dialect.is_mariadb:
            return f"SET STATEMENT max_statement_time={seconds:g} FOR {statement}", parameters
        start = statement.upper().index("SELECT") + len("SELECT")
        hint = f" /*+ MAX_EXECUTION_TIME({int(seconds * 1000)}) */"
        return statement[:start] + hint + statement[start:], parameters


def _limit_sqlite(engine: AsyncEngine, seconds: float) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        deadline = record.info.setdefault(_DEADLINE, [0.0])

        def past_deadline() -> int:  # runs in the driver's thread; non-zero interrupts the statement
            return 1 if deadline[0] and time.monotonic() > deadline[0] else 0

        dbapi_connection.run_async(
            lambda driver: driver.set_progress_handler(past_deadline, _SQLITE_PROGRESS_STEPS)
        )

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _start(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        deadline = connection.connection.info.get(_DEADLINE)
        if deadline is not None:
            deadline[0] = time.monotonic() + seconds if _is_plain_read(statement) else 0.0

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _end(connection: Any, *_args: Any) -> None:
        deadline = connection.connection.info.get(_DEADLINE)
        if deadline is not None:
            deadline[0] = 0.0


def is_statement_timeout(error: BaseException) -> bool:
    """The database aborted a statement that ran past its time limit."""
    if not isinstance(error, OperationalError) or error.orig is None:
        return False
    args = error.orig.args
    if args and args[0] in _STATEMENT_TIMEOUT_ERRORS:
        return True
    return "interrupted" in str(error.orig)


def is_pool_exhausted(error: BaseException) -> bool:
    """No database connection became free within the pool's wait."""
    return isinstance(error, PoolTimeoutError)
