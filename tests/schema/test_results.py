"""Only operations on unchanging fields may be kept."""

from __future__ import annotations

import pytest
from graphql import parse

from schema import schema
from schema.executor import PreparedDocument
from schema.results import ChangingFieldError, check_unchanging


def _document(text: str) -> PreparedDocument:
    node = parse(text)
    return PreparedDocument(name="test", node=node, operation_names=frozenset({"Q"}), digest="d")


def test_unchanging_fields_through_fragments_are_accepted() -> None:
    text = """
    query Q($ids: [ID!]!) { videos(ids: $ids) { id ...V __typename } }
    fragment V on Video { title playUrl author { name avatar } }
    """
    check_unchanging(schema._schema, _document(text), "Q")


@pytest.mark.parametrize(
    "selection",
    ["favoriteCount", "viewerHasLiked", "author { followerCount }", "author { viewerIsFollowing }"],
)
def test_a_field_that_changes_is_refused(selection: str) -> None:
    text = f"query Q($ids: [ID!]!) {{ videos(ids: $ids) {{ id {selection} }} }}"
    with pytest.raises(ChangingFieldError):
        check_unchanging(schema._schema, _document(text), "Q")
