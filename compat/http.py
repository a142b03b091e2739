"""Starlette endpoints for the route table: read parameters, start a schema session, run the handler,
answer.

Every outcome is HTTP 200 JSON with the douyin envelope, including malformed requests, bodies over their
limit and unexpected exceptions (logged, answered as "internal error").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
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
from schema.executor import Executor, OperationFailedError, PreparedDocument

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


async def _read_form(request: Request, spec: RouteSpec) -> FormData | None:
    """The form body of a POST (urlencoded or multipart); None when there is none."""
    if not _reads_form(request):
        return None
    try:
        if spec.upload:
            # Files are spooled to disk by the parser, never held whole in memory.
            return await request.form(max_files=1, max_fields=32)
        return await request.form(max_files=0, max_fields=64)
    except Exception as error:  # a malformed or oversized body is the client's mistake, answered as such
        if is_body_too_large(error):
            raise bad_parameter(too_large_message(request.scope)) from None
        detail = getattr(error, "detail", None) or getattr(error, "message", None) or "malformed"
        raise bad_parameter(f"could not read the form body: {detail}") from error


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
        form = await _read_form(request, spec)
        try:
            now = executor.clock.now_ms()
            params = parse_params(spec.params, _sources(request, form, spec), settings, now)
            token: Any = params.get("token")
            try:
                session = await executor.start(request, token or None)
            except OperationFailedError as refused:  # the request-wide rate limit
                raise compat_error(refused) from None
            try:
                return success(await spec.handler(Call(params, session, settings, document, now)))
            except CompatError as error:
                if error.code == "UNAUTHENTICATED" and session.token_rejected:
                    # The schema only knows there is no viewer; the session knows why.
                    raise CompatError("UNAUTHENTICATED", INVALID_TOKEN) from error
                raise
        finally:
            if form is not None:
                await form.close()

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
