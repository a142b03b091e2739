"""The one domain exception. Its code becomes GraphQL's `extensions.code` and, through compat, the REST
`status_code`; the message is short, human and safe to show."""

from __future__ import annotations

import math
from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    # Overload: no database connection came free in time; a query ran past its time budget.
    SERVICE_BUSY = "SERVICE_BUSY"
    TIMEOUT = "TIMEOUT"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class DomainError(Exception):
    def __init__(self, code: ErrorCode, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Whole seconds after which the same request may succeed (RATE_LIMITED); None: not a matter of time.
        self.retry_after = retry_after


def bad_input(message: str) -> DomainError:
    return DomainError(ErrorCode.BAD_USER_INPUT, message)


def not_found(message: str) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, message)


SIGN_IN_FIRST = "Sign in first"


def unauthenticated(message: str = SIGN_IN_FIRST) -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, message)


def forbidden(message: str) -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message)


def rate_limited(what: str, wait_seconds: float) -> DomainError:
    """RATE_LIMITED, telling when to try again (whole seconds, at least one)."""
    seconds = max(1, math.ceil(wait_seconds))
    unit = "second" if seconds == 1 else "seconds"
    return DomainError(ErrorCode.RATE_LIMITED, f"{what}; try again in {seconds} {unit}", retry_after=seconds)
