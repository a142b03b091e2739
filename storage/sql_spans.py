# mypy: disallow-untyped-calls=False
# (the instrumentation is untyped; this module is its typed face.)
"""SQL spans: the SQLAlchemy instrumentation's `EngineTracer` on one engine, with a leaner hook per
statement (used only when tracing is on).

The stock hook rebuilds the same attributes on every statement (the engine's URL read again, the
operation name cut out of the SQL with a regular expression, each attribute set and checked one call at
a time) and makes the new span current just to set them: about a third of its cost per statement. Here
the connection's attributes are read once, a statement's name and attributes once per distinct SQL
text (SQLAlchemy reuses compiled statements, so there are few), and the span starts with them. What a
span holds is unchanged, since the stock helpers build it; ending and failing spans stay the stock ones.

Its connection-usage listeners are removed: they feed a meter that records nothing here (the pool gauge
is the project's own, `db_pool_in_use`), at four calls per checkout and checkin.
"""

from __future__ import annotations

import weakref
from functools import lru_cache
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy.engine import (
    EngineTracer,
    _get_attributes_from_cursor_or_conn,
    _get_attributes_from_url,
    _get_db_name_from_cursor_or_conn,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import NoOpMeter
from opentelemetry.util.types import AttributeValue
from sqlalchemy import event
from sqlalchemy.engine import Engine

# Distinct SQL texts remembered per engine (an `IN (?, ?, …)` list makes one per key count).
STATEMENTS_REMEMBERED = 512
_POOL_LISTENERS = ("connect", "close", "checkin", "checkout")

Described = tuple[str, dict[str, AttributeValue]]


class _Collected:
    """Stands in for a span while the stock helper sets a statement's attributes."""

    def __init__(self) -> None:
        self.attributes: dict[str, AttributeValue] = {}

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        self.attributes[key] = value


class LeanEngineTracer(EngineTracer):
    def __init__(self, tracer: trace.Tracer, engine: Engine) -> None:
        usage = NoOpMeter("douyin").create_up_down_counter("db.client.connections.usage")
        super().__init__(tracer, engine, usage)
        for identifier in _POOL_LISTENERS:
            listener = getattr(self, f"_pool_{identifier}")
            event.remove(engine, identifier, listener)
            EngineTracer._dispose_of_event_listener((weakref.ref(engine), identifier, listener))
        self._connection: tuple[dict[str, AttributeValue], str | None] | None = None
        self._describe = lru_cache(maxsize=STATEMENTS_REMEMBERED)(self._describe_statement)

    def _connection_details(self, conn: Any, cursor: Any) -> tuple[dict[str, AttributeValue], str | None]:
        """The stock per-statement look-up, done once: the app never switches databases."""
        if self._connection is None:
            attributes, found = _get_attributes_from_url(
                conn.engine.url, self._sem_conv_opt_in_mode_db, self._sem_conv_opt_in_mode_http
            )
            if not found:
                attributes = _get_attributes_from_cursor_or_conn(
                    self.vendor,
                    conn,
                    cursor,
                    attributes,
                    self._sem_conv_opt_in_mode_db,
                    self._sem_conv_opt_in_mode_http,
                )
            self._connection = (attributes, _get_db_name_from_cursor_or_conn(self.vendor, conn, cursor))
        return self._connection

    def _describe_statement(self, statement: str) -> Described:
        attributes, db_name = self._connection or ({}, None)
        collected = _Collected()
        self._set_db_client_span_attributes(collected, statement, db_name, attributes)
        return self._operation_name(db_name, statement), collected.attributes

    def _before_cur_exec(
        self, conn: Any, cursor: Any, statement: Any, params: Any, context: Any, _executemany: bool
    ) -> tuple[Any, Any]:
        if not is_instrumentation_enabled():
            return statement, params
        self._connection_details(conn, cursor)
        name, attributes = self._describe(statement)
        context._otel_span = self.tracer.start_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes)
        return statement, params


def trace_engine(tracer: trace.Tracer, engine: Engine) -> LeanEngineTracer:
    """Statements on `engine` (a sync engine: an async engine's `sync_engine`) become CLIENT spans."""
    return LeanEngineTracer(tracer, engine)
