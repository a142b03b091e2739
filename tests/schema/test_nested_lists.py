"""Connection fields under lists: one statement per kind of list, whatever the number of parents, and
the same pages as asking each parent alone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from storage.services import Services
from tests.conftest import StatementCounter
from tests.support.factories import Account, add_comments, add_follows, add_likes, add_users, add_videos
from tests.support.graphql import data_of

FEED_WITH_COMMENTS = """
query($videos: Int, $comments: Int, $after: String) {
  feed(first: $videos) {
    nodes {
      id
      comments(first: $comments, after: $after) {
        nodes { id content author { id name } }
        pageInfo { hasNextPage hasPreviousPage endCursor }
      }
    }
  }
}"""
ONE_VIDEO = """
query($id: ID!, $comments: Int, $after: String) {
  video(id: $id) {
    comments(first: $comments, after: $after) {
      nodes { id content author { id name } }
      pageInfo { hasNextPage hasPreviousPage endCursor }
    }
  }
}"""
FOLLOWERS_WITH_LISTS = """
query($id: ID!, $fans: Int) {
  user(id: $id) {
    followers(first: $fans) {
      nodes {
        id
        videos(first: 2) { nodes { id } pageInfo { hasNextPage } }
        favorites(first: 2) { nodes { id } }
        following(first: 2) { nodes { id } }
        followers(first: 2) { nodes { id } }
        friends(first: 2) { nodes { id } }
      }
    }
  }
}"""


async def _videos_with_comments(services: Services, videos: int, comments: int) -> list[int]:
    owner, *writers = await add_users(services, 4)
    ids = await add_videos(services, owner, videos)
    for index, video_id in enumerate(ids):
        # a different number of comments per video, some with none
        await add_comments(services, video_id, writers, (comments + index) % (comments + 2))
    return ids


async def _counted(
    client: httpx.AsyncClient, counter: StatementCounter, query: str, variables: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    counter.reset()
    data = await data_of(client, query, variables)
    return counter.count, data


@pytest.mark.parametrize("videos", [2, 10, 40])
async def test_comments_of_many_videos_take_one_statement(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter, videos: int
) -> None:
    await _videos_with_comments(services, videos, 5)
    count, data = await _counted(client, sql_counter, FEED_WITH_COMMENTS, {"videos": videos, "comments": 3})
    assert len(data["feed"]["nodes"]) == videos
    # the videos, the comments of all of them, the comments' authors
    assert count == 3, sql_counter.statements
    assert sum("ROW_NUMBER" in statement.upper() for statement in sql_counter.statements) == 1


async def test_each_parent_gets_the_page_it_would_get_alone(
    client: httpx.AsyncClient, services: Services
) -> None:
    await _videos_with_comments(services, 6, 4)
    nested = await data_of(client, FEED_WITH_COMMENTS, {"videos": 6, "comments": 2})
    for video in nested["feed"]["nodes"]:
        alone = await data_of(client, ONE_VIDEO, {"id": video["id"], "comments": 2})
        assert video["comments"] == alone["video"]["comments"]
        cursor = video["comments"]["pageInfo"]["endCursor"]
        if cursor is None:
            continue
        # the next page of one parent, asked with the same `after` under every parent: only the
        # parent the cursor came from has rows older than it in its own order
        following = await data_of(client, ONE_VIDEO, {"id": video["id"], "comments": 2, "after": cursor})
        assert following["video"]["comments"]["pageInfo"]["hasPreviousPage"] is True
        assert not set(_ids(following["video"]["comments"])) & set(_ids(video["comments"]))


def _ids(connection: dict[str, Any]) -> list[str]:
    return [node["id"] for node in connection["nodes"]]


async def test_pages_after_a_cursor_are_batched_and_exact(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter
) -> None:
    await _videos_with_comments(services, 5, 6)
    first_pages = await data_of(client, FEED_WITH_COMMENTS, {"videos": 5, "comments": 2})
    videos = first_pages["feed"]["nodes"]
    cursor = next(v["comments"]["pageInfo"]["endCursor"] for v in videos if v["comments"]["nodes"])
    count, later = await _counted(
        client, sql_counter, FEED_WITH_COMMENTS, {"videos": 5, "comments": 2, "after": cursor}
    )
    assert count == 3, sql_counter.statements
    for video in later["feed"]["nodes"]:
        alone = await data_of(client, ONE_VIDEO, {"id": video["id"], "comments": 2, "after": cursor})
        assert video["comments"] == alone["video"]["comments"]
        assert video["comments"]["pageInfo"]["hasPreviousPage"] is True


async def _fans_with_lists(services: Services, fans: int) -> tuple[Account, list[Account]]:
    star, *others = await add_users(services, fans + 1)
    await add_follows(services, [(fan, star) for fan in others])
    await add_follows(services, [(star, fan) for fan in others[::2]])  # friends of the star
    for index, fan in enumerate(others):
        videos = await add_videos(services, fan, index % 3, start_ms=1_700_000_000_000 + index)
        if videos:
            await add_likes(services, star, videos[:1])
            await add_likes(services, fan, videos)
    return star, others


@pytest.mark.parametrize("fans", [2, 12, 36])
async def test_every_list_under_a_list_takes_one_statement(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter, fans: int
) -> None:
    star, others = await _fans_with_lists(services, fans)
    count, data = await _counted(client, sql_counter, FOLLOWERS_WITH_LISTS, {"id": star.gid, "fans": fans})
    nodes = data["user"]["followers"]["nodes"]
    assert len(nodes) == fans
    # the user, the followers page, then one statement each for videos, favorites, following,
    # followers and friends of all the fans
    assert count == 7, sql_counter.statements
    by_id = {node["id"]: node for node in nodes}
    for index, fan in enumerate(others):
        node = by_id[fan.gid]
        assert len(node["videos"]["nodes"]) == min(index % 3, 2)
        assert node["videos"]["pageInfo"]["hasNextPage"] is (index % 3 > 2)
        assert len(node["favorites"]["nodes"]) == min(index % 3, 2)
        assert [user["id"] for user in node["following"]["nodes"]] == [star.gid]
        assert [user["id"] for user in node["followers"]["nodes"]] == ([star.gid] if index % 2 == 0 else [])
        assert [user["id"] for user in node["friends"]["nodes"]] == ([star.gid] if index % 2 == 0 else [])
