"""Properties of `/graphql` over HTTP, over generated requests: whatever arrives (any JSON, any bytes, any
variables, any query text, any GET parameters), the answer is JSON, never a server error, and every error
carries an `extensions.code`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Backend

JSON = {"content-type": "application/json"}
FEED = "query Feed($first: Int, $after: String) { feed(first: $first, after: $after) { nodes { id title } } }"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
# Bodies shaped like requests, with every member possibly wrong.
request_like = st.fixed_dictionaries(
    {},
    optional={
        "query": st.one_of(st.text(max_size=60), json_values, st.just(FEED), st.just("{ __typename }")),
        "variables": json_values,
        "operationName": st.one_of(st.text(max_size=10), json_values),
        "extensions": json_values,
    },
)
# Reusing one app across examples is the point: it must hold up after every bad request before.
examples = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def backend(sqlite_backend: Backend) -> Backend:
    """The transport is the same on every database: one is enough."""
    return sqlite_backend


def encode(value: Any) -> bytes:
    """Python's encoder, which also writes what orjson refuses (NaN, integers beyond 64 bits)."""
    return json.dumps(value).encode()


def check_answer(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 400, 405, 413, 415), response.status_code
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = orjson.loads(response.content)
    assert isinstance(body, dict), body
    assert "data" in body or "errors" in body, body
    for error in body.get("errors") or []:
        assert isinstance(error["message"], str)
        assert error["message"]
        assert isinstance(error["extensions"]["code"], str), error
        assert "Traceback" not in error["message"]
    if response.status_code == 400:
        assert body.get("errors"), body
    return body


@examples
@given(json_values)
async def test_any_json_body(client: httpx.AsyncClient, value: Any) -> None:
    response = await client.post("/graphql", content=encode(value), headers=JSON)
    check_answer(response)


@examples
@given(st.binary(max_size=200))
async def test_any_bytes_body(client: httpx.AsyncClient, data: bytes) -> None:
    check_answer(await client.post("/graphql", content=data, headers=JSON))


@examples
@given(request_like)
async def test_any_request_shaped_body(client: httpx.AsyncClient, request: dict[str, Any]) -> None:
    response = await client.post("/graphql", content=encode(request), headers=JSON)
    body = check_answer(response)
    if request.get("query") == "{ __typename }" and set(request) == {"query"}:
        assert body == {"data": {"__typename": "Query"}}


@examples
@given(json_values)
async def test_any_variables_of_a_real_operation(client: httpx.AsyncClient, variables: Any) -> None:
    response = await client.post(
        "/graphql",
        content=encode({"query": FEED, "variables": variables}),
        headers=JSON,
    )
    body = check_answer(response)
    valid = variables is None or (
        isinstance(variables, dict)
        and set(variables) <= {"first", "after"}
        and variables.get("first") is None
        and variables.get("after") is None
    )
    if valid:
        assert body.get("data", {}).get("feed") == {"nodes": []}, body


@examples
@given(
    st.dictionaries(
        st.sampled_from(["query", "variables", "operationName", "extensions", "x"]),
        st.text(max_size=40),
        max_size=4,
    )
)
async def test_any_get_parameters(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await client.get("/graphql", params=params, headers={"accept": "application/json"})
    check_answer(response)
