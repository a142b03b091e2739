"""The ASGI app serving `/graphql` (HTTP, GraphiQL, and WebSocket: see `schema.sockets`).

Transport errors (bad JSON, a mutation over GET, a batch, a missing multipart file, a body over its limit)
come back as JSON with a code, never as Strawberry's or Starlette's plain-text answers. Responses are
encoded with orjson.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import orjson
from cross_web import HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types.unset import UnsetType

from core.body_limit import BodyLimit, is_body_too_large, too_large_message, upload_or_body_limit
from resolvers.errors import ErrorCode
from schema import schema
from schema.context import Context, build_context
from schema.graphiql import graphiql_page
from schema.sockets import LegacyWSHandler, SocketContext, TransportWSHandler, authenticate
from storage.services import Services

_BEARER = "bearer "


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
            response = await self.run(request)
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
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.ide_page is None:
            return await super().render_graphql_ide(request)
        return graphiql_page(self.ide_page)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        if isinstance(request, WebSocket):
            return await socket_context(self.services, request, bearer_token(request))
        return await build_context(self.services, request=request, token=bearer_token(request))

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        if isinstance(context, SocketContext):
            authenticate(context)
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


async def socket_context(services: Services, websocket: WebSocket, token: str | None) -> SocketContext:
    """Anonymous until `connection_init` signs the connection in (`schema.sockets.authenticate`)."""
    context = SocketContext.of(await build_context(services, request=None, token=None), token)
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
