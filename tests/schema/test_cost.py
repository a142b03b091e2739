"""The cost limit: nested page sizes multiply, and an operation estimated above MAX_QUERY_COST is refused
before anything runs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import parse

from app import create_app
from schema import schema
from schema.cost import estimate_nodes
from settings import Settings
from storage.services import Services
from tests.conftest import StatementCounter
from tests.support.factories import add_comments, add_users, add_videos
from tests.support.graphql import data_of, gql
from tests.support.hostile import FAN_OUT, fan_out_query

# The web client's pages: a signed-in feed page with a few comments under each video, a profile.
FEED_WITH_COMMENTS = """
query FeedPage($first: Int) {
  viewer { id name avatar }
  feed(first: $first) {
    edges {
      cursor
      node {
        id title playUrl coverUrl favoriteCount commentCount viewerHasLiked createdAt
        author { id name avatar viewerIsFollowing }
        comments(first: 3) { nodes { id content author { id name avatar } } }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""
PROFILE = """
query Profile($id: ID!) {
  user(id: $id) {
    id name signature avatar backgroundImage followCount followerCount totalFavorited workCount
    viewerIsFollowing
    videos(first: 30) {
      nodes { id title coverUrl favoriteCount commentCount }
      pageInfo { hasNextPage endCursor }
    }
    favorites(first: 30) { nodes { id title coverUrl author { id name } } }
    followers(first: 30) { nodes { id name avatar viewerIsFollowing } }
    following(first: 30) { nodes { id name avatar viewerIsFollowing } }
    friends(first: 30) { edges { node { id name avatar } lastMessage { id content createdAt } } }
  }
}"""


DEFAULT_LIMIT = int(Settings.model_fields["max_query_cost"].default)


def _estimate(query: str, variables: dict[str, Any] | None = None, max_page_size: int = 100) -> int:
    return estimate_nodes(schema._schema, parse(query), None, variables, max_page_size)


def test_nested_page_sizes_multiply() -> None:
    # the connection, 10 nodes; under each: a connection, 5 nodes, and each node's author
    query = "{ feed(first: 10) { nodes { id comments(first: 5) { nodes { id author { id } } } } } }"
    assert _estimate(query) == 1 + 10 + 10 * (1 + 5 + 5)


def test_page_sizes_come_from_variables_defaults_and_the_maximum() -> None:
    query = (
        "query($n: Int, $m: Int = 4) { feed(first: $n) { nodes { comments(first: $m) { nodes { id } } } } }"
    )
    assert _estimate(query, {"n": 2}) == 1 + 2 + 2 * (1 + 4)
    assert _estimate(query, {"n": 2, "m": 7}) == 1 + 2 + 2 * (1 + 7)
    # no value and no default: the field's own default page (30)
    assert _estimate(query, {}) == 1 + 30 + 30 * (1 + 4)
    # above the maximum the field refuses the page, so it never counts more than the maximum
    assert _estimate("{ feed(first: 5000) { nodes { id } } }") == 1 + 100


def test_fragments_and_edges_count_like_inline_selections() -> None:
    inline = "{ feed(first: 3) { edges { node { id author { id } } } } }"
    spread = (
        "{ feed(first: 3) { edges { ...E } } }"
        " fragment E on VideoEdge { node { ...V } } fragment V on Video { id author { id } }"
    )
    assert _estimate(spread) == _estimate(inline) == 1 + 3 * (1 + 1 + 1)


def test_repeated_spreads_are_costed_without_walking_each_one() -> None:
    # Each level spreads the one below twice: 2^20 paths if every spread were walked.
    fragments = ["fragment F0 on Video { id }"]
    for level in range(1, 21):
        branch = f"comments(first: 1) {{ nodes {{ video {{ ...F{level - 1} }} }} }}"
        fragments.append(f"fragment F{level} on Video {{ a: {branch} b: {branch} }}")
    query = '{ video(id: "1") { ...F20 } } ' + " ".join(fragments)
    # per level, each branch: the connection, one node, its video, and what the level below costs
    assert _estimate(query) == 1 + 6 * (2**20 - 1)


def test_the_hostile_fan_out_is_estimated_far_above_the_limit() -> None:
    assert _estimate(FAN_OUT) > 1_000_000


@pytest.mark.parametrize("query", [FEED_WITH_COMMENTS, PROFILE])
def test_the_web_clients_pages_pass_the_default_limit(query: str) -> None:
    assert _estimate(query, {"first": 100, "id": "1"}) <= DEFAULT_LIMIT


async def test_over_the_limit_is_refused_before_any_statement(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter
) -> None:
    [author, *writers] = await add_users(services, 3)
    [video_id] = await add_videos(services, author, 1)
    await add_comments(services, video_id, writers, 4)
    sql_counter.reset()
    body = await gql(client, FAN_OUT)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    estimate = _estimate(FAN_OUT)
    assert str(estimate) in error["message"]
    assert str(DEFAULT_LIMIT) in error["message"]
    assert sql_counter.statements == []


async def test_the_same_shape_with_small_pages_runs(client: httpx.AsyncClient, services: Services) -> None:
    [author, *writers] = await add_users(services, 3)
    [video_id] = await add_videos(services, author, 1)
    await add_comments(services, video_id, writers, 4)
    data = await data_of(client, fan_out_query(first=3, aliases=2))
    assert len(data["a0"]["nodes"]) == 1
    [video] = data["a0"]["nodes"]
    assert len(video["comments"]["nodes"]) == 3


async def test_variables_are_weighed_with_their_values(client: httpx.AsyncClient, services: Services) -> None:
    query = "query($n: Int) { feed(first: $n) { nodes { comments(first: $n) { nodes { author { id } } } } } }"
    assert "errors" not in await gql(client, query, {"n": 10})  # 1 + 10 + 10 * (1 + 10 + 10)
    body = await gql(client, query, {"n": 100})
    assert [error["extensions"]["code"] for error in body["errors"]] == ["QUERY_TOO_COMPLEX"]


async def test_the_limit_is_a_setting(services: Services) -> None:
    services.settings = services.settings.model_copy(update={"max_query_cost": 50})
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        assert "errors" not in await gql(http, "{ feed(first: 49) { nodes { id } } }")
        body = await gql(http, "{ feed(first: 50) { nodes { id } } }")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "51" in error["message"]
    assert "50" in error["message"]
