"""Query cost: how many objects an operation may return, estimated before it runs, and refused above
`MAX_QUERY_COST`.

Depth, aliases and tokens bound a document's size, not its work: lists nested under lists multiply.
`feed(first: 100) { nodes { comments(first: 100) { nodes { author { ... } } } } }` is a few dozen
tokens and asks for 20,000 objects. The estimate counts every object and list item the answer could
hold: a field with a `first` argument multiplies what is selected under it by that page size (its value,
the variable's value or default, the argument's default, at most MAX_PAGE_SIZE), so the estimate is the
product of the nested `first`s, summed over the selection. Scalars and introspection cost nothing.

The estimate is linear in the number of parents, so each fragment is costed once per type, whatever
the number of places it is spread in (no exponential walk through repeated spreads).

The check runs in the validation step, after the (cached) validation rules: variables are known by then,
and a document that does not validate gets its validation errors, not a cost.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_composite_type,
    value_from_ast,
)
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.extensions import SchemaExtension

from resolvers.errors import ErrorCode
from schema.pagination import DEFAULT_PAGE_SIZE
from settings import Settings

PAGE_ARGUMENT = "first"
_DEFAULTS = Settings.model_fields


@dataclass(slots=True)
class _Estimator:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    variables_coerced: bool
    max_page_size: int
    # Cost of one spread of a fragment (on its own type condition), computed once.
    _fragment_costs: dict[str, int] = field(default_factory=dict)
    _in_progress: set[str] = field(default_factory=set)

    def selection_cost(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType) -> int:
        """Objects one instance of `parent` returns for `selection_set`."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field_cost(selection, parent)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment_cost(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                if target is not None:
                    total += self.selection_cost(selection.selection_set, target)
        return total

    def _fragment_cost(self, name: str) -> int:
        if name in self._fragment_costs:
            return self._fragment_costs[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self._in_progress:  # validation refuses both; never loop
            return 0
        target = self.schema.get_type(fragment.type_condition.name.value)
        self._in_progress.add(name)
        cost = 0 if target is None else self.selection_cost(fragment.selection_set, target)
        self._in_progress.discard(name)
        self._fragment_costs[name] = cost
        return cost

    def _field_cost(self, node: FieldNode, parent: GraphQLNamedType) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        returned = get_named_type(definition.type)
        if not is_composite_type(returned):
            return 0
        size = self._page_size(node, definition) if PAGE_ARGUMENT in definition.args else 1
        # A list field with a page size holds that many items; a connection holds one object whose
        # lists (edges, nodes) hold that many. Either way what is selected below is multiplied.
        own = size if isinstance(get_nullable_type(definition.type), GraphQLList) else 1
        return own + size * self.selection_cost(node.selection_set, returned)

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        value: Any = definition.args[PAGE_ARGUMENT].default_value
        given = next((arg.value for arg in node.arguments or () if arg.name.value == PAGE_ARGUMENT), None)
        if isinstance(given, VariableNode):
            # Absent: the argument's default, as execution does; unknown (the variables did not
            # coerce, and execution refuses them): the maximum, to stay on the safe side.
            absent = value if self.variables_coerced else self.max_page_size
            value = self.variables.get(given.name.value, absent)
        elif given is not None:
            value = value_from_ast(given, GraphQLInt)
        if not isinstance(value, int):  # null or absent: the field's default page
            value = DEFAULT_PAGE_SIZE
        # Above the maximum the field itself refuses the page; count what it could at most return.
        return max(0, min(int(value), self.max_page_size))


def estimate_nodes(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    max_page_size: int,
) -> int:
    """Objects and list items the operation may return; 0 when the operation cannot be chosen."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    # The operation's defaults applied, as execution applies them.
    coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
    estimator = _Estimator(
        schema=schema,
        fragments={
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        },
        variables=coerced.coerced if isinstance(coerced, VariableValues) else variables or {},
        variables_coerced=isinstance(coerced, VariableValues),
        max_page_size=max_page_size,
    )
    return estimator.selection_cost(operation.selection_set, root)


def too_complex(estimate: int, limit: int) -> GraphQLError:
    return GraphQLError(
        f"Query too complex: it may return about {estimate} objects, more than the limit of {limit};"
        " ask for smaller pages (first) or fewer nested lists",
        extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value},
    )


def _limits(context: object) -> tuple[int, int]:
    settings = getattr(getattr(context, "services", None), "settings", None)
    if isinstance(settings, Settings):
        return settings.max_query_cost, settings.max_page_size
    return int(_DEFAULTS["max_query_cost"].default), int(_DEFAULTS["max_page_size"].default)


class CostLimit(SchemaExtension):
    """Refuses an operation whose estimate is above the limit before it executes. Listed after the
    validation cache, so that it sees a validated document (and the variables)."""

    def on_validate(self) -> Iterator[None]:
        execution_context = self.execution_context
        document = execution_context.graphql_document
        if document is not None and not execution_context.pre_execution_errors:
            limit, max_page_size = _limits(execution_context.context)
            estimate = estimate_nodes(
                execution_context.schema._schema,
                document,
                execution_context.operation_name,
                execution_context.variables,
                max_page_size,
            )
            if estimate > limit:
                execution_context.pre_execution_errors = [too_complex(estimate, limit)]
        yield
