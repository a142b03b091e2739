"""Tracing with the OpenTelemetry SDK, configured by the standard OTEL_* variables (read by settings.py).

Off unless one of them is set (and off with OTEL_TRACES_EXPORTER=none): then nothing is installed and
every instrumented call site costs one attribute check (`STATE.enabled`). On, spans go to an OTLP/HTTP
collector (Jaeger, Tempo, an OpenTelemetry Collector) through a batch processor, or readably to stdout
(`console`).

The provider is not made the global one: every instrumentation is handed it explicitly, so a process (a
test, the benchmark) can switch tracing on and off, and no library traces behind the app's back.

Spans: the HTTP request (an ASGI middleware, `core.observe.HttpSpan`), the GraphQL operation with its
parse and validate steps, each DataLoader batch, each cache, object-store and ffmpeg call, and SQL and
Redis commands through their instrumentations. Never one per resolved field.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from urllib.parse import unquote

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider, sampling
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.util.types import AttributeValue

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_SERVICE_NAME = "douyin-graphql"
INSTRUMENTATION_NAME = "douyin"
SUPPORTED_PROTOCOLS = ("", "http/protobuf")
EXPORTERS = ("otlp", "console", "none")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """The standard variables, as given (empty: not set)."""

    service_name: str = ""
    exporter: str = ""  # OTEL_TRACES_EXPORTER: otlp | console | none, or a comma-separated list
    endpoint: str = ""  # OTEL_EXPORTER_OTLP_ENDPOINT, the collector's base URL (…:4318)
    protocol: str = ""  # OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf
    sampler: str = ""  # OTEL_TRACES_SAMPLER
    sampler_arg: str = ""  # OTEL_TRACES_SAMPLER_ARG
    resource_attributes: str = ""  # OTEL_RESOURCE_ATTRIBUTES: key=value,key=value

    @property
    def exporters(self) -> tuple[str, ...]:
        names = tuple(name.strip().lower() for name in self.exporter.split(",") if name.strip())
        return names or ("otlp",)

    @property
    def enabled(self) -> bool:
        if self.exporters == ("none",):
            return False
        return any(
            (
                self.service_name,
                self.exporter,
                self.endpoint,
                self.protocol,
                self.sampler,
                self.sampler_arg,
                self.resource_attributes,
            )
        )

    def problems(self) -> list[str]:
        """What makes this configuration unusable (checked when the settings are read)."""
        found = []
        for name in self.exporters:
            if name not in EXPORTERS:
                found.append(f"OTEL_TRACES_EXPORTER={name} is not one of {', '.join(EXPORTERS)}")
        if self.protocol.strip().lower() not in SUPPORTED_PROTOCOLS:
            found.append(f"OTEL_EXPORTER_OTLP_PROTOCOL={self.protocol} is not supported; use http/protobuf")
        if self.sampler and self.sampler.strip().lower() not in SAMPLERS:
            found.append(f"OTEL_TRACES_SAMPLER={self.sampler} is not one of {', '.join(SAMPLERS)}")
        if self.sampler_arg:
            try:
                ratio = float(self.sampler_arg)
            except ValueError:
                ratio = -1.0
            if not 0.0 <= ratio <= 1.0:
                found.append(f"OTEL_TRACES_SAMPLER_ARG={self.sampler_arg} is not a ratio between 0 and 1")
        return found


class _State:
    """The process's tracing: off (a no-op tracer) until `install` or `configure`."""

    def __init__(self) -> None:
        self.enabled = False
        self.provider: TracerProvider | None = None
        self.tracer: trace.Tracer = trace.NoOpTracer()


STATE = _State()


def tracing_on() -> bool:
    return STATE.enabled


def tracer_for(instrumentation: str) -> trace.Tracer:
    """A tracer of the installed provider named after an instrumentation (a no-op one when off)."""
    if STATE.provider is None:
        return trace.NoOpTracer()
    return STATE.provider.get_tracer(instrumentation)


def install(provider: TracerProvider) -> None:
    """Trace through `provider` from now on (tests hand in one with an in-memory exporter)."""
    STATE.provider = provider
    STATE.tracer = provider.get_tracer(INSTRUMENTATION_NAME)
    STATE.enabled = True


def uninstall() -> None:
    STATE.enabled = False
    STATE.provider = None
    STATE.tracer = trace.NoOpTracer()


def _sampler(config: TracingConfig) -> sampling.Sampler:
    name = config.sampler.strip().lower() or "parentbased_always_on"
    ratio = float(config.sampler_arg) if config.sampler_arg else 1.0
    if name == "always_on":
        return sampling.ALWAYS_ON
    if name == "always_off":
        return sampling.ALWAYS_OFF
    if name == "traceidratio":
        return sampling.TraceIdRatioBased(ratio)
    if name == "parentbased_always_off":
        return sampling.ParentBased(sampling.ALWAYS_OFF)
    if name == "parentbased_traceidratio":
        return sampling.ParentBasedTraceIdRatio(ratio)
    return sampling.ParentBased(sampling.ALWAYS_ON)


class _HashedResource(Resource):
    """A resource whose hash is computed once. The OTLP encoder groups every exported span by its
    resource, and the SDK's hash serializes all the attributes to JSON each time (about 10 µs a span,
    on the export thread); a resource never changes once made."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(dict(resource.attributes), resource.schema_url)
        self._hash = super().__hash__()

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other)

    def __hash__(self) -> int:
        return self._hash


def _resource(config: TracingConfig) -> Resource:
    attributes: dict[str, AttributeValue] = {}
    for pair in config.resource_attributes.split(","):
        key, found, value = pair.partition("=")
        if found and key.strip():
            attributes[unquote(key.strip())] = unquote(value.strip())
    attributes[SERVICE_NAME] = config.service_name or str(attributes.get(SERVICE_NAME, DEFAULT_SERVICE_NAME))
    return _HashedResource(Resource.create(attributes))


def _short(value: AttributeValue, limit: int = 120) -> str:
    """An attribute on one line (SQL spans over several), cut at `limit` characters."""
    text = " ".join(f"{value!s}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def readable_span(span: ReadableSpan) -> str:
    """One line per span for the console exporter: duration, name, ids, attributes."""
    context = span.get_span_context()
    duration_ms = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    parent = f"{span.parent.span_id:016x}" if span.parent is not None else "-"
    attributes = " ".join(f"{key}={_short(value)}" for key, value in (span.attributes or {}).items())
    trace_id = f"{context.trace_id:032x}" if context is not None else "-"
    span_id = f"{context.span_id:016x}" if context is not None else "-"
    return (
        f"span {duration_ms:9.2f} ms  {span.name:<32} trace={trace_id} span={span_id} parent={parent}"
        f"  {attributes}\n"
    )


def _processors(config: TracingConfig) -> list[SpanProcessor]:
    processors: list[SpanProcessor] = []
    for name in config.exporters:
        if name == "console":
            processors.append(
                SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout, formatter=readable_span))
            )
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            endpoint = f"{config.endpoint.rstrip('/')}/v1/traces" if config.endpoint else None
            exporter: SpanExporter = OTLPSpanExporter(endpoint=endpoint)
            processors.append(BatchSpanProcessor(exporter))
    return processors


def configure(config: TracingConfig) -> TracerProvider | None:
    """Install tracing as `config` says; the provider (shut it down to flush), or None when off."""
    if not config.enabled:
        return None
    provider = TracerProvider(resource=_resource(config), sampler=_sampler(config))
    for processor in _processors(config):
        provider.add_span_processor(processor)
    install(provider)
    return provider


def shutdown(provider: TracerProvider) -> None:
    """Flush and stop `provider`; tracing goes off if it was the installed one."""
    if STATE.provider is provider:
        uninstall()
    provider.shutdown()


def current_trace_id() -> str | None:
    """The trace the running code belongs to (32 hex digits), or None outside any trace."""
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


def document_digest(text: str) -> str:
    """How a GraphQL document is named in spans: its SHA-256, never its text."""
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def span(
    name: str, attributes: Mapping[str, AttributeValue] | None = None, *, current: bool = True
) -> Iterator[trace.Span]:
    """A child of the current span. Callers on hot paths check `STATE.enabled` first. A span under
    which nothing else is traced can stay a leaf (`current=False`): made current, it costs a context
    switch in and out besides."""
    if current:
        with STATE.tracer.start_as_current_span(name, attributes=attributes) as made:
            yield made
        return
    with STATE.tracer.start_span(name, attributes=attributes) as leaf:  # ends it, recording a failure
        yield leaf


def traced(
    name: str, **attributes: AttributeValue
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """A span around each call of an async function, when tracing is on."""

    def decorate(function: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if not STATE.enabled:
                return await function(*args, **kwargs)
            with STATE.tracer.start_as_current_span(name, attributes=attributes):
                return await function(*args, **kwargs)

        return wrapper

    return decorate
