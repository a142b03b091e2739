"""The ASGI app serving `/graphql` (HTTP, GraphiQL).

Transport errors (bad JSON, a mutation over GET, a batch, a missing multipart file) come back as JSON
with a code, never as Strawberry's plain-text 400s. Responses are encoded with orjson.
"""

from __future__ import annotations

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from resolvers.errors import ErrorCode
from schema import schema
from schema.context import Context, build_context
from storage.services import Services

_BEARER = "bearer "


def bearer_token(request: Request | WebSocket) -> str | None:
    header = request.headers.get("authorization", "")
    if header[: len(_BEARER)].lower() != _BEARER:
        return None
    return header[len(_BEARER) :].strip() or None


def transport_error(message: str, status_code: int = 400) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": ErrorCode.BAD_USER_INPUT.value}}]}
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, services: Services, **options: object) -> None:
        super().__init__(schema, **options)  # type: ignore[arg-type]
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            status_code = error.status_code if error.status_code in (404, 405) else 400
            response = transport_error(error.reason, status_code)
        finally:
            # Uploaded files spooled to disk are released now, also when the operation failed before
            # any resolver saw them (a bad variable, a validation error).
            await request.close()
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        http_request = request if isinstance(request, Request) else None
        return await build_context(self.services, request=http_request, token=bearer_token(request))

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def create_graphql_app(services: Services) -> GraphQLView:
    return GraphQLView(
        services,
        graphql_ide="graphiql" if services.settings.graphiql else None,
        multipart_uploads_enabled=True,
    )


__all__ = ["GraphQLView", "bearer_token", "create_graphql_app"]
