"""Prometheus metrics (prometheus_client), served at GET /metrics.

Labels come from allow-lists only: a route is one of the app's route templates (else `other`), an
operation one of the names of the fixed douyin documents or of METRICS_OPERATION_NAMES (else `other`,
or `anonymous` without a name). Never a raw document, path, id or user-chosen text.

Under `manage.py serve`, prometheus_client's multiprocess mode is on: each worker writes its values to
files in PROMETHEUS_MULTIPROC_DIR (emptied before the workers start), and a scrape of any worker sums
them. Gauges count live workers only (`livesum`): a worker that stops marks itself dead, and a
scrape marks any worker whose process is gone.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["CONTENT_TYPE_LATEST"]

OTHER = "other"
ANONYMOUS = "anonymous"
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "douyin_http_requests",
    "HTTP requests by route template, status and outcome (ok or the error code).",
    ["route", "method", "status", "outcome"],
)
HTTP_DURATION = Histogram(
    "douyin_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["route"],
    buckets=_BUCKETS,
)
OPERATIONS = Counter(
    "douyin_graphql_operations",
    "GraphQL operations by name (allow-listed), type and outcome (ok or the first error code).",
    ["operation", "type", "outcome"],
)
OPERATION_DURATION = Histogram(
    "douyin_graphql_operation_duration_seconds",
    "GraphQL operation latency by name (allow-listed).",
    ["operation"],
    buckets=_BUCKETS,
)
GRAPHQL_ERRORS = Counter("douyin_graphql_errors", "GraphQL errors by extensions.code.", ["code"])
DB_POOL_IN_USE = Gauge(
    "douyin_db_pool_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
CACHE_LOOKUPS = Counter("douyin_cache_lookups", "Cache reads by backend and result.", ["backend", "result"])
UPLOADS = Counter("douyin_uploads", "Video uploads by outcome (ok or the error code).", ["outcome"])
UPLOAD_BYTES = Counter("douyin_upload_bytes", "Bytes of video uploads received.")
FFMPEG_RUNNING = Gauge("douyin_ffmpeg_jobs_running", "ffmpeg processes running.", multiprocess_mode="livesum")
SUBSCRIPTIONS_OPEN = Gauge(
    "douyin_graphql_subscriptions_open", "GraphQL subscriptions open.", multiprocess_mode="livesum"
)


# Label values come from allow-lists, so the children are few; a request asks for four of them.
@functools.lru_cache(maxsize=4096)
def child(metric: Counter | Histogram, *label_values: str) -> Any:
    """`metric.labels(*label_values)`, looked up once: prometheus_client checks and locks on each call."""
    return metric.labels(*label_values)


_operations: set[str] = set()
_routes: set[str] = set()
_route_prefixes: list[tuple[str, str]] = []


def allow_operations(names: Iterable[str]) -> None:
    """Operation names that may appear as labels (the fixed documents' and the configured ones)."""
    _operations.update(name for name in names if name)


def operation_label(name: str | None) -> str:
    if not name:
        return ANONYMOUS
    return name if name in _operations else OTHER


def allow_routes(paths: Iterable[str], prefixes: Iterable[tuple[str, str]] = ()) -> None:
    """Route templates: exact paths, and (prefix, template) pairs such as ("/media/", "/media/{key}")."""
    _routes.update(paths)
    for pair in prefixes:
        if pair not in _route_prefixes:
            _route_prefixes.append(pair)


def route_label(path: str) -> str:
    """The template a request path belongs to (a douyin route with or without its trailing slash is one)."""
    if path in _routes:
        return path
    slashed = path + "/"
    if slashed in _routes:
        return slashed
    for prefix, template in _route_prefixes:
        if path.startswith(prefix):
            return template
    return OTHER


# Multiprocess mode -------------------------------------------------------------------------------------

_PID_FILE = re.compile(r"_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_dead_workers(path: str) -> None:
    """Drop the live gauges of workers whose process is gone (killed workers cannot do it themselves)."""
    pids = {int(match.group(1)) for entry in os.listdir(path) if (match := _PID_FILE.search(entry))}
    for pid in pids:
        if pid != os.getpid() and not _alive(pid):
            multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


def worker_stopped(multiprocess_dir: str) -> None:
    if multiprocess_dir:
        multiprocess.mark_process_dead(os.getpid(), multiprocess_dir)  # type: ignore[no-untyped-call]


def render(multiprocess_dir: str) -> bytes:
    """The exposition text: this process's metrics, or every worker's summed in multiprocess mode."""
    if not multiprocess_dir:
        return generate_latest(REGISTRY)
    mark_dead_workers(multiprocess_dir)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
