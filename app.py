"""Builds the Starlette application: `create_app(settings)`."""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute

from compat import douyin_routes
from compat.routes import ROUTES
from core import metrics, telemetry
from core.consul import registration_from
from core.going_away import intercept_sigterm
from core.observe import RequestObserver, traced_app
from core.open_sockets import OpenSockets, OpenSocketsMiddleware
from core.read_timeouts import BodyReadTimeout
from core.readiness import Part, Readiness
from core.request_ids import RequestIdMiddleware
from core.site_files import SiteFiles
from resolvers.publishing import remove_stale_scratch
from schema.executor import Executor
from schema.http import create_graphql_app
from settings import Settings
from storage.objects import IMMUTABLE, LocalObjectStore, ObjectStoreError, content_type_for
from storage.services import Services

log = logging.getLogger("douyin")

ASSETS_DIR = Path(__file__).resolve().parent / "storage" / "assets"
# The built web client (sources in web/, bundle committed); GraphiQL's page is part of it.
WEB_DIST = Path(__file__).resolve().parent / "web" / "dist"
GRAPHIQL_PAGE = WEB_DIST / "graphiql.html"


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Which parts answer: names and ok/degraded/failed only (hosts, ports and driver messages are for
    the log, not for whoever can reach this route). 503 only when the database fails: without the cache
    or the object store the service still answers (in-process cache; no uploads)."""
    if request.app.state.draining:
        # Going away (SIGTERM): still serving, but load balancers should send nothing new.
        return JSONResponse({"status": "draining", "checks": {}, "failed": []}, status_code=503)
    readiness: Readiness = request.app.state.readiness
    report = await readiness.check()
    body = {"status": report.status, "checks": report.checks, "failed": report.failed}
    return JSONResponse(body, status_code=200 if report.ready else 503)


def _readiness(services: Services) -> Readiness:
    parts = [
        Part("database", services.db.ping, required=True),
        Part("cache", services.cache.ping, required=False),
        Part("objects", services.objects.ping, required=False),
    ]
    return Readiness(parts, services.settings.readiness_timeout_seconds)


def _file_response(path: Path, cache_control: str) -> Response:
    if not path.is_file():
        return JSONResponse({"error": "not found"}, status_code=404)
    headers = {"Cache-Control": cache_control}
    return FileResponse(path, media_type=content_type_for(path.name), headers=headers)


async def media_file(request: Request) -> Response:
    """Local-disk media, with Range requests (206) so players can seek."""
    store = request.app.state.services.objects
    if not isinstance(store, LocalObjectStore):
        return JSONResponse({"error": "not found"}, status_code=404)
    try:
        path = store.path_of(request.path_params["key"])
    except ObjectStoreError:
        return JSONResponse({"error": "not found"}, status_code=404)
    return _file_response(path, IMMUTABLE)


async def asset_file(request: Request) -> Response:
    name = request.path_params["name"]
    path = ASSETS_DIR / name
    if "/" in name or path.parent != ASSETS_DIR:
        return JSONResponse({"error": "not found"}, status_code=404)
    return _file_response(path, "public, max-age=86400")


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def _metrics_allowed(request: Request, settings: Settings) -> bool:
    if settings.metrics_access == "loopback":
        return request.client is not None and request.client.host in LOOPBACK
    expected = f"Bearer {settings.metrics_token}".encode()
    return hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)


async def metrics_page(request: Request) -> Response:
    """Prometheus text format; access as METRICS_ACCESS says (off: there is no such page)."""
    settings: Settings = request.app.state.services.settings
    if settings.metrics_access == "off":
        return JSONResponse({"error": "not found"}, status_code=404)
    if not _metrics_allowed(request, settings):
        return JSONResponse({"error": "forbidden"}, status_code=403)
    body = await asyncio.to_thread(metrics.render, settings.prometheus_multiproc_dir)
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST)


def _allow_metric_labels(settings: Settings) -> None:
    exact = {"/", "/healthz", "/readyz", "/graphql", "/metrics", "/douyin/openapi.json"}
    metrics.allow_routes(
        exact | {f"/douyin{spec.path}" for spec in ROUTES},
        prefixes=[("/media/", "/media/{key}"), ("/assets/", "/assets/{name}"), ("/app/", "/app/{file}")],
    )
    metrics.allow_operations(settings.metrics_operation_list)


def _middleware(settings: Settings, observed: bool = True) -> list[Middleware]:
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(BodyReadTimeout, timeout_seconds=settings.body_read_timeout_seconds),
    ]
    if observed:
        # The HTTP span (when tracing is on) outermost, so that everything below, the request line
        # included, belongs to the trace.
        middleware = [Middleware(traced_app), *middleware, Middleware(RequestObserver)]
    if settings.cors_origin_list:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origin_list,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID"],
                max_age=600,
            )
        )
    return middleware


def _freeze_start_up_objects() -> None:
    """What start-up built (modules, the schema and its types, the prepared documents) lives as long
    as the process: moved out of the collector's generations, a full collection no longer walks it,
    and those collections stop being the slowest requests' pause. Only for a server that owns its
    process (tests share theirs)."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None, services: Services | None = None, *, observed: bool = True
) -> Starlette:
    """The whole server. Pass `services` to share already-open resources (tests); else they are opened
    from `settings` by the lifespan and closed when it ends. `observed=False` builds it without the
    request metrics, request line and spans (the benchmark's baseline)."""
    settings = settings or (services.settings if services else Settings())
    owned = services is None
    # Before the services open: the database and Redis clients are instrumented as they are created.
    tracer_provider = telemetry.configure(settings.tracing_config) if observed else None
    _allow_metric_labels(settings)
    state = services or Services.open(settings)
    sockets = OpenSockets()
    registration = registration_from(settings)

    async def go_away() -> None:
        """Between SIGTERM and uvicorn's shutdown (core/going_away.py)."""
        app.state.draining = True
        if registration is not None:
            await registration.deregister()
        await asyncio.sleep(settings.shutdown_drain_seconds)
        closed = await sockets.close_all()
        if closed:
            log.info("closed %d WebSocket connections (going away)", closed)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = state
        removed = await asyncio.to_thread(remove_stale_scratch, state)
        if removed:
            log.info("removed %d stale upload scratch directories", removed)
        if registration is not None:
            await registration.register()
        restore_sigterm = intercept_sigterm(go_away)
        if owned:
            _freeze_start_up_objects()
        try:
            yield
        finally:
            restore_sigterm()
            if registration is not None:
                await registration.deregister()
                await registration.close()
            await app.state.readiness.close()
            if owned:
                await state.close()
            if tracer_provider is not None:
                await asyncio.to_thread(telemetry.shutdown, tracer_provider)
            metrics.worker_stopped(settings.prometheus_multiproc_dir)

    graphql = create_graphql_app(state, GRAPHIQL_PAGE)
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics_page, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/media/{key:path}", media_file, methods=["GET", "HEAD"]),
            Route("/assets/{name}", asset_file, methods=["GET", "HEAD"]),
            Mount("/douyin", routes=douyin_routes(Executor(state, observed=observed))),
            # Last: whatever no route above claims is a file of the web client.
            Mount("/", SiteFiles(WEB_DIST)),
        ],
        middleware=[*_middleware(settings, observed), Middleware(OpenSocketsMiddleware, sockets=sockets)],
        lifespan=lifespan,
    )
    app.state.services = state
    app.state.readiness = _readiness(state)
    app.state.draining = False
    app.state.open_sockets = sockets
    app.state.tracer_provider = tracer_provider
    return app
