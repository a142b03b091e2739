"""Lists of non-null scalars completed in one pass answer exactly what graphql-core answers."""

from __future__ import annotations

from typing import Any, cast

import pytest
import strawberry

from schema.execution import Executor

VALUES: dict[str, Any] = {}


@strawberry.type
class Query:
    @strawberry.field
    def numbers(self) -> list[int]:
        return cast("list[int]", VALUES["numbers"])  # whatever the test put there

    @strawberry.field
    def maybe(self) -> list[bool | None]:
        return cast("list[bool | None]", VALUES["maybe"])

    @strawberry.field
    def flags(self) -> list[bool]:
        return cast("list[bool]", VALUES.get("flags", []))

    @strawberry.field
    def names(self) -> list[str]:
        return cast("list[str]", VALUES.get("names", []))

    @strawberry.field
    def ids(self) -> list[strawberry.ID]:
        return cast("list[strawberry.ID]", VALUES.get("ids", []))


fast = strawberry.Schema(query=Query, execution_context_class=Executor)
plain = strawberry.Schema(query=Query)


@pytest.mark.parametrize(
    "values",
    [
        {"numbers": [1, 2, 3], "maybe": [True, None]},
        {"numbers": [], "maybe": []},
        {"numbers": [1, None, 3], "maybe": [None]},
        {"numbers": [1, "x"], "maybe": [False]},
        {"numbers": [2**40], "maybe": [True]},
        {"numbers": (1, 2), "maybe": [True]},
        # Values that are already what each scalar outputs, and ones that are not (coerced or refused).
        {"numbers": [2**31 - 1, -(2**31)], "maybe": [], "flags": [True, False], "names": ["a"], "ids": ["1"]},
        {"numbers": [2**31], "maybe": [], "flags": [1, 0], "names": [1, True], "ids": [1, 2.0]},
        {"numbers": [True, 2.0, "7"], "maybe": [], "flags": [None], "names": [None], "ids": [None]},
    ],
)
async def test_the_same_data_and_errors_as_graphql_core(values: dict[str, Any]) -> None:
    VALUES.update(values)
    query = "{ numbers maybe flags names ids }"
    ours, theirs = await fast.execute(query), await plain.execute(query)
    assert ours.data == theirs.data
    assert [(e.message, e.path) for e in ours.errors or []] == [
        (e.message, e.path) for e in theirs.errors or []
    ]
