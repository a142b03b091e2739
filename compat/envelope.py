"""The douyin response envelope: always HTTP 200 JSON with `status_code` (0 = success) and `status_msg`.

Each GraphQL error code has its own stable, non-zero `status_code` so clients can tell failures apart
without reading messages. The table is also published in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

JSON_UTF8 = "application/json; charset=utf-8"
SUCCESS = 0
SUCCESS_MESSAGE = "success"
INTERNAL_ERROR_MESSAGE = "internal error"

# GraphQL `extensions.code` -> douyin `status_code`. UNAUTHENTICATED is 1, the code the official demo and
# the Android app use for a bad token ("User doesn't exist").
STATUS_CODES: Mapping[str, int] = {
    "UNAUTHENTICATED": 1,
    "BAD_USER_INPUT": 2,
    "NOT_FOUND": 3,
    "FORBIDDEN": 4,
    "CONFLICT": 5,
    "RATE_LIMITED": 6,
    "QUERY_TOO_COMPLEX": 7,
    "SERVICE_BUSY": 8,
    "TIMEOUT": 9,
    "INTERNAL_SERVER_ERROR": 500,
}
STATUS_MEANINGS: Mapping[int, str] = {
    0: "success",
    1: "missing, invalid or expired token, or wrong username/password",
    2: "malformed or missing parameter, or input the server refuses (too long, empty, not a video...)",
    3: "the user, video or comment does not exist",
    4: "not allowed (for example deleting someone else's comment)",
    5: "conflict (for example the username is taken)",
    6: "too many requests: wait the seconds status_msg names (also in the Retry-After header)",
    7: "request too large or complex",
    8: "the server is busy (no database connection free in time): try again in a moment",
    9: "the request took too long and was stopped: try again later",
    500: "internal error (details are in the server log only)",
}


class CompatError(Exception):
    """A failure answered as a douyin envelope with a non-zero `status_code`."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code if code in STATUS_CODES else "INTERNAL_SERVER_ERROR"
        self.message = message
        # Whole seconds to wait (RATE_LIMITED): an HTTP Retry-After on the answer.
        self.retry_after = retry_after

    @property
    def status_code(self) -> int:
        return STATUS_CODES[self.code]


def bad_parameter(message: str) -> CompatError:
    return CompatError("BAD_USER_INPUT", message)


def json_response(body: Mapping[str, Any], http_status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=http_status, media_type=JSON_UTF8)


def success(payload: Mapping[str, Any]) -> Response:
    return json_response({"status_code": SUCCESS, "status_msg": SUCCESS_MESSAGE, **payload})


def failure(error: CompatError, defaults: Mapping[str, Any] | None = None) -> Response:
    """`defaults` keep a route's keys present on failure (`token: ""`, empty lists) for strict clients."""
    body: dict[str, Any] = {"status_code": error.status_code, "status_msg": error.message}
    body.update(defaults or {})
    response = json_response(body)
    if error.retry_after is not None:
        # The answer stays HTTP 200 (the APK reads only the envelope); the header is for other clients.
        response.headers["Retry-After"] = str(error.retry_after)
    return response
