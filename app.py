"""Builds the Starlette application: `create_app(settings)`."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
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
from core.observe import RequestObserver, traced_app
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
READINESS_TIMEOUT_SECONDS = 3.0


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _check(probe: Callable[[], Awaitable[None]]) -> str | None:
    try:
        await asyncio.wait_for(probe(), READINESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return "timed out"
    except Exception as error:  # any failure means not ready; say which
        return f"{type(error).__name__}: {error}"[:300]
    return None


async def readyz(request: Request) -> Response:
    """Which parts answer: names and ok/failed only (hosts, ports and driver messages are for the log,
    not for whoever can reach this route)."""
    services: Services = request.app.state.services
    names = ("database", "cache", "objects")
    results = await asyncio.gather(
        _check(services.db.ping), _check(services.cache.ping), _check(services.objects.ping)
    )
    failed = [name for name, error in zip(names, results, strict=True) if error]
    for name, error in zip(names, results, strict=True):
        if error:
            log.warning("readiness: %s failed: %s", name, error)
    checks = {name: "failed" if name in failed else "ok" for name in names}
    body = {"status": "unavailable" if failed else "ok", "checks": checks, "failed": failed}
    return JSONResponse(body, status_code=503 if failed else 200)


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
    middleware = [Middleware(RequestIdMiddleware)]
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

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = state
        removed = await asyncio.to_thread(remove_stale_scratch, state)
        if removed:
            log.info("removed %d stale upload scratch directories", removed)
        try:
            yield
        finally:
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
        middleware=_middleware(settings, observed),
        lifespan=lifespan,
    )
    app.state.services = state
    app.state.tracer_provider = tracer_provider
    return app
