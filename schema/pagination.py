"""Relay connections: one generic `Connection[T]` / `Edge[T]` for every list, `PageInfo`, and the page
arguments shared by every connection field.

Strawberry names each use after its node type: `Connection[Video]` is `VideoConnection` and
`Edge[User]` is `UserEdge`. An edge with more to say subclasses `Edge` (chat's `FriendEdge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.pagination import Page, PageRequest
from schema.context import Info

DEFAULT_PAGE_SIZE = 30

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    # A Sequence (read-only, so covariant) lets a subclass narrow the edges to an Edge subclass.
    edges: Sequence[Edge[NodeT]]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


def page_info(page: Page[Any]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.items[0][0] if page.items else None,
        end_cursor=page.items[-1][0] if page.items else None,
    )


def connection(page: Page[Any], nodes: Sequence[NodeT]) -> Connection[NodeT]:
    """The page's cursors paired with the nodes built for its items, in order."""
    return Connection(
        edges=[Edge(cursor=cursor, node=node) for (cursor, _), node in zip(page.items, nodes, strict=True)],
        page_info=page_info(page),
    )


def page_request(info: Info, first: int | None, after: str | None) -> PageRequest:
    max_size = info.context.services.settings.max_page_size
    return PageRequest.parse(first, after, max_size, DEFAULT_PAGE_SIZE)
