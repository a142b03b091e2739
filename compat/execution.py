"""Turns the schema's coded failures into douyin failures, and collects whole lists from paged ones."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from compat.envelope import INTERNAL_ERROR_MESSAGE, STATUS_CODES, CompatError
from schema.executor import OperationFailedError

PageFetcher = Callable[[int, str | None], Awaitable[Mapping[str, Any]]]


def compat_error(failure: OperationFailedError) -> CompatError:
    """The douyin failure for a GraphQL error: its code, and its message unless it is internal (the
    executor has already masked and logged those, with the request id)."""
    if failure.code not in STATUS_CODES or failure.code == "INTERNAL_SERVER_ERROR":
        return CompatError("INTERNAL_SERVER_ERROR", INTERNAL_ERROR_MESSAGE)
    return CompatError(failure.code, failure.message, failure.retry_after)


async def collect_pages(
    fetch_page: PageFetcher, *, page_size: int, max_items: int, items_key: str = "nodes"
) -> list[Any]:
    """Follows `pageInfo.endCursor` until the connection ends or `max_items` are collected: the douyin
    routes return whole lists, the schema pages them."""
    items: list[Any] = []
    after: str | None = None
    while len(items) < max_items:
        connection = await fetch_page(min(page_size, max_items - len(items)), after)
        items.extend(connection[items_key])
        page_info = connection["pageInfo"]
        if not page_info["hasNextPage"] or not page_info["endCursor"]:
            break
        after = page_info["endCursor"]
    return items
