"""The fixed operations behind the douyin routes: complete documents that validate against the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema

from compat.documents import FRAGMENTS_FILE, OPERATIONS_DIR, OperationError, load_document
from compat.routes import ROUTES
from schema import schema

SMALL_SDL = """
type Query { user(id: ID!): User }
type User { id: ID! name: String! friend: User }
"""
FRAGMENTS = """
fragment Basic on User { id name }
fragment WithFriend on User { ...Basic friend { ...Basic } }
fragment Unused on User { id }
"""


def test_every_route_has_an_operation_file_and_every_file_a_route() -> None:
    files = {path.stem for path in OPERATIONS_DIR.glob("*.graphql")} - {Path(FRAGMENTS_FILE).stem}
    assert files == {spec.operation for spec in ROUTES}
    assert len(ROUTES) == 16


def test_every_route_operation_validates_against_the_schema() -> None:
    for spec in ROUTES:
        document = load_document(spec.operation, schema._schema)  # raises OperationError when stale
        assert document.name == spec.operation


def test_operations_carry_only_the_fragments_they_use(tmp_path: Path) -> None:
    (tmp_path / FRAGMENTS_FILE).write_text(FRAGMENTS)
    (tmp_path / "one.graphql").write_text("query One($id: ID!) { user(id: $id) { ...WithFriend } }")
    document = load_document("one", build_schema(SMALL_SDL), tmp_path)
    assert "fragment WithFriend" in document.text
    assert "fragment Basic" in document.text  # used through WithFriend
    assert "Unused" not in document.text
    assert document.operation_names == {"One"}


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("query Bad { user(id: 1) { age } }", "Cannot query field 'age'"),
        ("query Bad { user(id: 1) { ...Missing } }", "unknown fragment Missing"),
        ("query Bad { user(id: 1) { ", "Syntax Error"),
    ],
)
def test_a_stale_operation_is_refused_with_its_file_name(tmp_path: Path, source: str, problem: str) -> None:
    (tmp_path / FRAGMENTS_FILE).write_text(FRAGMENTS)
    (tmp_path / "bad.graphql").write_text(source)
    with pytest.raises(OperationError, match=problem) as caught:
        load_document("bad", build_schema(SMALL_SDL), tmp_path)
    assert "bad.graphql" in str(caught.value)
