"""Starlette endpoints for the route table: read parameters, start a schema session, run the handler,
answer.

Every outcome is HTTP 200 JSON with the douyin envelope, including malformed requests, bodies over their
limit and unexpected exceptions (logged, answered as "internal error").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from compat.call import Call
from compat.envelope import CompatError, bad_parameter, failure, success
from compat.execution import compat_error
from compat.params import ParamSources, RawValue, parse_params
from compat.routes import RouteSpec
from core.body_limit import (
    FORM_ALLOWANCE_BYTES,
    MIB,
    BodyLimit,
    Limit,
    body_too_large,
    is_body_too_large,
    too_large_message,
    upload_too_large,
)
from core.multipart import FormError
from schema.executor import Executor, OperationFailedError, PreparedDocument, Session

log = logging.getLogger(__name__)

# Non-upload routes take a few short fields; anything bigger is not a douyin request.
FORM_BODY_MAX_BYTES = MIB
INVALID_TOKEN = "User doesn't exist: the token is invalid or expired, sign in again"
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
Endpoint = Callable[[Request], Awaitable[Response]]


def _content_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _reads_form(request: Request) -> bool:
    """Only POSTs have their form read: the official tests send form fields on GETs, ignored."""
    return request.method == "POST" and _content_type(request.headers) in FORM_CONTENT_TYPES


StartSession = Callable[[str | None], Awaitable[Session]]


def _is_multipart(request: Request) -> bool:
    return _content_type(request.headers) == "multipart/form-data"


def _upload_admission(request: Request, start: StartSession) -> Callable[[FormData], Awaitable[Session]]:
    """When the file part starts: a token among the fields before it (or in the query) must name a user,
    or the upload is refused before a byte of it is stored (an empty one too); with no token yet, it is
    admitted for its address alone (the token may still come after the file, and is checked then)."""

    async def admit(fields: FormData) -> Session:
        token = ParamSources([fields, request.query_params]).get("token")
        if token == "":
            raise CompatError("UNAUTHENTICATED", "token is required: sign in first")
        if not isinstance(token, str):
            return await start(None)
        session = await start(token)
        if session.context.viewer_id is None:
            raise CompatError("UNAUTHENTICATED", INVALID_TOKEN)
        return session

    return admit


async def _read_form(
    request: Request, spec: RouteSpec, executor: Executor, held: AsyncExitStack, start: StartSession
) -> FormData | None:
    """The form body of a POST (urlencoded or multipart), open until `held` closes; None when there is
    none. An upload's file is written once, straight into scratch space, and only once admitted."""
    if not _reads_form(request):
        return None
    try:
        if spec.upload and _is_multipart(request):
            return await held.enter_async_context(
                executor.received_form(request, _upload_admission(request, start))
            )
        form = await request.form(max_files=1 if spec.upload else 0, max_fields=64)
    except CompatError:
        raise
    except OperationFailedError as refused:  # no upload slot for this client, or no room
        raise compat_error(refused) from None
    except FormError as error:
        raise bad_parameter(error.message) from None
    except Exception as error:  # a malformed or oversized body is the client's mistake, answered as such
        if is_body_too_large(error):
            raise bad_parameter(too_large_message(request.scope)) from None
        detail = getattr(error, "detail", None) or getattr(error, "message", None) or "malformed"
        raise bad_parameter(f"could not read the form body: {detail}") from error
    held.push_async_callback(form.close)
    return form


def _sources(request: Request, form: FormData | None, spec: RouteSpec) -> ParamSources:
    query: Mapping[str, RawValue] = request.query_params
    if form is None:
        return ParamSources([query])
    return ParamSources([form, query] if spec.form_first else [query, form])


def endpoint_for(spec: RouteSpec, executor: Executor, document: PreparedDocument) -> Endpoint:
    settings = executor.settings

    async def serve(request: Request) -> Response:
        if request.method not in spec.methods and not (request.method == "HEAD" and "GET" in spec.methods):
            raise bad_parameter(f"use {' or '.join(spec.methods)} for this route, not {request.method}")
        # One session per token: an upload's admission may have started the one the operation runs in.
        sessions: dict[str | None, Session] = {}

        async def start(token: str | None) -> Session:
            if token not in sessions:
                try:
                    sessions[token] = await executor.start(request, token)
                except OperationFailedError as refused:  # the request-wide rate limit
                    raise compat_error(refused) from None
            return sessions[token]

        async with AsyncExitStack() as held:
            form = await _read_form(request, spec, executor, held, start)
            now = executor.clock.now_ms()
            params = parse_params(spec.params, _sources(request, form, spec), settings, now)
            token: Any = params.get("token")
            session = await start(token or None)
            try:
                return success(await spec.handler(Call(params, session, settings, document, now)))
            except CompatError as error:
                if error.code == "UNAUTHENTICATED" and session.token_rejected:
                    # The schema only knows there is no viewer; the session knows why.
                    raise CompatError("UNAUTHENTICATED", INVALID_TOKEN) from error
                raise

    async def endpoint(request: Request) -> Response:
        # The route's outcome, for the request metrics and line (the answer is HTTP 200 either way).
        state = request.scope.setdefault("state", {})
        try:
            response = await serve(request)
        except CompatError as error:
            state["outcome"] = error.code
            return failure(error, spec.failure_defaults)
        except Exception:
            state["outcome"] = "INTERNAL_SERVER_ERROR"
            log.exception("douyin route %s failed in request %s", spec.path, state.get("request_id", "-"))
            return failure(CompatError("INTERNAL_SERVER_ERROR", "internal error"), spec.failure_defaults)
        state["outcome"] = "ok"
        return response

    return endpoint


def limited(app: ASGIApp, spec: RouteSpec, upload_max_bytes: int) -> ASGIApp:
    """The route's app behind its body limit: the upload cap (plus the form around the file) on the
    upload route, FORM_BODY_MAX_BYTES elsewhere; only bodies that are read are limited."""
    if spec.upload:
        limit = Limit(upload_max_bytes + FORM_ALLOWANCE_BYTES, upload_too_large(upload_max_bytes))
    else:
        limit = Limit(FORM_BODY_MAX_BYTES, body_too_large(FORM_BODY_MAX_BYTES))

    def limit_for(scope: Scope) -> Limit | None:
        return limit if _reads_form(Request(scope)) else None

    def refuse(message: str) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        return failure(bad_parameter(message), spec.failure_defaults)

    return BodyLimit(app, limit_for, refuse)
