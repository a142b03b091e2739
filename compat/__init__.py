"""The douyin REST routes, each a fixed GraphQL operation executed in-process."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, request_response

from compat.documents import OperationError, load_document
from compat.envelope import CompatError, failure, json_response
from compat.http import Endpoint, endpoint_for, limited
from compat.openapi import openapi_document
from compat.routes import ROUTES, RouteSpec
from schema.executor import DocumentError, Executor

log = logging.getLogger(__name__)

# Every route answers every method itself (a wrong one gets a douyin failure, still HTTP 200 JSON).
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _no_such_route(request: Request) -> Response:
    return failure(CompatError("NOT_FOUND", f"no such route: {request.url.path}"))


def _unavailable(spec: RouteSpec, problem: str) -> Endpoint:
    async def endpoint(_request: Request) -> Response:
        unavailable = CompatError("INTERNAL_SERVER_ERROR", f"{spec.path} is not available on this server")
        return failure(unavailable, spec.failure_defaults)

    log.error("douyin route %s disabled: its operation does not match the schema: %s", spec.path, problem)
    return endpoint


def _endpoint(spec: RouteSpec, executor: Executor) -> Endpoint:
    try:
        loaded = load_document(spec.operation, executor.graphql_schema)
        document = executor.prepare(f"{spec.operation}.graphql", loaded.text)
    except (OperationError, DocumentError) as error:
        # One stale operation must not take the whole server down; the route says it is unavailable and
        # the operation tests fail.
        return _unavailable(spec, str(error))
    return endpoint_for(spec, executor, document)


def douyin_routes(executor: Executor) -> list[BaseRoute]:
    """The routes to mount at /douyin. Every operation is parsed and validated against the schema here,
    once, at start-up."""
    settings = executor.settings
    document = openapi_document(ROUTES, settings)

    async def openapi(_request: Request) -> Response:
        return json_response(document)

    routes: list[BaseRoute] = [Route("/openapi.json", openapi, methods=["GET"])]
    for spec in ROUTES:
        app = limited(request_response(_endpoint(spec, executor)), spec, settings.upload_max_bytes)
        # Both spellings are served directly: a redirect would turn the APK's POST into a GET.
        routes.append(Route(spec.path, app, methods=ANY_METHOD))
        routes.append(Route(spec.path.rstrip("/"), app, methods=ANY_METHOD))
    routes.append(Route("/{rest:path}", _no_such_route, methods=ANY_METHOD))
    return routes
