"""SQL statement counts for realistic client queries: constant whatever the page size (no N+1)."""

from __future__ import annotations

import httpx
import pytest

from storage.services import Services
from tests.conftest import StatementCounter
from tests.support.factories import Account, add_comments, add_follows, add_messages, add_users, add_videos
from tests.support.graphql import data_of

MAX_STATEMENTS = 6

FEED = """
query($first: Int) {
  feed(first: $first) {
    edges {
      cursor
      node {
        id title playUrl coverUrl favoriteCount commentCount viewerHasLiked createdAt
        author { id name avatar followCount followerCount totalFavorited workCount viewerIsFollowing }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""
FOLLOWERS = """
query($id: ID!, $first: Int) {
  user(id: $id) {
    followers(first: $first) {
      nodes { id name avatar followerCount viewerIsFollowing }
      pageInfo { hasNextPage }
    }
  }
}"""
FRIENDS = """
query($id: ID!, $first: Int) {
  user(id: $id) {
    friends(first: $first) {
      edges {
        cursor
        node { id name viewerIsFollowing }
        lastMessage { id content createdAt sender { id name } }
      }
    }
  }
}"""


async def _count(
    client: httpx.AsyncClient, counter: StatementCounter, query: str, variables: dict[str, object], token: str
) -> tuple[int, dict[str, object]]:
    counter.reset()
    data = await data_of(client, query, variables, token=token)
    return counter.count, data


@pytest.mark.parametrize("page_size", [1, 30, 100])
async def test_feed_page_statement_count_is_constant(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter, page_size: int
) -> None:
    viewer, *authors = await add_users(services, 11)
    for index, author in enumerate(authors):
        await add_videos(services, author, 10, start_ms=1_700_000_000_000 + index)
    await add_follows(services, [(viewer, author) for author in authors[::2]])
    count, data = await _count(client, sql_counter, FEED, {"first": page_size}, viewer.token)
    feed = data["feed"]
    assert isinstance(feed, dict)
    assert len(feed["edges"]) == page_size
    assert any(edge["node"]["author"]["viewerIsFollowing"] for edge in feed["edges"]) or page_size == 1
    # videos, authors, viewer's likes, viewer's follows
    assert count <= MAX_STATEMENTS, sql_counter.statements
    assert count == 4, sql_counter.statements


@pytest.mark.parametrize("page_size", [1, 30, 100])
async def test_followers_statement_count_is_constant(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter, page_size: int
) -> None:
    star, viewer, *fans = await add_users(services, 102)
    await add_follows(services, [(fan, star) for fan in fans])
    await add_follows(services, [(viewer, fan) for fan in fans[::3]])
    count, data = await _count(
        client, sql_counter, FOLLOWERS, {"id": star.gid, "first": page_size}, viewer.token
    )
    user = data["user"]
    assert isinstance(user, dict)
    assert len(user["followers"]["nodes"]) == page_size
    # the user, the followers page, viewer's follows
    assert count <= MAX_STATEMENTS, sql_counter.statements
    assert count == 3, sql_counter.statements


async def _make_friends(services: Services, me: Account, friends: list[Account]) -> None:
    """Mutual follows with two messages each; the latest is the viewer's for even friends, the
    friend's for odd ones, so senders are a mix of the viewer and the friends on the page."""
    await add_follows(services, [(me, friend) for friend in friends])
    await add_follows(services, [(friend, me) for friend in friends])
    for index, friend in enumerate(friends):
        first, last = (friend, me) if index % 2 == 0 else (me, friend)
        await add_messages(
            services, first, last, contents=[f"earlier {index}"], start_ms=1_700_000_000_000 + index
        )
        await add_messages(
            services, last, first, contents=[f"latest {index}"], start_ms=1_700_000_001_000 + index
        )


@pytest.mark.parametrize("page_size", [1, 30, 100])
async def test_friends_statement_count_is_constant(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter, page_size: int
) -> None:
    me, *friends = await add_users(services, 101)
    await _make_friends(services, me, friends)
    count, data = await _count(client, sql_counter, FRIENDS, {"id": me.gid, "first": page_size}, me.token)
    user = data["user"]
    assert isinstance(user, dict)
    edges = user["friends"]["edges"]
    assert len(edges) == page_size
    assert all(edge["lastMessage"]["content"].startswith("latest ") for edge in edges)
    senders = {edge["lastMessage"]["sender"]["id"] for edge in edges}
    friends_on_page = {edge["node"]["id"] for edge in edges}
    assert senders <= friends_on_page | {me.gid}
    if page_size > 1:
        assert me.gid in senders
        assert senders & friends_on_page
    # the user, the friends page, viewer's follows, last messages; senders are the viewer or friends
    # on the page, already in the request's user loader
    assert count <= MAX_STATEMENTS, sql_counter.statements
    assert count == 4, sql_counter.statements


COMMENTS = """
query($id: ID!, $first: Int) {
  video(id: $id) {
    id commentCount
    comments(first: $first) {
      nodes { id content createdAt author { id name avatar viewerIsFollowing } video { id } }
    }
  }
}"""


@pytest.mark.parametrize("page_size", [1, 30, 100])
async def test_comment_page_statement_count_is_constant(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter, page_size: int
) -> None:
    owner, viewer, *writers = await add_users(services, 22)
    [video_id] = await add_videos(services, owner, 1)
    await add_comments(services, video_id, writers, 5 * len(writers))
    count, data = await _count(
        client, sql_counter, COMMENTS, {"id": str(video_id), "first": page_size}, viewer.token
    )
    video = data["video"]
    assert isinstance(video, dict)
    assert len(video["comments"]["nodes"]) == page_size
    # the video, the comments page, their authors, viewer's follows (each comment's video is the one
    # already loaded)
    assert count <= MAX_STATEMENTS, sql_counter.statements
    assert count == 4, sql_counter.statements
