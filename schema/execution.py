"""The execution context both faces run operations with: Strawberry's, with lists of non-null scalars
completed in one pass.

graphql-core completes every list item through the whole value machinery (a path, a positional
context, the type checks), several microseconds each: a column of 1,000 counters cost more than the
statement that read it. A list whose items are non-null scalars needs only each item coerced; any item
that does not coerce (a null, a wrong value) sends the list back through graphql-core, so errors are
exactly what they were.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Any

from graphql import GraphQLList, GraphQLNonNull, GraphQLOutputType, GraphQLResolveInfo, GraphQLScalarType
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


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
            coerce = item_type.of_type.coerce_output_value
            try:
                completed = [coerce(item) for item in result]
            except Exception:
                completed = None
            if completed is not None and not any(v is None or v is Undefined for v in completed):
                return completed
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )
