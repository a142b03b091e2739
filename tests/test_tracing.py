"""Traces of whole requests: spans exported in-process (the SDK's in-memory exporter) and over OTLP/HTTP
to a receiver on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from app import create_app
from core import telemetry
from storage.services import Services
from tests.conftest import Backend, make_settings, open_services
from tests.support.factories import Account, add_follows, add_users, add_videos
from tests.support.otlp import otlp_receiver

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:opentelemetry")


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, into memory; installed before the services open, so that SQL and Redis
    are instrumented too."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    telemetry.install(provider)
    try:
        yield memory
    finally:
        telemetry.shutdown(provider)


@pytest.fixture
async def traced_services(
    exporter: InMemorySpanExporter, backend: Backend, tmp_path: Path
) -> AsyncIterator[Services]:
    async with open_services(backend, tmp_path) as opened:
        yield opened


@pytest.fixture
async def traced_client(traced_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=traced_services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def _feed_data(services: Services) -> Account:
    viewer, author = await add_users(services, 2)
    await add_videos(services, author, 5)
    await add_follows(services, [(viewer, author)])
    return viewer


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    context = parent.get_span_context()
    assert context is not None
    parent_id = context.span_id
    return [span for span in spans if span.parent is not None and span.parent.span_id == parent_id]


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, [span.name for span in spans]
    return found[0]


def _trace_id(span: ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"{context.trace_id:032x}"


def _is_sql(span: ReadableSpan) -> bool:
    return span.instrumentation_scope is not None and "sqlalchemy" in span.instrumentation_scope.name


async def test_a_signed_in_rest_feed_request_is_one_trace_http_then_operation_then_loaders_and_sql(
    traced_services: Services, traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    viewer = await _feed_data(traced_services)
    exporter.clear()
    response = await traced_client.get("/douyin/feed/", params={"token": viewer.token})
    assert response.json()["status_code"] == 0
    assert len(response.json()["video_list"]) == 5
    spans = list(exporter.get_finished_spans())

    assert len({_trace_id(span) for span in spans}) == 1
    http = _one(spans, "GET /douyin/feed/")
    assert http.kind is SpanKind.SERVER
    assert http.parent is None
    assert http.attributes is not None
    assert http.attributes["http.route"] == "/douyin/feed/"
    operation = _one(spans, "query Feed")
    assert operation in _children(spans, http)
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.name"] == "Feed"
    assert operation.attributes["graphql.operation.type"] == "query"
    assert len(str(operation.attributes["graphql.document.sha256"])) == 64

    # The live part's one statement runs in its operation.
    assert [span for span in _children(spans, operation) if _is_sql(span)]
    # The unchanging part (first request: not kept yet) loads in batches, each batch's query in its loader.
    kept = _one(spans, "query FeedVideos")
    assert kept in _children(spans, http)
    under_kept = _children(spans, kept)
    loaders = {span.name for span in under_kept if span.name.startswith("loader ")}
    assert {"loader VideoByIdLoader", "loader UserByIdLoader"} <= loaders
    for loader in (span for span in under_kept if span.name.startswith("loader ")):
        assert loader.attributes is not None
        assert int(str(loader.attributes["loader.keys"])) >= 1
        assert any(_is_sql(span) for span in _children(spans, loader))
    # The token came in the query string; no span holds it.
    for span in spans:
        assert viewer.token not in repr(dict(span.attributes or {})), span.name
    # Never a span per field: five videos cost the same spans as one would (cache calls aside: with
    # Redis, each cache call also has the redis instrumentation's command spans).
    uncached = [span for span in spans if not span.name.startswith("cache ") and not span.name.isupper()]
    assert len(uncached) < 20, [span.name for span in uncached]


async def test_a_rest_sign_in_has_cache_spans_under_its_operation(
    traced_services: Services, traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    """A sign-in leaves the user's token version in the cache (resolvers/sessions.py), so its cache span
    sits under the sign-in's operation."""
    form = {"username": "someone", "password": "the-password"}
    registered = await traced_client.post("/douyin/user/register/", data=form)
    assert registered.json()["status_code"] == 0
    await traced_services.cache.delete(f"token-version:{registered.json()['user_id']}")
    exporter.clear()
    response = await traced_client.post("/douyin/user/login/", data=form)
    assert response.json()["status_code"] == 0
    spans = list(exporter.get_finished_spans())
    http = _one(spans, "POST /douyin/user/login/")
    operation = _one(spans, "mutation Login")
    assert operation in _children(spans, http)
    cache_calls = [span for span in _children(spans, operation) if span.name.startswith("cache ")]
    assert [span.name for span in cache_calls] == ["cache add"]
    backend = traced_services.cache.name
    assert cache_calls[0].attributes is not None
    assert cache_calls[0].attributes["cache.backend"] == backend
    if backend == "redis":  # the redis instrumentation's command spans sit under the cache call
        assert _children(spans, cache_calls[0])


async def test_a_client_traceparent_is_continued(
    traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    headers = {"traceparent": f"00-{trace_id}-{parent_id}-01"}
    exporter.clear()
    response = await traced_client.get("/douyin/feed/", headers=headers)
    assert response.json()["status_code"] == 0
    spans = list(exporter.get_finished_spans())
    assert {_trace_id(span) for span in spans} == {trace_id}
    http = _one(spans, "GET /douyin/feed/")
    assert http.parent is not None
    assert f"{http.parent.span_id:016x}" == parent_id


async def test_graphql_operations_have_parse_and_validate_spans_and_none_per_field(
    traced_services: Services, traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    viewer = await _feed_data(traced_services)
    query = "query Feed { feed(first: 5) { nodes { id title author { name viewerIsFollowing } } } }"
    exporter.clear()
    headers = {"Authorization": f"Bearer {viewer.token}"}
    response = await traced_client.post("/graphql", json={"query": query}, headers=headers)
    assert "errors" not in response.json()
    spans = list(exporter.get_finished_spans())
    http = _one(spans, "POST /graphql")
    operation = _one(spans, "query Feed")
    assert operation in _children(spans, http)
    names = {span.name for span in _children(spans, operation)}
    assert {"graphql.parse", "graphql.validate", "loader UserByIdLoader"} <= names
    assert len(spans) < 15, [span.name for span in spans]


async def test_unknown_routes_and_operation_names_do_not_name_spans(
    traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    await traced_client.get("/douyin/no/such/route/")
    await traced_client.post("/graphql", json={"query": "query Whatever123 { viewer { id } }"})
    names = {span.name for span in exporter.get_finished_spans()}
    assert "GET" in names
    assert "query" in names
    assert not any("no/such" in name or "Whatever123" in name for name in names)


def test_tracing_is_off_without_the_variables(client: httpx.AsyncClient) -> None:
    assert not telemetry.tracing_on()


async def test_spans_reach_an_otlp_collector_over_http(services: Services, tmp_path: Path) -> None:
    with otlp_receiver() as receiver:
        settings = make_settings(
            tmp_path,
            otel_service_name="douyin-otlp-test",
            otel_exporter_otlp_endpoint=receiver.url,
            otel_traces_exporter="otlp",
        )
        app = create_app(settings, services=_with_settings(services, settings))
        provider = app.state.tracer_provider
        assert provider is not None
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as http:
                assert (await http.get("/douyin/feed/")).json()["status_code"] == 0
        finally:
            telemetry.shutdown(provider)  # flushes the batch
        spans = receiver.wait_for(2)
    assert {span.service_name for span in spans} == {"douyin-otlp-test"}
    names = {span.name for span in spans}
    assert {"GET /douyin/feed/", "query Feed"} <= names
    assert len({span.trace_id for span in spans}) == 1


def _with_settings(services: Services, settings: Any) -> Services:
    services.settings = settings
    return services


async def test_a_publish_traces_its_ffmpeg_runs_and_object_store_calls(
    traced_services: Services, traced_client: httpx.AsyncClient, exporter: InMemorySpanExporter, clip: bytes
) -> None:
    [author] = await add_users(traced_services, 1)
    exporter.clear()
    files = {"data": ("bear.mp4", clip, "video/mp4")}
    data = {"token": author.token, "title": "bear"}
    body = (await traced_client.post("/douyin/publish/action/", data=data, files=files)).json()
    assert body["status_code"] == 0, body
    spans = list(exporter.get_finished_spans())
    operation = _one(spans, "mutation PublishVideo")
    under = [span.name for span in _children(spans, operation)]
    assert under.count("ffmpeg") >= 3  # probe, packet pass, cover
    assert under.count("objects put_file") == 2  # the video and its cover
    assert len({_trace_id(span) for span in spans}) == 1
