"""Small SQLite reads run on the calling thread, the event loop's, instead of in the driver's thread.

Through the async engine a Core read on SQLite is handed to aiosqlite's thread several times over
(cursor, execute, fetch, close, the rollback when the connection goes back to the pool), and each hand-
over costs more than the read: about 400 µs of CPU for a feed page's one indexed statement that SQLite
answers in about 35 µs. Run synchronously on a connection of its own, the same statement through the same
SQLAlchemy Core costs about 50 µs, and the loop is held no longer than that.

What keeps that safe:
- The connection only reads (`PRAGMA query_only`) and runs in autocommit, so each statement reads the
  latest committed snapshot (WAL mode): nothing is kept open that could pin an older one.
- A statement gets `INLINE_BUDGET_SECONDS` to finish, through a progress handler; past it, or when
  SQLite answers busy (it never waits here: the loop must not sleep), the caller is told to run it
  through the async engine instead, with the usual statement time limit.
- The loop is single-threaded, so one connection serves every inline read of the process.

Only for SQLite files: an in-memory database is private to its connection, and MariaDB/MySQL reads are
network round trips that the async driver already overlaps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine, Executable, Row, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

T = TypeVar("T")

INLINE_BUDGET_SECONDS = 0.02
_PROGRESS_STEPS = 1000
# The SQLite messages that mean "not answered here, ask the async engine": the budget ran out, or a lock
# would have had to be waited for.
_HANDED_BACK = ("interrupted", "database is locked", "database table is locked")


def inline_url(url: str) -> str | None:
    """The synchronous driver's URL for the SQLite file `url` names; None when inline reads do not apply."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.set(drivername="sqlite").render_as_string(hide_password=False)


class InlineReader:
    """One read-only autocommit connection to the SQLite file, used on the event loop's thread."""

    def __init__(self, url: str, *, echo: bool = False, hide_parameters: bool = True) -> None:
        self.engine: Engine = create_engine(
            url,
            echo=echo,
            hide_parameters=hide_parameters,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": 0},
        )
        self._deadline = 0.0
        event.listen(self.engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        # The driver's implicit transactions are off: a SELECT never leaves a transaction open.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()
        dbapi_connection.set_progress_handler(self._past_deadline, _PROGRESS_STEPS)

    def _past_deadline(self) -> int:
        return 1 if self._deadline and time.monotonic() > self._deadline else 0

    def rows(self, statement: Executable, parameters: Mapping[str, Any] | None) -> Sequence[Row[Any]] | None:
        """The statement's rows, or None when it was not answered within the budget or without waiting
        for a lock (run it through the async engine then)."""
        return self._within_budget(lambda: self._rows(statement, parameters))

    def scalars(self, statement: Executable, parameters: Mapping[str, Any] | None) -> Sequence[Any] | None:
        """An ORM read's objects (each row's first entity), loaded and detached; None as for `rows`."""
        return self._within_budget(lambda: self._scalars(statement, parameters))

    def _rows(self, statement: Executable, parameters: Mapping[str, Any] | None) -> Sequence[Row[Any]]:
        with self.engine.connect() as connection:
            return connection.execute(statement, dict(parameters or {})).all()

    def _scalars(self, statement: Executable, parameters: Mapping[str, Any] | None) -> Sequence[Any]:
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session:
            return session.execute(statement, dict(parameters or {})).scalars().all()

    def _within_budget(self, read: Callable[[], T]) -> T | None:
        self._deadline = time.monotonic() + INLINE_BUDGET_SECONDS
        try:
            return read()
        except OperationalError as error:
            if error.orig is not None and any(text in str(error.orig) for text in _HANDED_BACK):
                return None
            raise
        finally:
            self._deadline = 0.0

    def dispose(self) -> None:
        self.engine.dispose()
