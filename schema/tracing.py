"""The GraphQL operation, observed: one span for the operation (with its parse and validate steps) and
its metrics, for `/graphql` (a Strawberry extension) and for the douyin routes (`observe_operation`,
used by the executor, which runs prepared documents on graphql-core and so bypasses extensions).

Operation hooks only: no `resolve` hook (Strawberry would then wrap every field resolution, about 3x
slower on large results) and no span per field. Loader batches, SQL and cache calls are children of
the operation span.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphql import GraphQLError
from opentelemetry.trace import Span, Status, StatusCode
from strawberry.extensions import SchemaExtension

from core import metrics, telemetry

_NAME_LIMIT = 100


def span_name(operation_type: str, operation_name: str | None) -> str:
    """`query Feed`; an operation name outside the allow-list is left out (it is an attribute)."""
    label = metrics.operation_label(operation_name)
    if label in (metrics.OTHER, metrics.ANONYMOUS):
        return operation_type
    return f"{operation_type} {label}"


def _attributes(operation_type: str, operation_name: str | None, digest: str) -> dict[str, str]:
    attributes = {"graphql.operation.type": operation_type}
    if operation_name:
        attributes["graphql.operation.name"] = operation_name[:_NAME_LIMIT]
    if digest:
        attributes["graphql.document.sha256"] = digest
    return attributes


def _annotate(span: Span, operation_type: str, operation_name: str | None, digest: str) -> None:
    span.update_name(span_name(operation_type, operation_name))
    span.set_attributes(_attributes(operation_type, operation_name, digest))


def first_code(errors: list[GraphQLError] | None) -> str | None:
    for error in errors or []:
        code = (error.extensions or {}).get("code")
        return code if isinstance(code, str) else "INTERNAL_SERVER_ERROR"
    return None


def record_operation(
    state: dict[str, Any] | None,
    operation_type: str,
    operation_name: str | None,
    outcome: str,
    seconds: float,
) -> None:
    label = metrics.operation_label(operation_name)
    metrics.child(metrics.OPERATIONS, label, operation_type, outcome).inc()
    metrics.child(metrics.OPERATION_DURATION, label).observe(seconds)
    if state is not None:
        # A route running several operations is logged under its first, the one it is named after.
        state.setdefault("operation", label)
        state["outcome"] = outcome


def _request_state(context: object) -> dict[str, Any] | None:
    request = getattr(context, "request", None)
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return None
    state = scope.get("state")
    return state if isinstance(state, dict) else None


class OperationTelemetry(SchemaExtension):
    """For `/graphql`: the operation span (named once the document is parsed) and the metrics."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        context = self.execution_context
        if not telemetry.STATE.enabled:
            yield
        else:
            with telemetry.span("graphql.operation") as span:
                yield
                _annotate(span, self._type(), context.operation_name, self._digest())
                code = first_code(context.pre_execution_errors)
                if code is not None:
                    span.set_status(Status(StatusCode.ERROR, code))
        outcome = first_code(context.pre_execution_errors) or "ok"
        record_operation(
            _request_state(context.context),
            self._type(),
            context.operation_name,
            outcome,
            time.perf_counter() - started,
        )

    def on_parse(self) -> Iterator[None]:
        if not telemetry.STATE.enabled:
            yield
            return
        with telemetry.span("graphql.parse"):
            yield

    def on_validate(self) -> Iterator[None]:
        if not telemetry.STATE.enabled:
            yield
            return
        with telemetry.span("graphql.validate"):
            yield

    def _type(self) -> str:
        try:
            return self.execution_context.operation_type.value
        except Exception:  # no document (it did not parse) or no such operation
            return "unknown"

    def _digest(self) -> str:
        query = self.execution_context.query
        return telemetry.document_digest(query) if query else ""


@contextmanager
def observe_operation(
    state: dict[str, Any] | None, operation_type: str, operation_name: str, digest: str
) -> Iterator[list[str]]:
    """For prepared documents: the span and the metrics around one execution. The caller appends the
    outcome (the first error's code) to the yielded list when the operation fails."""
    started = time.perf_counter()
    failures: list[str] = []
    try:
        if telemetry.STATE.enabled:
            name = span_name(operation_type, operation_name)
            with telemetry.span(name, _attributes(operation_type, operation_name, digest)) as span:
                yield failures
                if failures:
                    span.set_status(Status(StatusCode.ERROR, failures[0]))
        else:
            yield failures
    except BaseException:
        failures.append("INTERNAL_SERVER_ERROR")
        raise
    finally:
        outcome = failures[0] if failures else "ok"
        record_operation(state, operation_type, operation_name, outcome, time.perf_counter() - started)
