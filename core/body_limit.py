"""HTTP request body limits: one implementation for every face, on Starlette's own body limit.

`BodyLimit` wraps an ASGI app and gives each request the limit its kind allows (`limit_for`): a multipart
upload one file at the upload cap plus the form around it, anything else (read whole into memory) a small
limit. A body declared over its limit is refused at once, before any of it is read; an undeclared
(chunked) one as soon as the bytes received pass it: Starlette then raises an HTTP 413 from `receive`,
which each face turns into its own answer (`/graphql` a JSON error, the douyin routes their envelope).
The message names the limit the client can act on (the upload cap, not the cap plus the form allowance),
in one unit.

Imports nothing from the project's layers: every face uses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.types import ASGIApp, Receive, Scope, Send

KIB = 1024
MIB = 1024 * KIB
# Multipart framing and the other form fields on top of the file itself.
FORM_ALLOWANCE_BYTES = MIB
_SCOPE_KEY = "douyin.body_limit"


def size_text(size: int) -> str:
    """Exact, in the largest binary unit that divides it (`200 MiB`, `1536 KiB`, `1000 bytes`)."""
    if size and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} bytes"


def upload_too_large(upload_max_bytes: int) -> str:
    return f"the upload is too large: at most {size_text(upload_max_bytes)}"


def body_too_large(max_bytes: int) -> str:
    return f"the request body is too large: at most {size_text(max_bytes)}"


@dataclass(frozen=True, slots=True)
class Limit:
    max_bytes: int
    message: str  # what the client is told when the body passes `max_bytes`


def upload_or_body_limit(upload_max_bytes: int, other_max_bytes: int) -> Callable[[Scope], Limit]:
    """Multipart bodies carry an upload; any other body is read whole into memory."""
    upload = Limit(upload_max_bytes + FORM_ALLOWANCE_BYTES, upload_too_large(upload_max_bytes))
    other = Limit(other_max_bytes, body_too_large(other_max_bytes))

    def limit_for(scope: Scope) -> Limit:
        content_type = Headers(scope=scope).get("content-type", "").lower()
        return upload if content_type.startswith("multipart/") else other

    return limit_for


def is_body_too_large(error: BaseException) -> bool:
    return isinstance(error, HTTPException) and error.status_code == 413


def too_large_message(scope: Scope) -> str:
    """The message of the limit in force for this request (set by `BodyLimit`)."""
    limit: Limit | None = scope.get(_SCOPE_KEY)
    return limit.message if limit is not None else "the request body is too large"


def declared_length(scope: Scope) -> int | None:
    declared = Headers(scope=scope).get("content-length", "")
    return int(declared) if declared.isdigit() else None


class BodyLimit:
    """`limit_for(scope)` says the request's limit, or None when the app never reads the body.
    `refuse(message)` answers a body declared over its limit without calling the app at all."""

    def __init__(
        self,
        app: ASGIApp,
        limit_for: Callable[[Scope], Limit | None],
        refuse: Callable[[str], Callable[[Scope, Receive, Send], Awaitable[None]]],
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        scope[_SCOPE_KEY] = limit
        declared = declared_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await self.refuse(limit.message)(scope, receive, send)
            return
        await RequestBodyLimitResponder(self.app, limit.max_bytes)(scope, receive, send)
