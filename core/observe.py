"""Per-request observation: the HTTP span (an ASGI middleware, when tracing is on), the request
metrics and the request log line.

Deeper layers leave facts for the line in `scope["state"]`: `viewer_id` (the context), `operation`
(the GraphQL operation run, allow-listed) and `outcome` (ok or the error code; a douyin route answers
HTTP 200 either way).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import propagate, trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics, telemetry

log = logging.getLogger("douyin.request")
HTTP_INSTRUMENTATION = "douyin.http"


def http_span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The HTTP span's name: the method and the route template (`GET /douyin/feed/`), never a raw path."""
    method = str(scope.get("method") or "HTTP")
    route = metrics.route_label(str(scope.get("path") or ""))
    if route == metrics.OTHER:
        return method, {}
    return f"{method} {route}", {"http.route": route}


class HttpSpan:
    """The request's SERVER span, named after the route, continuing a client's W3C traceparent.

    The contrib ASGI middleware (`OpenTelemetryMiddleware`) was measured here at about 170 µs a
    request, five times this: it scans the headers once per attribute and per propagator field, parses
    the URL twice, records thirteen attributes (the client's address and user agent among them) and
    feeds duration metrics that /metrics already has. This span carries what a trace view needs: the
    method, route, target path (never the query string: it holds the douyin token), scheme, protocol
    and status; 5xx answers and exceptions mark it failed. Body chunks never get spans of their own.
    """

    def __init__(self, app: ASGIApp, tracer: trace.Tracer) -> None:
        self.app = app
        self._tracer = tracer
        # The headers the propagators read (traceparent, tracestate, baggage): only these are decoded.
        self._propagated = frozenset(
            name.lower().encode("latin-1") for name in propagate.get_global_textmap().fields
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name, attributes = http_span_details(scope)
        attributes["http.method"] = str(scope.get("method") or "")
        attributes["http.scheme"] = str(scope.get("scheme") or "http")
        attributes["http.target"] = f"{scope.get('root_path', '')}{scope.get('path', '')}"
        attributes["http.flavor"] = str(scope.get("http_version") or "")
        carried = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope["headers"]
            if key in self._propagated
        }
        # No trace context from the client: a new trace, from the (empty) current context.
        parent = propagate.extract(carried) if carried else None
        with self._tracer.start_as_current_span(
            name, context=parent, kind=trace.SpanKind.SERVER, attributes=attributes
        ) as span:

            async def send_traced(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.status_code", status)
                    if status >= 500:
                        span.set_status(trace.Status(trace.StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, send_traced)


def traced_app(app: ASGIApp) -> ASGIApp:
    """`app` inside the HTTP span; only when tracing is on."""
    if not telemetry.STATE.enabled:
        return app
    return HttpSpan(app, telemetry.tracer_for(HTTP_INSTRUMENTATION))


def _outcome(state: dict[str, Any], status: int) -> str:
    outcome = state.get("outcome")
    if isinstance(outcome, str):
        return outcome
    return "ok" if status < 400 else "error"


class RequestObserver:
    """Counts and times every HTTP request by route template, and writes its request line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        state: dict[str, Any] = scope.get("state") or {}
        route = metrics.route_label(str(scope.get("path") or ""))
        method = str(scope.get("method") or "")
        outcome = _outcome(state, status)
        metrics.child(metrics.HTTP_REQUESTS, route, method, str(status), outcome).inc()
        metrics.child(metrics.HTTP_DURATION, route).observe(seconds)
        if not log.isEnabledFor(logging.INFO):
            return
        duration_ms = round(seconds * 1000, 2)
        operation = state.get("operation")
        log.info(
            "%s %s %d %s %.2f ms",
            method,
            route if operation is None else f"{route} {operation}",
            status,
            outcome,
            duration_ms,
            extra={
                "request_id": state.get("request_id"),
                "method": method,
                "route": route,
                "operation": operation,
                "status": status,
                "outcome": outcome,
                "duration_ms": duration_ms,
                "viewer_id": state.get("viewer_id"),
            },
        )
