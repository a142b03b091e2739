"""Relay `PageInfo` and the page arguments shared by every connection field."""

from __future__ import annotations

from typing import Any

import strawberry

from resolvers.pagination import Page, PageRequest
from schema.context import Info

DEFAULT_PAGE_SIZE = 30


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def page_info(page: Page[Any]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.items[0][0] if page.items else None,
        end_cursor=page.items[-1][0] if page.items else None,
    )


def page_request(info: Info, first: int | None, after: str | None) -> PageRequest:
    max_size = info.context.services.settings.max_page_size
    return PageRequest.parse(first, after, max_size, DEFAULT_PAGE_SIZE)
