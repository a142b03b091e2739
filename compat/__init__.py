"""The douyin REST routes, each a fixed GraphQL operation executed in-process."""

from __future__ import annotations

from starlette.routing import BaseRoute

from storage.services import Services


def douyin_routes(services: Services) -> list[BaseRoute]:
    return []
