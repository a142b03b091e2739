"""Per-request observation: the HTTP span (OpenTelemetry's ASGI middleware, when tracing is on), the
request metrics and the request log line.

Deeper layers leave facts for the line in `scope["state"]`: `viewer_id` (the context), `operation`
(the GraphQL operation run, allow-listed) and `outcome` (ok or the error code; a douyin route answers
HTTP 200 either way).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.trace import Span
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics, telemetry

log = logging.getLogger("douyin.request")


def http_span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The HTTP span's name: the method and the route template (`GET /douyin/feed/`), never a raw path."""
    method = str(scope.get("method") or "HTTP")
    route = metrics.route_label(str(scope.get("path") or ""))
    if route == metrics.OTHER:
        return method, {}
    return f"{method} {route}", {"http.route": route}


def _without_query(span: Span, scope: Scope) -> None:
    """The middleware records the full URL; a query string holds the douyin token, so it is dropped."""
    if span.is_recording() and scope.get("query_string"):
        scheme, (host, port) = scope.get("scheme", "http"), scope.get("server") or ("", 0)
        span.set_attribute(
            "http.url", f"{scheme}://{host}:{port}{scope.get('root_path', '')}{scope.get('path', '')}"
        )


def traced_app(app: ASGIApp) -> ASGIApp:
    """`app` inside the HTTP span, continuing a client's W3C traceparent; only when tracing is on."""
    if not telemetry.STATE.enabled:
        return app
    return OpenTelemetryMiddleware(
        app,
        default_span_details=http_span_details,
        server_request_hook=_without_query,
        tracer_provider=telemetry.STATE.provider,
        exclude_spans=["receive", "send"],
    )


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
        metrics.HTTP_REQUESTS.labels(route, method, str(status), outcome).inc()
        metrics.HTTP_DURATION.labels(route).observe(seconds)
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
