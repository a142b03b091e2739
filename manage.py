"""Command line: `python manage.py migrate | seed | serve`."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

import uvicorn
from alembic import command
from alembic.config import Config

from settings import Settings

ROOT = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def migrate(settings: Settings) -> None:
    command.upgrade(alembic_config(settings.effective_database_url), "head")


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
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "seed":
        if settings.seed_demo and asyncio.run(_seed(settings)):
            print("demo content loaded")
    else:
        if settings.workers > 1 and not settings.redis_url:
            logging.getLogger("douyin").warning(
                "WORKERS=%d without REDIS_URL: each worker's cache and chat subscriptions see only its own "
                "requests; set REDIS_URL",
                settings.workers,
            )
        uvicorn.run(
            "app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            proxy_headers=True,
            # Protocol-level pings keep idle subscriptions alive through proxies and drop dead peers.
            ws_ping_interval=settings.ws_ping_interval_seconds or None,
            ws_ping_timeout=settings.ws_ping_timeout_seconds or None,
            ws_per_message_deflate=settings.ws_per_message_deflate,
        )


if __name__ == "__main__":
    main()
