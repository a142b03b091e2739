"""Denormalised counters, changed in the caller's transaction with a single atomic UPDATE."""

from __future__ import annotations

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession


async def add_to_counters(session: AsyncSession, table: Table, row_id: int, **deltas: int) -> None:
    """`UPDATE table SET name = name + delta, ... WHERE id = row_id` (atomic, no read first)."""
    values = {name: table.c[name] + delta for name, delta in deltas.items() if delta}
    if values:
        await session.execute(update(table).where(table.c.id == row_id).values(**values))
