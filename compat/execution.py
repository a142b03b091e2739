"""Runs a route's fixed operation in-process and turns GraphQL errors into douyin failures."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import strawberry
from graphql import GraphQLError

from compat.documents import OperationDocument
from compat.envelope import INTERNAL_ERROR_MESSAGE, STATUS_CODES, CompatError
from resolvers.errors import DomainError

log = logging.getLogger(__name__)

PageFetcher = Callable[[int, str | None], Awaitable[Mapping[str, Any]]]


def compat_error(error: GraphQLError) -> CompatError:
    """The douyin failure for a GraphQL error: its `extensions.code`, and its message unless masked."""
    code = (error.extensions or {}).get("code")
    if code is None and isinstance(error.original_error, DomainError):
        code = error.original_error.code.value
    if not isinstance(code, str) or code not in STATUS_CODES or code == "INTERNAL_SERVER_ERROR":
        log.error("operation failed: %s (path %s)", error.message, error.path)
        return CompatError("INTERNAL_SERVER_ERROR", INTERNAL_ERROR_MESSAGE)
    return CompatError(code, error.message)


async def run_operation(
    schema: strawberry.Schema,
    document: OperationDocument,
    operation_name: str,
    variables: Mapping[str, Any],
    context: Any,
) -> dict[str, Any]:
    """The operation's data; raises CompatError on the first GraphQL error (partial data is a failure)."""
    if operation_name not in document.operation_names:
        raise LookupError(f"{document.name}.graphql has no operation {operation_name}")
    result = await schema.execute(
        document.text,
        variable_values=dict(variables),
        context_value=context,
        operation_name=operation_name,
    )
    if result.errors:
        raise compat_error(result.errors[0])
    if result.data is None:
        raise CompatError("INTERNAL_SERVER_ERROR", INTERNAL_ERROR_MESSAGE)
    return result.data


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
