"""The fixed GraphQL operations behind the routes: `operations/<name>.graphql`, parsed and validated
against the schema once at start-up.

An operation file may spread the shared fragments: `<Object>Fields` for each douyin object, generated
from its field table (compat/objects.py) so the selection is exactly what the shaping reads, and the
connection fragments in `operations/fragments.graphql`. Each document gets exactly the fragments its
operations use (directly or through other fragments), so the unused-fragment rule holds and every
document is complete on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    KnownFragmentNamesRule,
    NameNode,
    OperationDefinitionNode,
    concat_ast,
    parse,
    print_ast,
    separate_operations,
    validate,
)

from compat.objects import OBJECTS, DouyinObject, Field

OPERATIONS_DIR = Path(__file__).resolve().parent / "operations"
FRAGMENTS_FILE = "fragments.graphql"


class OperationError(Exception):
    """A route's operation does not parse or does not validate against the schema."""


@dataclass(frozen=True, slots=True)
class OperationDocument:
    name: str  # the file's stem
    text: str  # the operation(s) followed by the fragments they use
    operation_names: frozenset[str]


Selection = dict[str, "Selection"]  # field (or `...Fragment`) -> what is selected inside it


def _select(selection: Selection, path: Iterable[str]) -> Selection:
    for step in path:
        selection = selection.setdefault(step, {})
    return selection


def _object_selection(obj: DouyinObject) -> Selection:
    selection: Selection = {}
    for member in obj.members:
        inner = _select(selection, member.source.split("."))
        if not isinstance(member, Field):  # a whole object: its own fragment
            inner["..." + member.object.fragment_name] = {}
    for name in obj.also_selects:
        _select(selection, [name])
    return selection


def _printed(selection: Mapping[str, Selection]) -> str:
    return " ".join(f"{name} {{ {_printed(inner)} }}" if inner else name for name, inner in selection.items())


def object_fragments() -> str:
    """`fragment <Object>Fields on <Type> {...}` for every douyin object."""
    return "\n".join(
        f"fragment {obj.fragment_name} on {obj.fragment_type} {{ {_printed(_object_selection(obj))} }}"
        for obj in OBJECTS
    )


@cache
def _shared_fragments(directory: Path) -> DocumentNode:
    return concat_ast(
        [parse(object_fragments()), parse((directory / FRAGMENTS_FILE).read_text(encoding="utf-8"))]
    )


def _with_used_fragments(operations: DocumentNode, shared: DocumentNode) -> DocumentNode:
    """The file's definitions followed by the shared fragments any of its operations uses."""
    separated = separate_operations(concat_ast([operations, shared]))
    used = {
        definition.name.value
        for document in separated.values()
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    fragments = [
        definition
        for definition in shared.definitions
        if isinstance(definition, FragmentDefinitionNode) and definition.name.value in used
    ]
    return DocumentNode(definitions=(*operations.definitions, *fragments))


def _unknown_fragments(schema: GraphQLSchema, document: DocumentNode) -> list[str]:
    errors = validate(schema, document, [KnownFragmentNamesRule])
    return [node.value for error in errors for node in error.nodes or () if isinstance(node, NameNode)]


def _describe(errors: Iterable[GraphQLError]) -> str:
    return "; ".join(error.message for error in errors)


def load_document(name: str, schema: GraphQLSchema, directory: Path = OPERATIONS_DIR) -> OperationDocument:
    try:
        operations = parse((directory / f"{name}.graphql").read_text(encoding="utf-8"))
        document = _with_used_fragments(operations, _shared_fragments(directory))
    except GraphQLError as error:
        raise OperationError(f"{name}.graphql: {error.message}") from error
    unknown = _unknown_fragments(schema, document)
    if unknown:
        raise OperationError(f"{name}.graphql: unknown fragment {', '.join(unknown)}")
    errors = validate(schema, document)
    if errors:
        raise OperationError(f"{name}.graphql: {_describe(errors)}")
    names = frozenset(
        definition.name.value
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None
    )
    return OperationDocument(name=name, text=print_ast(document), operation_names=names)
