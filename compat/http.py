"""Starlette endpoints for the route table: read parameters, build the context, run the handler, answer.

Every outcome is HTTP 200 JSON with the douyin envelope, including malformed requests and unexpected
exceptions (logged, answered as "internal error").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import strawberry
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from compat.call import Call
from compat.documents import OperationDocument
from compat.envelope import CompatError, bad_parameter, failure, success
from compat.params import ParamSources, RawValue, parse_params
from compat.routes import RouteSpec
from schema.context import build_context
from storage.models import now_ms
from storage.services import Services

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# Non-upload routes take a few short fields; anything bigger is not a douyin request.
FORM_BODY_MAX_BYTES = MIB
INVALID_TOKEN = "User doesn't exist: the token is invalid or expired, sign in again"
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
Endpoint = Callable[[Request], Awaitable[Response]]


class BodyTooLargeError(Exception):
    pass


def _limited(request: Request, limit: int) -> Request:
    """The request with a body that fails once more than `limit` bytes arrive (chunked bodies too)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    received = 0
    upstream: Receive = request.receive

    async def receive() -> Message:
        nonlocal received
        message = await upstream()
        received += len(message.get("body", b""))
        if received > limit:
            raise BodyTooLargeError
        return message

    return Request(request.scope, receive)


def _too_large_message(spec: RouteSpec, limit: int) -> str:
    if spec.upload:
        return f"the upload is too large: at most {limit // MIB} MiB"
    return f"the request body is too large: at most {limit // MIB} MiB"


async def _read_form(request: Request, spec: RouteSpec, upload_max_bytes: int) -> FormData | None:
    """The form body of a POST (urlencoded or multipart); None when there is none. Bodies of other
    methods are ignored, as the official tests send form fields on GETs."""
    if request.method != "POST":
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in FORM_CONTENT_TYPES:
        return None
    limit = upload_max_bytes + MIB if spec.upload else FORM_BODY_MAX_BYTES
    try:
        limited = _limited(request, limit)
        if spec.upload:
            # Files are spooled to disk by the parser, never held whole in memory.
            return await limited.form(max_files=1, max_fields=32)
        return await limited.form(max_files=0, max_fields=64)
    except BodyTooLargeError:
        raise bad_parameter(_too_large_message(spec, limit)) from None
    except Exception as error:  # a malformed body is the client's mistake, answered as such
        detail = getattr(error, "detail", None) or getattr(error, "message", None) or "malformed"
        raise bad_parameter(f"could not read the form body: {detail}") from error


def _sources(request: Request, form: FormData | None, spec: RouteSpec) -> ParamSources:
    query: Mapping[str, RawValue] = request.query_params
    if form is None:
        return ParamSources([query])
    return ParamSources([form, query] if spec.form_first else [query, form])


def endpoint_for(
    spec: RouteSpec, services: Services, schema: strawberry.Schema, document: OperationDocument
) -> Endpoint:
    settings = services.settings

    async def serve(request: Request) -> Response:
        if request.method not in spec.methods and not (request.method == "HEAD" and "GET" in spec.methods):
            raise bad_parameter(f"use {' or '.join(spec.methods)} for this route, not {request.method}")
        form = await _read_form(request, spec, settings.upload_max_bytes)
        try:
            now = now_ms()
            params = parse_params(spec.params, _sources(request, form, spec), settings, now)
            token: Any = params.get("token")
            context = await build_context(services, request=request, token=token or None)
            call = Call(params, context, settings, schema, document, now)
            try:
                return success(await spec.handler(call))
            except CompatError as error:
                if error.code == "UNAUTHENTICATED" and token and context.viewer_id is None:
                    # The schema only knows there is no viewer; here we know why.
                    raise CompatError("UNAUTHENTICATED", INVALID_TOKEN) from error
                raise
        finally:
            if form is not None:
                await form.close()

    async def endpoint(request: Request) -> Response:
        try:
            return await serve(request)
        except CompatError as error:
            return failure(error, spec.failure_defaults)
        except Exception:
            request_id = (request.scope.get("state") or {}).get("request_id", "-")
            log.exception("douyin route %s failed in request %s", spec.path, request_id)
            return failure(CompatError("INTERNAL_SERVER_ERROR", "internal error"), spec.failure_defaults)

    return endpoint
