"""Bench-only ASGI wrapper: counts requests and SQL statements per route, and the worker's RSS.

Both servers of the realistic benchmark run behind it (the project's app unchanged inside), so what it
costs, a counter per statement and one dictionary update per request, is the same on both sides.
`BENCH_COUNT_SQL=0` serves the apps bare.

Statements are attributed to the request that caused them through a context variable: SQLAlchemy runs
the driver call in a greenlet that shares the calling task's context, and tasks a request starts (fields
resolved concurrently, DataLoader batches) copy it. `/__bench/stats` answers, per "METHOD path", the
requests and statements since the last `POST /__bench/reset`, the total requests served since start-up,
and VmRSS now and when the 10,000th and 20,000th request finished.

    uvicorn bench.instrument:project_app --factory     # app.create_app(), counted
    uvicorn bench.instrument:handwritten_app --factory # bench/handwritten.py, counted
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import orjson
from sqlalchemy import Engine, event
from starlette.types import ASGIApp, Receive, Scope, Send

RSS_MARKS = (10_000, 20_000)
STATS_PREFIX = "/__bench/"
_statements: ContextVar[list[int] | None] = ContextVar("bench_statements", default=None)


def rss_kib(pid: int | str = "self") -> int:
    """VmRSS of a process in KiB (0 when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Counted:
    def __init__(self, app: ASGIApp, engines: Sequence[Engine]) -> None:
        self.app = app
        self.total = 0
        self.rss_at: dict[int, int] = {}
        self.routes: dict[str, list[int]] = {}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._on_statement)

    @staticmethod
    def _on_statement(*args: Any) -> None:
        statement = str(args[2])
        cell = _statements.get()
        if cell is not None and not statement.startswith("BEGIN"):  # SQLite's BEGIN is not a query
            cell[0] += 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(STATS_PREFIX):
            await self._stats(path, send)
            return
        cell = [0]
        token = _statements.set(cell)
        try:
            await self.app(scope, receive, send)
        finally:
            _statements.reset(token)
            key = f"{scope['method']} {path}"
            tally = self.routes.setdefault(key, [0, 0])
            tally[0] += 1
            tally[1] += cell[0]
            self.total += 1
            if self.total in RSS_MARKS:
                self.rss_at[self.total] = rss_kib()

    async def _stats(self, path: str, send: Send) -> None:
        if path == STATS_PREFIX + "reset":
            self.routes = {}
        body = orjson.dumps(
            {
                "total": self.total,
                "rss_kib": rss_kib(),
                "rss_at": {str(mark): kib for mark, kib in self.rss_at.items()},
                "pid": os.getpid(),
                "routes": self.routes,
            }
        )
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _counting() -> bool:
    return os.environ.get("BENCH_COUNT_SQL", "1") != "0"


def project_app() -> ASGIApp:
    from app import create_app

    application = create_app()
    if not _counting():
        return application
    return Counted(application, application.state.services.db.sync_engines)


def handwritten_app() -> ASGIApp:
    from bench.handwritten import create_app

    application = create_app()
    if not _counting():
        return application
    return Counted(application, [application.state.engine.sync_engine])
