"""`/graphql` answers a query or mutation POSTed as JSON itself, without the Strawberry view: the answers
(status, body, error codes, the metrics' operation labels) are the view's, whatever the request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from schema.http import GraphQLView, create_graphql_app
from storage.services import Services
from tests.support.factories import add_users, add_videos

BIG_QUERY = "{ " + " ".join(f"a{n}: __typename" for n in range(200)) + " }"


@pytest.fixture
async def view_and_client(services: Services) -> AsyncIterator[tuple[GraphQLView, httpx.AsyncClient]]:
    app = create_graphql_app(services)
    view = app.app  # type: ignore[attr-defined]
    assert isinstance(view, GraphQLView)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield view, http


async def _both(
    view: GraphQLView, client: httpx.AsyncClient, body: dict[str, Any], token: str | None = None
) -> tuple[tuple[int, Any], tuple[int, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answers = []
    for direct in (True, False):
        view.direct = direct
        response = await client.post("/graphql", json=body, headers=headers)
        answers.append((response.status_code, response.json()))
    view.direct = True
    return answers[0], answers[1]


def _operations(name: str, outcome: str) -> float:
    labels = {"operation": name, "type": "query", "outcome": outcome}
    return REGISTRY.get_sample_value("douyin_graphql_operations_total", labels) or 0.0


async def test_the_direct_path_is_on_with_the_schemas_extensions(
    view_and_client: tuple[GraphQLView, httpx.AsyncClient],
) -> None:
    view, _ = view_and_client
    assert view.direct


@pytest.mark.parametrize(
    "query",
    [
        "query Me { viewer { id name followCount } }",
        "query One($id: ID!) { user(id: $id) { id name viewerIsFollowing } }",
        'query Missing { user(id: "987654") { id } }',
        "query Talk($id: ID!) { conversation(withUserId: $id) { id } }",
        "query Wrong($id: ID!) { user(id: $id) { id } }",  # the variable is left out: a bad variable
        "{ viewer { id } } query Named { __typename }",  # no operationName with two operations
        "{ nosuchfield }",
        "{ viewer { id ",
        "subscription { messageReceived { id } }",
        BIG_QUERY,
    ],
    ids=[
        "viewer",
        "variables",
        "null",
        "resolver-error",
        "bad-variable",
        "ambiguous",
        "invalid",
        "syntax",
        "subscription",
        "too-many-aliases",
    ],
)
async def test_the_direct_answer_is_the_views(
    view_and_client: tuple[GraphQLView, httpx.AsyncClient], services: Services, query: str
) -> None:
    view, client = view_and_client
    (me, other) = await add_users(services, 2)
    variables = {} if "Wrong" in query else {"id": other.gid}
    for token in (me.token, None):
        direct, through_view = await _both(view, client, {"query": query, "variables": variables}, token)
        assert direct == through_view


async def test_a_mutation_and_a_chosen_operation_answer_as_through_the_view(
    view_and_client: tuple[GraphQLView, httpx.AsyncClient], services: Services
) -> None:
    view, client = view_and_client
    (me,) = await add_users(services, 1)
    (video_id,) = await add_videos(services, me, 1)
    like = "mutation Like($v: ID!) { likeVideo(videoId: $v) { id favoriteCount viewerHasLiked } }"
    direct, through_view = await _both(
        view, client, {"query": like, "variables": {"v": str(video_id)}}, me.token
    )
    assert direct == through_view  # the second like changes nothing
    assert direct[1]["data"]["likeVideo"]["viewerHasLiked"] is True
    two = "query A { __typename } query B { viewer { id } }"
    direct, through_view = await _both(view, client, {"query": two, "operationName": "B"}, me.token)
    assert direct == through_view == (200, {"data": {"viewer": {"id": me.gid}}})


async def test_the_operation_is_counted_as_through_the_view(
    view_and_client: tuple[GraphQLView, httpx.AsyncClient],
) -> None:
    view, client = view_and_client
    before = _operations("anonymous", "ok")
    await _both(view, client, {"query": "{ __typename }"})
    assert _operations("anonymous", "ok") == before + 2
