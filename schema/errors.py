"""The one place where errors get their `extensions.code`.

- `DomainError` raised by a resolver: its code and message (and `retryAfter`, whole seconds, when
  waiting will help: RATE_LIMITED).
- Errors already tagged (the guard-rail rules, the permission classes): unchanged.
- Overload, which is nobody's bug: no database connection came free within the pool's wait
  (SERVICE_BUSY), or the database stopped a read that ran past the statement timeout (TIMEOUT); logged
  as a warning, without a traceback.
- Parse errors, validation errors and bad variables (no resolver involved): BAD_USER_INPUT, except the
  token limit, which graphql-core reports as a syntax error: QUERY_TOO_COMPLEX.
- Anything else is a bug or an outage: masked as INTERNAL_SERVER_ERROR and logged with the request id
  (and the trace id, which the masked error also carries as `extensions.traceId` inside a trace).

Every error is counted by its code.
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from graphql.error import GraphQLSyntaxError

from core import metrics
from core.telemetry import current_trace_id
from resolvers.errors import DomainError, ErrorCode
from storage.timeouts import is_pool_exhausted, is_statement_timeout

log = logging.getLogger("douyin.graphql")

INTERNAL_MESSAGE = "Internal server error"


def _is_token_limit(error: GraphQLError) -> bool:
    return (
        isinstance(error, GraphQLSyntaxError) and "more than" in error.message and "tokens" in error.message
    )


BUSY_MESSAGE = "The server is busy; try again in a moment"
SLOW_MESSAGE = "A database read took too long and was stopped; ask for less or try again later"


def _overload(original: BaseException) -> tuple[ErrorCode, str] | None:
    if is_pool_exhausted(original):
        return ErrorCode.SERVICE_BUSY, BUSY_MESSAGE
    if is_statement_timeout(original):
        return ErrorCode.TIMEOUT, SLOW_MESSAGE
    return None


def _is_client_error(error: GraphQLError) -> bool:
    """Raised before any resolver ran: the document or the variables are wrong."""
    original = error.original_error
    if error.path is not None:
        return False
    return original is None or isinstance(original, GraphQLError | ValueError | TypeError)


def classify(error: GraphQLError, request_id: str) -> None:
    """Sets `extensions.code` (and masks the message when needed) in place."""
    extensions = dict(error.extensions or {})
    original = error.original_error
    if isinstance(original, DomainError):
        extensions["code"] = original.code.value
        if original.retry_after is not None:
            extensions["retryAfter"] = original.retry_after
        error.message = original.message
    elif "code" in extensions:
        pass
    elif original is not None and (overload := _overload(original)) is not None:
        code, message = overload
        log.warning("%s in request %s at %s: %s", code.value, request_id, error.path, type(original).__name__)
        extensions["code"] = code.value
        error.message = message
        error.original_error = None
    elif _is_token_limit(error):
        extensions["code"] = ErrorCode.QUERY_TOO_COMPLEX.value
    elif _is_client_error(error):
        extensions["code"] = ErrorCode.BAD_USER_INPUT.value
    else:
        trace_id = current_trace_id()
        log.error(
            "unexpected error in request %s (trace %s) at %s",
            request_id,
            trace_id or "-",
            error.path,
            exc_info=(type(original), original, original.__traceback__) if original else None,
        )
        extensions["code"] = ErrorCode.INTERNAL_SERVER_ERROR.value
        if trace_id:
            extensions["traceId"] = trace_id
        error.message = INTERNAL_MESSAGE
        error.original_error = None
    error.extensions = extensions
    metrics.GRAPHQL_ERRORS.labels(str(extensions["code"])).inc()


def retry_after_of(errors: list[GraphQLError]) -> int | None:
    """The longest `retryAfter` among classified errors (for an HTTP Retry-After), or None."""
    waits = [wait for error in errors if isinstance(wait := (error.extensions or {}).get("retryAfter"), int)]
    return max(waits) if waits else None
