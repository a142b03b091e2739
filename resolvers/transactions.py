"""Write transactions that retry when the database picks them as a deadlock victim."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.services import Services

T = TypeVar("T")
ATTEMPTS = 5
# MySQL/MariaDB: deadlock found, lock wait timeout. Both roll the whole transaction back, so running it
# again from the start is safe.
_RETRYABLE_MYSQL_ERRORS = {1213, 1205}


def _is_retryable(error: OperationalError) -> bool:
    args = getattr(error.orig, "args", ())
    if args and args[0] in _RETRYABLE_MYSQL_ERRORS:
        return True
    return "database is locked" in str(error.orig)


async def in_transaction(services: Services, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    for attempt in range(ATTEMPTS):
        try:
            async with services.db.write() as session:
                return await work(session)
        except OperationalError as error:
            if attempt == ATTEMPTS - 1 or not _is_retryable(error):
                raise
            await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")
