"""The ASGI app serving `/graphql` (HTTP, GraphiQL, and WebSocket: see `schema.sockets`).

Transport errors (bad JSON, a mutation over GET, a batch, a missing multipart file, a body over its limit)
come back as JSON with a code, never as Strawberry's or Starlette's plain-text answers. So do requests
refused as a whole before their operation runs: over the request-wide rate limit (429, Retry-After), an
upload from nobody signed in (401, before its body is read) or without an upload slot (429), a body too
slow to arrive (408). Uploads are read by `schema.uploads`, not by Strawberry. Responses are encoded
with orjson.

The usual request, one query or mutation POSTed as JSON, is answered directly: its document, parsed and
validated once (`Executor.prepare_request`), runs on graphql-core with the request's context, and the
answer is what the Strawberry view would give. Strawberry's per-request machinery (its request adapters
and the extension hooks around each step) cost several times the execution of a small operation. Every
other request (GET, multipart uploads, batches, streamed subscriptions, documents that do not parse or
validate, requests while tracing is on, whose spans the extensions make) goes through the view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from core import metrics, telemetry
from core.body_limit import BodyLimit, is_body_too_large, too_large_message, upload_or_body_limit
from core.multipart import FormError
from resolvers.errors import DomainError, ErrorCode, unauthenticated
from schema import schema
from schema.admission import admit
from schema.context import Context, build_context
from schema.cost import CostLimit, estimate_nodes
from schema.errors import retry_after_of
from schema.executor import Executor, Session
from schema.graphiql import graphiql_page
from schema.guards import GuardRails
from schema.sockets import LegacyWSHandler, SocketContext, TransportWSHandler, authenticate
from schema.tracing import OperationTelemetry, first_code, observe_operation
from schema.uploads import received_form
from storage.services import Services

_BEARER = "bearer "
_BUSY = "service_busy"
RETRY_AFTER_SECONDS = 1


def _is_busy(error: GraphQLError) -> bool:
    return (error.extensions or {}).get("code") == ErrorCode.SERVICE_BUSY.value


# What the direct path does in place of the schema's extensions: the guard rails (in the rules of
# `Executor.prepare_request`), the parse and validation caches (its cache) and the operation's metrics
# (`observe_operation`), and the cost limit (checked before it executes; an operation over it goes to the
# view, which refuses it). With any other extension on the schema, every request goes through the view.
_REPLACED_EXTENSIONS = frozenset({GuardRails, ParserCache, ValidationCache, CostLimit, OperationTelemetry})
_JSON = "application/json"


def bearer_token(request: Request | WebSocket) -> str | None:
    header = request.headers.get("authorization", "")
    if header[: len(_BEARER)].lower() != _BEARER:
        return None
    return header[len(_BEARER) :].strip() or None


def _bad_input(message: str) -> dict[str, object]:
    return {"message": message, "extensions": {"code": ErrorCode.BAD_USER_INPUT.value}}


def transport_error(message: str, status_code: int = 400) -> Response:
    body = {"errors": [_bad_input(message)]}
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


def body_too_large_error(message: str) -> Response:
    body = {"data": None, "errors": [_bad_input(message)]}
    # The unread rest of the body stays on the socket: the connection cannot be reused.
    headers = {"connection": "close"}
    return Response(orjson.dumps(body), status_code=413, media_type="application/json", headers=headers)


def _is_upload(request: Request) -> bool:
    return request.method == "POST" and request.headers.get("content-type", "").lower().startswith(
        "multipart/"
    )


def refused(error: DomainError, *, close: bool = False) -> Response:
    """A request refused as a whole, before its operation ran: 429 for RATE_LIMITED (with Retry-After),
    401 for UNAUTHENTICATED. `close`: the body was not read, so the connection cannot be reused."""
    extensions: dict[str, object] = {"code": error.code.value}
    headers = {"connection": "close"} if close else {}
    if error.retry_after is not None:
        extensions["retryAfter"] = error.retry_after
        headers["Retry-After"] = str(error.retry_after)
    metrics.GRAPHQL_ERRORS.labels(error.code.value).inc()
    body = {"data": None, "errors": [{"message": error.message, "extensions": extensions}]}
    status = {ErrorCode.RATE_LIMITED: 429, ErrorCode.UNAUTHENTICATED: 401}.get(error.code, 400)
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


class TextFrameAdapter(ASGIWebSocketAdapter):
    """Both subscription protocols carry JSON in text frames: a browser's graphql-ws client cannot read
    the binary frames Strawberry sends when `encode_json` gives bytes."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class GraphQLView(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = TextFrameAdapter

    def __init__(self, services: Services, ide_page: Path | None = None, **options: object) -> None:
        super().__init__(schema, **options)  # type: ignore[arg-type]
        self.services = services
        self.executor = Executor(services)
        self.direct = set(schema.extensions) <= _REPLACED_EXTENSIONS
        self.ide_page = ide_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            sockets_open = self.services.fanout.metrics.sockets_open
            sockets_open.inc()
            try:
                await super().__call__(scope, receive, send)
            finally:
                sockets_open.dec()
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            if _is_upload(request):
                response = await self._run_upload(request)
            else:
                direct = await self._answer_directly(request) if self.direct else None
                response = direct if direct is not None else await self.run(request)
        except DomainError as error:  # refused before the operation ran (a rate limit, no upload slot)
            response = refused(error, close=_is_upload(request))
        except FormError as error:
            if error.too_large:
                response = body_too_large_error(error.message)
            else:
                # The unread rest of the body stays on the socket: the connection cannot be reused.
                response = transport_error(error.message, 408 if error.timed_out else 400)
                response.headers["connection"] = "close"
        except HTTPException as error:
            status_code = error.status_code if error.status_code in (404, 405) else 400
            response = transport_error(error.reason, status_code)
        except StarletteHTTPException as error:  # raised while Starlette reads the body
            if is_body_too_large(error):
                response = body_too_large_error(too_large_message(scope))
            else:
                response = transport_error(error.detail, 400)
        finally:
            # Uploaded files spooled to disk are released now, also when the operation failed before
            # any resolver saw them (a bad variable, a validation error).
            await request.close()
        if scope.get("state", {}).get(_BUSY):
            # Nothing was answered because the server is busy: say so to clients and load balancers.
            response.status_code = 503
            response.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
        retry_after = request.scope.get("state", {}).get("retry_after")
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        await response(scope, receive, send)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.data is None and result.errors and all(_is_busy(error) for error in result.errors):
            request.scope.setdefault("state", {})[_BUSY] = True
        return await super().process_result(request, result)

    async def _answer_directly(self, request: Request) -> Response | None:
        """The answer to one query or mutation POSTed as JSON; None for any other request (the view
        answers it, from the body already read)."""
        if request.method != "POST" or telemetry.STATE.enabled:
            return None
        headers = request.headers
        content_type = headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != _JSON:
            return None
        accept = headers.get("accept")
        if accept and self._get_stream_transport_from_headers({"accept": accept}) is not None:
            return None
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        operation = _single_operation(data)
        if operation is None:
            return None
        text, variables, operation_name = operation
        document = self.executor.prepare_request(text)
        if document is None:
            return None
        definition = document.operation(operation_name)
        if definition is None or definition.operation.value not in ("query", "mutation"):
            return None
        settings = self.services.settings
        estimate = estimate_nodes(
            schema._schema, document.node, operation_name, variables, settings.max_page_size
        )
        if estimate > settings.max_query_cost:
            return None  # the view refuses it, with the cost limit's error
        operation_type = definition.operation.value
        name = operation_name or (definition.name.value if definition.name else "")
        context = await build_context(self.services, request=request, token=bearer_token(request))
        await admit(context)
        session = Session(context=context, token_given=False)
        state = request.scope.setdefault("state", {})
        with observe_operation(state, operation_type, name, document.digest) as failures:
            result = await session.execute(document.node, operation_name, variables)
            code = first_code(result.errors)
            if code is not None:
                failures.append(code)
        retry_after = retry_after_of(result.errors or [])
        if retry_after is not None:
            state["retry_after"] = retry_after  # the Retry-After header, as `DouyinSchema` sets it
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        if result.data is None and result.errors and all(_is_busy(error) for error in result.errors):
            # Nothing was answered because the server is busy: say so to clients and load balancers.
            return Response(
                orjson.dumps(body),
                status_code=503,
                media_type=_JSON,
                headers={"retry-after": str(RETRY_AFTER_SECONDS)},
            )
        return Response(orjson.dumps(body), media_type=_JSON)

    async def _run_upload(self, request: Request) -> Response:
        """A multipart request (an upload): refused before its body is read unless a signed-in viewer
        sends it and has a slot for it; its file written once, straight into scratch space."""
        context = await build_context(self.services, request=request, token=bearer_token(request))
        await admit(context)
        if context.viewer_id is None:
            return refused(unauthenticated("Sign in first: only a signed-in viewer may upload"), close=True)

        async def admitted(_fields: FormData) -> Context:
            return context

        async with received_form(request, self.services, admitted) as form:
            # Strawberry reads the form through `request.form()`, which answers the one read here.
            request._form = form
            return await self.run(request, context=context)

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.ide_page is None:
            return await super().render_graphql_ide(request)
        return graphiql_page(self.ide_page)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        if isinstance(request, WebSocket):
            return await socket_context(self.services, request, bearer_token(request))
        context = await build_context(self.services, request=request, token=bearer_token(request))
        await admit(context)
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        if isinstance(context, SocketContext):
            await authenticate(context)
        return UnsetType()  # a plain connection_ack

    def decode_json(self, data: str | bytes) -> object:
        """Bad JSON, invalid UTF-8 and nesting too deep to decode are refused as bad JSON (never a
        RecursionError); so is JSON that is not an operation (a batch is refused as such later)."""
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            # JSON allows escapes of lone surrogates, which orjson refuses: those reach the input checks.
            try:
                decoded = json.loads(data)
            except (RecursionError, UnicodeDecodeError) as error:
                raise HTTPException(400, "Unable to parse request body as JSON") from error
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "The request body must be a JSON object with a `query`")
        return decoded

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def _single_operation(data: object) -> tuple[str, dict[str, Any] | None, str | None] | None:
    """(query, variables, operationName) of a body holding one operation with a document and nothing
    else the view would have to look at (extensions); None otherwise."""
    if not isinstance(data, dict):
        return None
    text, variables, operation_name = data.get("query"), data.get("variables"), data.get("operationName")
    if not isinstance(text, str) or data.get("extensions") is not None:
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    if operation_name is not None and not isinstance(operation_name, str):
        return None
    return text, variables, operation_name


async def socket_context(services: Services, websocket: WebSocket, token: str | None) -> SocketContext:
    """Anonymous until `connection_init` signs the connection in (`schema.sockets.authenticate`)."""
    context = SocketContext.of(await build_context(services, request=None, token=None), token)
    context.client_address = websocket.client.host if websocket.client is not None else None
    if not services.settings.public_base_url:
        scheme = "https" if websocket.url.scheme == "wss" else "http"
        context.base_url = f"{scheme}://{websocket.url.netloc}"
    return context


def create_graphql_app(services: Services, ide_page: Path | None = None) -> ASGIApp:
    """The view behind its body limit: one upload at the cap for multipart requests, the small JSON
    limit for anything else. `ide_page`: the GraphiQL page served from this origin (else Strawberry's,
    which loads GraphiQL from a CDN)."""
    settings = services.settings
    view = GraphQLView(
        services,
        ide_page,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        multipart_uploads_enabled=True,
        # WebSocket: browsers on other origins only when CORS allows them; legacy graphql-ws keep-alives.
        allowed_origins=settings.cors_origin_list,
        keep_alive=settings.ws_ping_interval_seconds > 0,
        keep_alive_interval=settings.ws_ping_interval_seconds or None,
        connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
        max_subscriptions_per_connection=settings.subscriptions_per_user,
    )
    limit_for = upload_or_body_limit(settings.upload_max_bytes, settings.max_request_body_bytes)
    return BodyLimit(view, limit_for, body_too_large_error)


__all__ = ["GraphQLView", "bearer_token", "create_graphql_app"]
