"""Lists under lists: the first page of many parents' children in one statement.

A connection field under a list (each video's `comments`, each author's `videos`) is asked once per
parent. Its loader is keyed by (parent id, page arguments): the parents asked in one batch with the same
page arguments share one statement that ranks every parent's children with a window function,
`ROW_NUMBER() OVER (PARTITION BY parent ORDER BY time DESC, id DESC)` (MariaDB 10.2+, MySQL 8, SQLite
3.25+), and keeps the first `first + 1` of each (the extra row tells whether a next page exists); the
ranked ids are joined back to the rows. A batch of one parent (a root field's list, every REST route)
keeps the plain `WHERE parent = ? ORDER BY ... LIMIT ?` statement, which reads only the page.

Each kind of list is described once (`ChildList`: its statement, parent, order and cursor) and that
description also serves the root fields, so both paths page identically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Row, Select, and_, func
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from core import telemetry
from resolvers.pagination import Page, PageRequest, Position, build_page, newest_first, older_than
from storage.db import Database

T = TypeVar("T")
PageKey = tuple[int, PageRequest]  # (parent id, page arguments)


@dataclass(frozen=True, slots=True)
class ChildList(Generic[T]):
    """One kind of list: `select` (every parent's children, any joins included), the `parent`
    column, the (`time`, `row_id`) order and cursor, newest first; `item` and `position` read a result
    row. (`parent`, `row_id`) names one child."""

    name: str
    select: Select[Any]
    # Columns (SQLModel's `col(...)` is typed as the mapped attribute, hence Any, as in pagination.py).
    parent: Any
    time: Any
    row_id: Any
    item: Callable[[Row[Any]], T]
    position: Callable[[Row[Any]], Position]

    def _page(self, rows: Sequence[Row[Any]], request: PageRequest) -> Page[T]:
        page = build_page(rows, request, self.position)
        items = [(cursor, self.item(row)) for cursor, row in page.items]
        return Page(items, page.has_next, page.has_previous)

    async def page_of(self, session: AsyncSession, parent_id: int, request: PageRequest) -> Page[T]:
        statement = newest_first(self.select.where(self.parent == parent_id), self.time, self.row_id, request)
        return self._page((await session.execute(statement)).all(), request)

    async def pages_of(
        self, session: AsyncSession, parent_ids: Sequence[int], request: PageRequest
    ) -> dict[int, Page[T]]:
        """The same page of every parent's children, in one statement."""
        order = (self.time.desc(), self.row_id.desc())
        rank = func.row_number().over(partition_by=self.parent, order_by=order)
        ranked = self.select.with_only_columns(
            self.row_id.label("child_id"),
            self.parent.label("parent_id"),
            rank.label("child_rank"),
            maintain_column_froms=True,
        ).where(self.parent.in_(parent_ids))
        keyset = older_than(self.time, self.row_id, request.after)
        if keyset is not None:
            ranked = ranked.where(keyset)
        window = ranked.subquery("ranked")
        statement = (
            self.select.add_columns(window.c.parent_id)
            .join(window, and_(self.row_id == window.c.child_id, self.parent == window.c.parent_id))
            .where(window.c.child_rank <= request.fetch_limit)
            .order_by(window.c.parent_id, window.c.child_rank)
        )
        by_parent: dict[int, list[Row[Any]]] = defaultdict(list)
        for row in (await session.execute(statement)).all():
            by_parent[int(row[-1])].append(row)
        return {parent_id: self._page(by_parent.get(parent_id, []), request) for parent_id in parent_ids}


class ChildPageLoader(DataLoader[PageKey, Page[T]]):
    """(parent id, page arguments) -> that page of the parent's children: one statement per distinct
    page arguments in a batch, all in one short session."""

    def __init__(self, db: Database, children: ChildList[T]) -> None:
        super().__init__(load_fn=self._load)
        self.db = db
        self.children = children

    async def _load(self, keys: list[PageKey]) -> list[Page[T]]:
        if not telemetry.STATE.enabled:
            return await self.fetch(keys)
        name = f"{type(self).__name__} {self.children.name}"
        attributes: dict[str, str | int] = {"loader.name": name, "loader.keys": len(keys)}
        with telemetry.STATE.tracer.start_as_current_span(f"loader {name}", attributes=attributes):
            return await self.fetch(keys)

    async def fetch(self, keys: list[PageKey]) -> list[Page[T]]:
        parents_by_request: dict[PageRequest, list[int]] = defaultdict(list)
        for parent_id, request in keys:
            parents_by_request[request].append(parent_id)
        pages: dict[PageKey, Page[T]] = {}
        async with self.db.read() as session:
            for request, parent_ids in parents_by_request.items():
                if len(parent_ids) == 1:
                    [parent_id] = parent_ids
                    pages[(parent_id, request)] = await self.children.page_of(session, parent_id, request)
                    continue
                found = await self.children.pages_of(session, parent_ids, request)
                pages.update(((parent_id, request), page) for parent_id, page in found.items())
        return [pages[key] for key in keys]
