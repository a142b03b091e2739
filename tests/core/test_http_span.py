"""The HTTP span: named after the route, status recorded, 5xx and exceptions failed, no query string."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import Receive, Scope, Send

from core import metrics
from core.observe import HttpSpan


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["path"] == "/boom":
        raise RuntimeError("boom")
    status = 503 if scope["path"] == "/down" else 200
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _spans(path: str, headers: dict[str, str] | None = None) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    app = HttpSpan(_answer, provider.get_tracer("test"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await client.get(path, headers=headers)
    return list(memory.get_finished_spans())


async def test_a_known_route_names_its_server_span_and_the_status_is_recorded() -> None:
    metrics.allow_routes({"/douyin/feed/"}, prefixes=[])
    [span] = await _spans("/douyin/feed/?token=secret-token")
    assert span.name == "GET /douyin/feed/"
    assert span.kind is SpanKind.SERVER
    attributes = dict(span.attributes or {})
    assert attributes["http.route"] == "/douyin/feed/"
    assert attributes["http.method"] == "GET"
    assert attributes["http.status_code"] == 200
    assert attributes["http.target"] == "/douyin/feed/"
    assert "secret-token" not in repr(attributes)
    assert span.status.status_code is StatusCode.UNSET


async def test_server_errors_and_exceptions_fail_the_span() -> None:
    [down] = await _spans("/down")
    assert down.status.status_code is StatusCode.ERROR
    assert dict(down.attributes or {})["http.status_code"] == 503
    [boom] = await _spans("/boom")
    assert boom.status.status_code is StatusCode.ERROR
    assert [event.name for event in boom.events] == ["exception"]


async def test_a_client_traceparent_is_the_parent() -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    [span] = await _spans("/anything", {"traceparent": traceparent})
    assert span.parent is not None
    assert span.parent.is_remote
    assert f"{span.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert span.name == "GET"  # not an allow-listed route: the raw path never names a span


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_other_scopes_pass_through_without_a_span(kind: str) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> dict[str, str]:
        return {}

    async def ignore(message: object) -> None:
        return None

    await HttpSpan(inner, provider.get_tracer("test"))({"type": kind}, nothing, ignore)
    assert seen == [kind]
    assert not memory.get_finished_spans()
