"""SQL spans from the lean per-statement hook: the same spans as the stock SQLAlchemy instrumentation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from storage.sql_spans import trace_engine

STATEMENTS = ("SELECT 1", "select 2 as two", "SELECT :x AS y", "SELECT 1")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def _run(
    attach: Callable[[TracerProvider, Engine], object], memory: InMemorySpanExporter
) -> list[ReadableSpan]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    engine = create_engine("sqlite://")
    attach(provider, engine)
    with engine.connect() as connection:
        for statement in STATEMENTS:
            connection.execute(text(statement), {"x": 3}).all()
    engine.dispose()
    return list(memory.get_finished_spans())


def _stock(provider: TracerProvider, engine: Engine) -> object:
    usage = NoOpMeter("test").create_up_down_counter("db.client.connections.usage")
    return EngineTracer(provider.get_tracer("sql"), engine, usage)  # type: ignore[no-untyped-call]


def _lean(provider: TracerProvider, engine: Engine) -> object:
    return trace_engine(provider.get_tracer("sql"), engine)


def test_each_statement_is_a_client_span_named_and_described_as_the_stock_instrumentation_does(
    exporter: InMemorySpanExporter,
) -> None:
    stock = _run(_stock, InMemorySpanExporter())
    lean = _run(_lean, exporter)
    assert len(lean) == len(STATEMENTS)
    assert [span.name for span in lean] == [span.name for span in stock]
    assert [dict(span.attributes or {}) for span in lean] == [dict(span.attributes or {}) for span in stock]
    assert {span.kind for span in lean} == {SpanKind.CLIENT}
    statements = [dict(span.attributes or {})["db.statement"] for span in lean]
    assert statements == ["SELECT 1", "select 2 as two", "SELECT ? AS y", "SELECT 1"]
    assert all(span.end_time is not None for span in lean)


def test_a_failing_statement_ends_its_span_with_an_error(exporter: InMemorySpanExporter) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = create_engine("sqlite://")
    trace_engine(provider.get_tracer("sql"), engine)
    with engine.connect() as connection, pytest.raises(OperationalError):
        connection.execute(text("SELECT * FROM no_such_table"))
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR


def test_no_connection_usage_listeners_are_left_on_the_pool() -> None:
    provider = TracerProvider()
    engine = create_engine("sqlite://")
    tracer = trace_engine(provider.get_tracer("sql"), engine)
    for identifier in ("connect", "close", "checkin", "checkout"):
        assert not event.contains(engine, identifier, getattr(tracer, f"_pool_{identifier}"))
    assert event.contains(engine, "before_cursor_execute", tracer._before_cur_exec)
