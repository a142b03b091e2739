"""SQLite write transactions run on the event loop's thread from BEGIN to COMMIT, never yielding to it
while they hold the database's one write lock.

SQLite lets one writer at a time hold the database, across every process. Through aiosqlite each call
of a transaction (cursor, execute, fetch, close: about thirty for a like) is handed to the driver's
thread, and its answer waits its turn on the loop behind every other ready request. On a loaded worker
that held the lock for about 0.4 s per like, and writes from every worker queued behind it for seconds.
Run where they are called, the calls hold it for the transaction's own few milliseconds.

`InlineConnection` is the aiosqlite connection SQLAlchemy's aiosqlite driver wraps (its `async_creator`),
with each call run at once instead of queued to a thread of its own. It never waits for a lock (busy
timeout 0: the loop must not sleep); `Database.write` takes the write lock with short asynchronous
back-offs instead (storage/db.py). Reads keep the threaded engine or run inline on their own budget
(storage/inline_reads.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

ITER_CHUNK_SIZE = 64  # aiosqlite's default: rows fetched per step when a cursor is iterated


class _RunAtOnce:
    """Stands in for the queue to the connection's thread: SQLAlchemy's driver puts its isolation-level
    change there directly."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None:
                future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the calling thread (aiosqlite 0.20-0.2x internals:
    `_execute`, `_connect` and the `_tx` queue are where a call is handed to the connection's thread)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunAtOnce()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_creator(path: str) -> Callable[[], Any]:
    """For `create_async_engine(..., async_creator=...)`: connections to the SQLite file `path` that never
    wait for a lock."""

    async def create(*_url_args: Any, **_connect_args: Any) -> InlineConnection:
        # The driver passes the URL's arguments; the connection is this file's, never waiting for a lock.
        connector = partial(sqlite3.connect, path, timeout=0, check_same_thread=False)
        return await InlineConnection(connector, ITER_CHUNK_SIZE)

    return create
