"""The fixed GraphQL operations behind the routes: `operations/<name>.graphql`, parsed and validated
against the schema once at start-up.

Shared fragments live in `operations/fragments.graphql`; each document gets exactly the fragments it
spreads (directly or through other fragments), so the unused-fragment rule holds and every document is
complete on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)

OPERATIONS_DIR = Path(__file__).resolve().parent / "operations"
FRAGMENTS_FILE = "fragments.graphql"


class OperationError(Exception):
    """A route's operation does not parse or does not validate against the schema."""


@dataclass(frozen=True, slots=True)
class OperationDocument:
    name: str  # the file's stem
    text: str  # the operation(s) followed by the fragments they use
    operation_names: frozenset[str]


class _SpreadCollector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_args: Any) -> None:
        self.names.add(node.name.value)


def _spread_names(node: Node) -> set[str]:
    collector = _SpreadCollector()
    visit(node, collector)
    return collector.names


@cache
def _fragments(directory: Path) -> Mapping[str, FragmentDefinitionNode]:
    document = parse((directory / FRAGMENTS_FILE).read_text(encoding="utf-8"))
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }


def _used_fragments(document: DocumentNode, fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    pending = sorted(_spread_names(document))
    used: list[str] = []
    while pending:
        name = pending.pop(0)
        if name in used:
            continue
        if name not in fragments:
            raise OperationError(f"unknown fragment {name}")
        used.append(name)
        pending.extend(sorted(_spread_names(fragments[name]) - set(used)))
    return used


def _describe(errors: Iterable[GraphQLError]) -> str:
    return "; ".join(error.message for error in errors)


def load_document(name: str, schema: GraphQLSchema, directory: Path = OPERATIONS_DIR) -> OperationDocument:
    source = (directory / f"{name}.graphql").read_text(encoding="utf-8")
    try:
        operations = parse(source)
        fragments = _fragments(directory)
        text = "\n\n".join(
            [source.strip(), *(print_ast(fragments[used]) for used in _used_fragments(operations, fragments))]
        )
        document = parse(text)
    except GraphQLError as error:
        raise OperationError(f"{name}.graphql: {error.message}") from error
    except OperationError as error:
        raise OperationError(f"{name}.graphql: {error}") from error
    errors = validate(schema, document)
    if errors:
        raise OperationError(f"{name}.graphql: {_describe(errors)}")
    names = frozenset(
        definition.name.value
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None
    )
    return OperationDocument(name=name, text=text, operation_names=names)
