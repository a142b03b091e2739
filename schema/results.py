"""Operations on objects by id whose answers never change, run once per object and then kept.

Only fields whose answer is fixed once the object exists may be kept (a video's title, URLs and
author; a user's name and pictures; a comment's text): `check_unchanging` refuses any other field the
first time an operation is kept. Each object's answer is keyed by the document's digest, the operation,
the base URL the media URLs are built on, and the object's id; a null (no such object, yet) is not kept.
"""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import (
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)

from schema import schema
from schema.executor import PreparedDocument, Session

# (type, field) pairs whose answer never changes for a given object.
UNCHANGING_FIELDS = frozenset(
    {
        ("Query", "videos"),
        ("Query", "comments"),
        ("Video", "id"),
        ("Video", "title"),
        ("Video", "playUrl"),
        ("Video", "coverUrl"),
        ("Video", "createdAt"),
        ("Video", "author"),
        ("User", "id"),
        ("User", "name"),
        ("User", "avatar"),
        ("User", "backgroundImage"),
        ("User", "signature"),
        ("Comment", "id"),
        ("Comment", "content"),
        ("Comment", "createdAt"),
        ("Comment", "author"),
    }
)


_checked: set[tuple[str, str]] = set()  # (document digest, operation) found unchanging


class ChangingFieldError(Exception):
    """A document meant to be kept selects a field whose answer can change."""


def check_unchanging(schema: GraphQLSchema, document: PreparedDocument, operation_name: str) -> None:
    """Raises ChangingFieldError unless every field `operation_name` selects is in UNCHANGING_FIELDS."""
    type_info = TypeInfo(schema)
    changing: list[str] = []
    inside = [False]

    class Fields(Visitor):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            inside[0] = node.name is not None and node.name.value == operation_name

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            parent = type_info.get_parent_type()
            if not inside[0] or parent is None or node.name.value == "__typename":
                return
            if (get_named_type(parent).name, node.name.value) not in UNCHANGING_FIELDS:
                changing.append(f"{parent.name}.{node.name.value}")

    # Fragments are checked as they are spread: visit the operation with its fragments inlined.
    from graphql.utilities import separate_operations

    separated = separate_operations(document.node).get(operation_name)
    if separated is None:
        raise LookupError(f"{document.name} has no operation {operation_name}")
    visit(separated, TypeInfoVisitor(type_info, Fields()))
    if changing:
        raise ChangingFieldError(f"{operation_name} selects fields that change: {', '.join(changing)}")


def _has_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_null(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_null(item) for item in value)
    return False


def _checked_unchanging(document: PreparedDocument, operation_name: str) -> None:
    if (document.digest, operation_name) not in _checked:
        check_unchanging(schema._schema, document, operation_name)
        _checked.add((document.digest, operation_name))


async def run_kept_items(
    session: Session, document: PreparedDocument, operation_name: str, field: str, ids: list[str]
) -> list[Any]:
    """`field` of an operation taking `$ids` and answering one item per id (null for no such object),
    each item kept on its own: the operation runs only for the ids no earlier request asked for, so a
    list that shifts by one new item costs one item. Items are keyed by the document's digest, the
    operation, the base URL and the id; nulls are not kept."""
    _checked_unchanging(document, operation_name)
    context = session.context
    prefix = f"{document.digest}:{operation_name}:{context.base_url}:"
    items = await context.services.results.get_many([prefix + item_id for item_id in ids])
    missing = [item_id for item_id, item in zip(ids, items, strict=True) if item is None]
    if not missing:
        return items
    found = await _fill(session, document, operation_name, field, prefix, list(dict.fromkeys(missing)))
    return [found[item_id] if item is None else item for item_id, item in zip(ids, items, strict=True)]


# Items being filled in this process, by key: the request filling one answers every request that asks
# for it meanwhile. A new video heads the feed for every reader at once; without this each of them ran
# the operation for it, on pooled connections, and a publish stalled the feed for a few hundred ms.
_filling: dict[str, asyncio.Future[Any]] = {}
_ABANDONED = object()  # the filling request failed or went away: ask again


async def _fill(
    session: Session,
    document: PreparedDocument,
    operation_name: str,
    field: str,
    prefix: str,
    wanted: list[str],
) -> dict[str, Any]:
    """The items for `wanted`: run for those no other request is filling, awaited for the rest."""
    waiting = {item_id: _filling[prefix + item_id] for item_id in wanted if prefix + item_id in _filling}
    mine = [item_id for item_id in wanted if item_id not in waiting]
    found: dict[str, Any] = {}
    if mine:
        loop = asyncio.get_running_loop()
        futures = {item_id: loop.create_future() for item_id in mine}
        _filling.update((prefix + item_id, future) for item_id, future in futures.items())
        outcome: dict[str, Any] = {}
        results = session.context.services.results
        try:
            # Kept since this request looked (a fill that ended meanwhile stored its items first).
            kept = results.kept_here([prefix + item_id for item_id in mine])
            outcome = {item_id: item for item_id, item in zip(mine, kept, strict=True) if item is not None}
            todo = [item_id for item_id in mine if item_id not in outcome]
            if todo:
                answered = (await session.run(document, operation_name, {"ids": todo}))[field]
                for item_id, item in zip(todo, answered, strict=True):
                    outcome[item_id] = item
                    if item is not None and not _has_null(item):
                        await results.put(prefix + item_id, item)
        finally:
            for item_id, future in futures.items():
                _filling.pop(prefix + item_id, None)
                future.set_result(outcome.get(item_id, _ABANDONED))
        found.update(outcome)
    again = []
    for item_id, future in waiting.items():
        item = await asyncio.shield(future)
        if item is _ABANDONED:
            again.append(item_id)
        else:
            found[item_id] = item
    if again:
        found.update(await _fill(session, document, operation_name, field, prefix, again))
    return found
