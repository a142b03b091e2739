"""Command line: `python manage.py migrate | seed | serve`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

import uvicorn
from alembic import command
from alembic.config import Config

from core.logs import configure_logging, logging_config
from core.server_protocol import PROTOCOL
from settings import Settings

ROOT = Path(__file__).resolve().parent
WORKER_HEALTHCHECK_SECONDS = 60


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def migrate(settings: Settings) -> None:
    command.upgrade(alembic_config(settings.effective_database_url), "head")


def prepare_multiprocess_dir(path: Path) -> None:
    """Create the metrics directory, or empty it of a previous run's files, before prometheus_client is
    imported (it reads PROMETHEUS_MULTIPROC_DIR then, and its gauges open their files at once)."""
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.glob("*.db"):
        entry.unlink(missing_ok=True)


# What lives in each process's memory when there is no Redis to share it through.
PER_PROCESS_WITHOUT_REDIS = (
    "cache",
    "rate limits",
    "sign-in throttling",
    "subscription fan-out (a message reaches only the subscribers of the process that sent it)",
)


def per_process_warning(settings: Settings) -> str | None:
    """Start-up warning when REDIS_URL is unset: which features then hold per process, not per service.
    (Metrics are shared by the workers of one server through prometheus_client's multiprocess files.)"""
    if settings.redis_url:
        return None
    return (
        f"REDIS_URL is not set: per process only: {', '.join(PER_PROCESS_WITHOUT_REDIS)}. Fine for one "
        f"process (WORKERS={settings.workers}); set REDIS_URL before running more workers or replicas"
    )


async def _seed(settings: Settings) -> bool:
    from resolvers.demo import seed_demo_content
    from storage.services import Services

    services = Services.open(settings)
    try:
        return await seed_demo_content(services)
    finally:
        await services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["migrate", "seed", "serve"])
    args = parser.parse_args()
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "seed":
        if settings.seed_demo and asyncio.run(_seed(settings)):
            print("demo content loaded")
    else:
        # Metrics in prometheus_client's multiprocess mode, so that any worker's /metrics counts them all:
        # the directory is emptied now, before the workers start (they inherit the variable). The variable
        # is set before prometheus_client is first imported (by the app), which is when it is read.
        metrics_dir = Path(settings.prometheus_multiproc_dir or settings.data_dir / "metrics").resolve()
        prepare_multiprocess_dir(metrics_dir)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        warning = per_process_warning(settings)
        if warning:
            logging.getLogger("douyin").warning(warning)
        uvicorn.run(
            "app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            log_config=logging_config(settings.log_level, settings.log_format),
            # The request line (core/observe.py) replaces the access log, which prints query strings.
            access_log=False,
            # Behind a load balancer the client address (every rate limit's) is the one it forwards,
            # taken only from the proxies FORWARDED_ALLOW_IPS names.
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            # Protocol-level pings keep idle subscriptions alive through proxies and drop dead peers.
            ws_ping_interval=settings.ws_ping_interval_seconds or None,
            ws_ping_timeout=settings.ws_ping_timeout_seconds or None,
            ws_per_message_deflate=settings.ws_per_message_deflate,
            timeout_keep_alive=settings.keep_alive_timeout_seconds,
            loop=settings.server_loop,
            limit_concurrency=settings.max_connections or None,
            timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
            # uvicorn's own protocol, with a header read timeout (HEADER_READ_TIMEOUT_SECONDS).
            http=PROTOCOL,
            # With WORKERS > 1, uvicorn's supervisor kills a worker that does not answer its ping in
            # time, and a worker answers only once it has imported its modules: on a busy or small
            # machine that takes longer than uvicorn's 5 s, and workers were killed while starting.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )


if __name__ == "__main__":
    main()
