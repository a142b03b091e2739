"""The time budget of a query: `OPERATION_TIMEOUT_SECONDS` from the start of its execution, then an answer
with a `TIMEOUT` error instead of work that goes on (and holds database connections) for as long as the
query asks.

It lives in the graphql-core execution context the schema uses, so it covers `/graphql` and the douyin
routes' fixed operations alike (both execute through that class). Mutations are not cut off: a write or
an upload stopped half way helps nobody, and their work is bounded by their input. The statement
timeout (storage/timeouts.py) stops a single slow read inside the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.errors import ErrorCode
from settings import Settings

log = logging.getLogger("douyin.graphql")


def timeout_error(seconds: float) -> GraphQLError:
    return GraphQLError(
        f"The query took longer than {seconds:g} s and was stopped; ask for less (smaller pages, fewer"
        " nested lists) or try again later",
        extensions={"code": ErrorCode.TIMEOUT.value},
    )


def _budget(context: object) -> float:
    settings = getattr(getattr(context, "services", None), "settings", None)
    return settings.operation_timeout_seconds if isinstance(settings, Settings) else 0.0


class BudgetedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        result = super().execute_operation(serially)
        seconds = _budget(self.context_value)
        if (
            seconds <= 0
            or self.operation.operation is not OperationType.QUERY
            or not self.is_awaitable(result)
        ):
            return result
        return self._within(result, seconds)

    async def _within(self, result: Awaitable[Any], seconds: float) -> Any:
        try:
            async with asyncio.timeout(seconds) as budget:
                return await result
        except TimeoutError:
            if not budget.expired():
                raise
        name = self.operation.name.value if self.operation.name else "-"
        log.warning("query %s stopped after its budget of %g s", name, seconds)
        return ExecutionResult(data=None, errors=[timeout_error(seconds)])
