"""Guard rails, error codes for malformed requests, transport errors, masking of unexpected errors."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from graphql import ASTValidationRule, ValidationContext, get_introspection_query

from app import create_app
from schema import schema
from schema.context import build_context
from schema.guards import limit_rules
from storage.services import Services
from tests.support.factories import add_users
from tests.support.graphql import error_codes, gql


def _nested_query(depth: int) -> str:
    """`user { followers { nodes { followers { nodes ... } } } }` reaching `depth` levels (pages of
    one, so that the cost limit stays out of the way)."""
    inner = "id"
    levels = 1
    while levels + 3 <= depth:
        inner = f"followers(first: 1) {{ nodes {{ {inner} }} }}"
        levels += 2
    return f'{{ user(id: "1") {{ {inner} }} }}'


async def test_depth_limit(client: httpx.AsyncClient) -> None:
    shallow = await gql(client, _nested_query(10))
    assert "errors" not in shallow, shallow
    assert await error_codes(client, _nested_query(20)) == ["QUERY_TOO_COMPLEX"]


async def test_depth_counts_fragments(client: httpx.AsyncClient) -> None:
    fragment = (
        "fragment deep on User { followers { nodes { followers { nodes { followers { nodes {"
        " followers { nodes { id } } } } } } } } }"
    )
    outer = '{ user(id: "1") { followers { nodes { followers { nodes { ...deep } } } } } }'
    query = f"{outer} {fragment}"
    assert await error_codes(client, query) == ["QUERY_TOO_COMPLEX"]


async def test_alias_limit(client: httpx.AsyncClient) -> None:
    allowed = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(30)) + " }"
    assert "errors" not in await gql(client, allowed)
    too_many = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(31)) + " }"
    assert await error_codes(client, too_many) == ["QUERY_TOO_COMPLEX"]


async def test_token_limit(client: httpx.AsyncClient) -> None:
    too_long = "{ " + "viewer { id } " * 800 + "}"
    assert await error_codes(client, too_long) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ viewer { id ", {}),
        ("{ viewer { nope } }", {}),
        ("query($id: ID!) { user(id: $id) { id } }", {}),
        ("query($f: Int) { feed(first: $f) { nodes { id } } }", {"f": "many"}),
        ('{ feed(first: "x") { nodes { id } } }', {}),
        ("{ feed(before: 5) { nodes { id } } }", {}),
    ],
)
async def test_malformed_documents_and_variables_are_bad_user_input(
    client: httpx.AsyncClient, query: str, variables: dict[str, object]
) -> None:
    codes = await error_codes(client, query, variables)
    assert codes
    assert set(codes) == {"BAD_USER_INPUT"}


async def _json_400(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"]
    return str(error["message"])


async def test_transport_errors_are_json_400s(client: httpx.AsyncClient) -> None:
    await _json_400(
        await client.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
    )
    await _json_400(
        await client.get(
            "/graphql", params={"query": 'mutation { login(username: "a", password: "b") { token } }'}
        )
    )
    await _json_400(await client.post("/graphql", json=[{"query": "{ viewer { id } }"}]))
    await _json_400(await client.post("/graphql", json={"variables": {}}))
    multipart = await client.post(
        "/graphql",
        data={
            "operations": '{"query": "{ viewer { id } }", "variables": {"file": null}}',
            "map": '{"0": ["variables.file"]}',
        },
        files={},
    )
    assert multipart.status_code == 400
    assert multipart.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_queries_work_over_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ viewer { id } }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": None}}


async def test_unexpected_errors_are_masked_and_logged(
    client: httpx.AsyncClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [user] = await add_users(services, 1)

    async def broken(*_args: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("resolvers.social.follow_user", broken)
    with caplog.at_level(logging.ERROR, logger="douyin.graphql"):
        response = await client.post(
            "/graphql",
            json={"query": 'mutation { followUser(userId: "1") { id } }'},
            headers={"Authorization": f"Bearer {user.token}", "X-Request-ID": "req-42"},
        )
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "hunter2" not in response.text
    assert any("req-42" in record.getMessage() for record in caplog.records)


async def test_in_process_execution_uses_the_same_codes(services: Services) -> None:
    """The REST routes run operations through `schema.execute` with a context from `build_context`."""
    [user] = await add_users(services, 1)
    context = await build_context(services, request=None, token=user.token)
    assert context.viewer_id == user.id
    ok = await schema.execute("{ viewer { name } }", context_value=context)
    assert ok.data == {"viewer": {"name": user.name}}
    anonymous = await build_context(services, request=None, token="nonsense")
    failed = await schema.execute('mutation { likeVideo(videoId: "1") { id } }', context_value=anonymous)
    assert failed.errors
    assert failed.errors[0].extensions == {"code": "UNAUTHENTICATED"}


async def test_documents_are_validated_once_with_limits_on(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # graphql-core instantiates every validation rule once per validation, so counting instances of the
    # depth rule the guard rails add counts validations. The limit rules are built once, so the
    # validation cache (keyed on the rule classes) hits for a document it has seen.
    settings = services.settings
    depth_rule = limit_rules(
        settings.max_query_depth, settings.max_query_aliases, settings.introspection_enabled
    )[0]
    validations = 0
    original_init = depth_rule.__init__

    def counting_init(rule: ASTValidationRule, context: ValidationContext) -> None:
        nonlocal validations
        validations += 1
        original_init(rule, context)

    monkeypatch.setattr(depth_rule, "__init__", counting_init)
    # Named uniquely: the validation cache is shared by the whole process.
    query = f"query Once{uuid.uuid4().hex} {{ viewer {{ id name }} feed(first: 2) {{ nodes {{ id }} }} }}"
    for _ in range(5):
        assert "errors" not in await gql(client, query)
    assert validations == 1
    other = f"query Other{uuid.uuid4().hex} {{ viewer {{ id }} }}"
    assert "errors" not in await gql(client, other)
    assert validations == 2


async def test_graphiql_introspection_passes_the_limits(client: httpx.AsyncClient) -> None:
    body = await gql(client, get_introspection_query(descriptions=True))
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize(
    ("overrides", "served"),
    [({"env": "production"}, False), ({"env": "production", "graphiql": True}, True), ({}, True)],
    ids=["production", "production-enabled", "development"],
)
async def test_graphiql_and_introspection_are_off_in_production_unless_enabled(
    services: Services, overrides: dict[str, object], served: bool
) -> None:
    services.settings = services.settings.model_copy(update=overrides)
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        introspection = await gql(http, "{ __schema { queryType { name } } }")
        typename = await gql(http, "{ __typename }")
    assert (page.status_code == 200) is served
    if served:
        assert introspection["data"]["__schema"]["queryType"]["name"] == "Query"
    else:
        assert page.status_code == 404
        assert {error["extensions"]["code"] for error in introspection["errors"]} == {"FORBIDDEN"}
    assert typename == {"data": {"__typename": "Query"}}
