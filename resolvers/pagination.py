"""Keyset pagination: opaque cursors over (time, id), newest first unless stated otherwise.

A cursor names the last row a client saw; the next page holds rows strictly after it in the order, so
rows inserted meanwhile never shift a page (as offsets would) and no row is repeated or skipped.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.elements import ColumnElement

from resolvers.errors import DomainError, ErrorCode, bad_input

T = TypeVar("T")
_PREFIX = "c1:"


@dataclass(frozen=True, slots=True)
class Position:
    time_ms: int
    row_id: int


def encode_cursor(position: Position) -> str:
    raw = f"{_PREFIX}{position.time_ms}:{position.row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if not text.startswith(_PREFIX):
            raise ValueError(text)
        time_part, id_part = text[len(_PREFIX) :].split(":")
        return Position(int(time_part), int(id_part))
    except (ValueError, UnicodeError, binascii.Error) as error:
        raise bad_input("after is not a valid cursor") from error


def check_first(first: int, max_page_size: int) -> int:
    if first < 0:
        raise bad_input("first must not be negative")
    if first > max_page_size:
        raise DomainError(ErrorCode.QUERY_TOO_COMPLEX, f"first must be at most {max_page_size}")
    return first


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int
    after: Position | None

    @classmethod
    def parse(cls, first: int | None, after: str | None, max_page_size: int, default: int) -> PageRequest:
        size = check_first(default if first is None else first, max_page_size)
        return cls(size, decode_cursor(after) if after else None)

    @property
    def fetch_limit(self) -> int:
        # One extra row tells whether another page exists without a COUNT query.
        return self.first + 1


def older_than(time_column: Any, id_column: Any, position: Position | None) -> ColumnElement[bool] | None:
    """Rows after `position` in (time DESC, id DESC) order."""
    if position is None:
        return None
    return or_(
        time_column < position.time_ms,
        and_(time_column == position.time_ms, id_column < position.row_id),
    )


S = TypeVar("S", bound=Select[Any])


def newest_first(statement: S, time_column: Any, id_column: Any, request: PageRequest) -> S:
    """`statement` narrowed to the requested page in (time DESC, id DESC) order, one row beyond it."""
    keyset = older_than(time_column, id_column, request.after)
    if keyset is not None:
        statement = statement.where(keyset)
    return statement.order_by(time_column.desc(), id_column.desc()).limit(request.fetch_limit)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[tuple[str, T]]  # (cursor, item)
    has_next: bool
    has_previous: bool


def build_page(rows: Sequence[T], request: PageRequest, position_of: Callable[[T], Position]) -> Page[T]:
    visible = list(rows[: request.first])
    return Page(
        items=[(encode_cursor(position_of(row)), row) for row in visible],
        has_next=len(rows) > request.first,
        has_previous=request.after is not None,
    )
