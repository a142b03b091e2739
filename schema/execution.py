"""The execution context both faces run operations with: Strawberry's, with lists of non-null scalars
completed in one pass.

graphql-core completes every list item through the whole value machinery (a path, a positional
context, the type checks), several microseconds each: a column of 1,000 counters cost more than the
statement that read it. A list whose items are non-null scalars needs only each item coerced; any item
that does not coerce (a null, a wrong value) sends the list back through graphql-core, so errors are
exactly what they were. A list already made of the scalar's own values (ints in the 32-bit range for
`Int`, bools, strs) is taken as it is: the value each item would be coerced to is itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def _ints(items: list[Any]) -> bool:
    # Type by type in C, then the range: a generator over the items costs three times as much.
    return not items or (set(map(type, items)) == {int} and min(items) >= INT_MIN and max(items) <= INT_MAX)


def _bools(items: list[Any]) -> bool:
    return set(map(type, items)) <= {bool}


def _strs(items: list[Any]) -> bool:
    return set(map(type, items)) <= {str}


# For each built-in scalar: whether a list holds only values that it would output unchanged.
_ALREADY_OUTPUT = {GraphQLInt: _ints, GraphQLBoolean: _bools, GraphQLString: _strs, GraphQLID: _strs}


class Executor(StrawberryGraphQLCoreExecutionContext):
    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: AsyncIterable[Any] | Iterable[Any],
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        item_type = return_type.of_type
        if (
            isinstance(result, list)
            and isinstance(item_type, GraphQLNonNull)
            and isinstance(item_type.of_type, GraphQLScalarType)
        ):
            scalar = item_type.of_type
            already_output = _ALREADY_OUTPUT.get(scalar)
            if already_output is not None and already_output(result):
                return list(result)
            coerce = scalar.coerce_output_value
            try:
                completed = [coerce(item) for item in result]
            except Exception:
                completed = None
            if completed is not None and not any(v is None or v is Undefined for v in completed):
                return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )
