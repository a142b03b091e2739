"""Engine, sessions and transactions.

`Database.read()` gives a session for queries; `Database.write()` a session inside one transaction that
commits on success and rolls back on any error, so a failing statement leaves no partial rows. On SQLite
a write transaction starts with BEGIN IMMEDIATE: a deferred transaction that later needs the write lock
fails at once with "database is locked" instead of waiting for the busy timeout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Executable, Row, Table, event, text
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from core import metrics, telemetry
from settings import Settings
from storage.inline_reads import InlineReader, inline_url
from storage.inline_writes import inline_creator
from storage.timeouts import limit_statement_time

T = TypeVar("T")
# MySQL/MariaDB: 1213 deadlock, 1205 lock wait timeout. Both ask the client to restart the transaction.
_RETRYABLE_MYSQL_ERRORS = frozenset({1213, 1205})
WRITE_ATTEMPTS = 6

SQLITE_BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "sqlite_begin_immediate"


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN is ours to emit (SQLAlchemy's recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the write lock up front. Readers run in autocommit: each of their statements
        # reads one consistent snapshot, and skipping BEGIN saves a round trip to the driver thread.
        if connection.get_execution_options().get(_IMMEDIATE, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_write_engine(url: str, settings: Settings) -> AsyncEngine | None:
    """SQLite: the engine write transactions run on, inline (storage/inline_writes.py); None where writes
    share the one engine (MariaDB/MySQL, an in-memory database, or DB_INLINE_WRITES=false)."""
    sync_url = inline_url(url)
    if sync_url is None or not settings.db_inline_writes:
        return None
    path = make_url(sync_url).database or ""
    engine = create_async_engine(
        url,
        echo=settings.db_echo,
        hide_parameters=HIDE_PARAMETERS,
        async_creator=inline_creator(path),
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    _configure_sqlite(engine, busy_timeout_ms=0)  # the loop never sleeps on a lock: write() backs off
    limit_statement_time(engine, settings.db_statement_timeout_seconds)
    return engine


def is_locked(error: BaseException) -> bool:
    """SQLite answered that another connection holds the write lock."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


# Statement parameters hold password hashes and message content: DB_ECHO and the messages of database
# errors (which end up in logged tracebacks) show the statements without them.
HIDE_PARAMETERS = True


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        in_memory = parsed.database in (None, "", ":memory:")  # one static connection, no queue to wait in
        engine = create_async_engine(
            url,
            echo=settings.db_echo,
            hide_parameters=HIDE_PARAMETERS,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **({} if in_memory else {"pool_timeout": settings.db_pool_timeout_seconds}),
        )
        _configure_sqlite(engine)
        limit_statement_time(engine, settings.db_statement_timeout_seconds)
        return engine
    query = dict(parsed.query)
    if parsed.get_backend_name() == "mysql":
        query.setdefault("charset", "utf8mb4")
    engine = create_async_engine(
        parsed.set(query=query),
        echo=settings.db_echo,
        hide_parameters=HIDE_PARAMETERS,
        pool_pre_ping=True,
        pool_recycle=settings.db_pool_recycle_seconds,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # A request waits this long for a free connection, then fails fast (SERVICE_BUSY) instead of
        # queueing behind the pool for SQLAlchemy's default 30 s.
        pool_timeout=settings.db_pool_timeout_seconds,
    )
    limit_statement_time(engine, settings.db_statement_timeout_seconds)
    return engine


def _observe(pooled: Sequence[Engine], inline: InlineReader | None) -> None:
    """Connections in use feed a gauge; statements become spans when tracing is on (the SQLAlchemy
    instrumentation attached to these engines alone, never the global `instrument()`)."""
    for sync_engine in pooled:
        event.listen(sync_engine, "checkout", _checked_out)
        event.listen(sync_engine, "checkin", _checked_in)
    if telemetry.STATE.enabled:
        from storage.sql_spans import trace_engine

        tracer = telemetry.tracer_for("opentelemetry.instrumentation.sqlalchemy")
        for sync_engine in pooled:
            trace_engine(tracer, sync_engine)
        if inline is not None:
            trace_engine(tracer, inline.engine)


def _checked_out(*_args: Any) -> None:
    metrics.DB_POOL_IN_USE.inc()


def _checked_in(*_args: Any) -> None:
    metrics.DB_POOL_IN_USE.dec()


class Database:
    def __init__(
        self, engine: AsyncEngine, inline: InlineReader | None = None, writes: AsyncEngine | None = None
    ) -> None:
        self.engine = engine
        self._inline = inline
        self._write_engine = writes
        pooled = (engine.sync_engine,) + (() if writes is None else (writes.sync_engine,))
        _observe(pooled, inline)
        self.dialect = engine.dialect.name
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._write_sessions = (
            None if writes is None else async_sessionmaker(writes, expire_on_commit=False, autoflush=False)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        url = settings.effective_database_url
        engine = create_engine(url, settings)
        sync_url = inline_url(url) if settings.db_inline_reads else None
        inline = None if sync_url is None else InlineReader(sync_url, echo=settings.db_echo)
        return cls(engine, inline, create_write_engine(url, settings))

    @property
    def sync_engines(self) -> tuple[Engine, ...]:
        """Every engine statements go through (for listeners that must see all of them)."""
        inline = () if self._inline is None else (self._inline.engine,)
        writes = () if self._write_engine is None else (self._write_engine.sync_engine,)
        return (self.engine.sync_engine, *writes, *inline)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def rows(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """The rows of one small Core read. On SQLite it runs inline (storage/inline_reads.py) unless it
        runs long; else on a pooled connection of its own, with no ORM session to open and close around
        it (about a fifth of a small read's cost). Rows come back as rows, not model objects."""
        found = self.rows_now(statement, parameters)
        if found is not None:
            return found
        async with self.engine.connect() as connection:
            return (await connection.execute(statement, dict(parameters or {}))).all()

    async def scalars(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """The objects of one small ORM read (each row's first entity), loaded and detached: inline on
        SQLite as `rows`, else in a short session of its own."""
        found = self.scalars_now(statement, parameters)
        if found is not None:
            return found
        async with self._sessions() as session:
            return (await session.execute(statement, dict(parameters or {}))).scalars().all()

    @property
    def reads_inline(self) -> bool:
        """Whether small reads can be answered on the calling thread (`rows_now`, `scalars_now`)."""
        return self._inline is not None

    def rows_now(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]] | None:
        """`rows` answered on the calling thread, or None when it cannot be (not SQLite, inline reads
        off, or the read ran long or met a lock): the caller then awaits `rows`."""
        return None if self._inline is None else self._inline.rows(statement, parameters)

    def scalars_now(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> Sequence[Any] | None:
        """`scalars` answered on the calling thread, or None as for `rows_now`."""
        return None if self._inline is None else self._inline.scalars(statement, parameters)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        if self._write_sessions is None:
            async with self._sessions() as session, session.begin():
                if self.dialect == "sqlite":
                    await session.connection(execution_options=cast(Any, {_IMMEDIATE: True}))
                yield session
            return
        session = await self._locked_session()
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()

    async def _locked_session(self) -> AsyncSession:
        """SQLite: a session holding the write lock (BEGIN IMMEDIATE), taken with short asynchronous
        back-offs while another connection holds it, for up to the busy timeout: the inline connection
        itself never waits."""
        assert self._write_sessions is not None
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_locked),
            stop=stop_after_delay(SQLITE_BUSY_TIMEOUT_MS / 1000),
            wait=wait_random_exponential(multiplier=0.001, max=0.05),
            reraise=True,
        ):
            with attempt:
                session = self._write_sessions()
                try:
                    await session.connection(execution_options=cast(Any, {_IMMEDIATE: True}))
                except BaseException:
                    await session.close()
                    raise
                return session
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def run_write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in one write transaction, restarting it when the database resolved a deadlock
        by aborting it (InnoDB does so when concurrent transactions lock rows in different orders)."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_retryable_conflict),
            stop=stop_after_attempt(WRITE_ATTEMPTS),
            wait=wait_random_exponential(multiplier=0.005, max=0.2),
            reraise=True,
        ):
            with attempt:
                async with self.write() as session:
                    return await work(session)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._write_engine is not None:
            await self._write_engine.dispose()
        if self._inline is not None:
            self._inline.dispose()


def is_retryable_conflict(error: BaseException) -> bool:
    if not isinstance(error, OperationalError):
        return False
    code = error.orig.args[0] if error.orig is not None and error.orig.args else None
    return code in _RETRYABLE_MYSQL_ERRORS or "database is locked" in str(error.orig)


async def insert_row(session: AsyncSession, table: Table, **values: Any) -> int:
    """Insert one row; its new id."""
    result = await session.execute(table.insert().values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]


async def insert_ignore(session: AsyncSession, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert one row unless a unique key already holds it; True when a row was inserted.

    Idempotency comes from the constraint, not from a read-then-write check. (MySQL's INSERT IGNORE
    also downgrades foreign-key errors, so callers check that the rows they point at exist.)
    """
    if session.bind.dialect.name == "mysql":
        statement: Any = mysql_insert(table).values(**values).prefix_with("IGNORE")
    else:
        statement = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]
