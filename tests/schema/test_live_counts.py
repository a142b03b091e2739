"""Live counters column by column, and the unchanging parts by id."""

from __future__ import annotations

import httpx

from storage.services import Services
from tests.conftest import StatementCounter
from tests.support.factories import add_comments, add_follows, add_likes, add_users, add_videos
from tests.support.graphql import data_of, error_codes

FEED_COUNTERS = """
query($first: Int, $before: DateTime) {
  feedCounters(first: $first, before: $before) {
    ids favoriteCounts commentCounts viewerHasLiked
    authors { ids followCounts followerCounts totalFavorited workCounts favoriteCounts viewerIsFollowing }
  }
}"""
FEED = "query($first: Int, $before: DateTime) { feed(first: $first, before: $before) { nodes { id } } }"
VIDEO_COUNTERS = "query($ids: [ID!]!) { videoCountersOf(ids: $ids) { ids favoriteCounts viewerHasLiked } }"
USER_COUNTERS = "query($ids: [ID!]!) { userCountersOf(ids: $ids) { ids followerCounts viewerIsFollowing } }"
COMMENT_COUNTERS = """
query($id: ID!, $first: Int, $after: String) {
  commentCounters(videoId: $id, first: $first, after: $after) {
    ids authors { ids workCounts viewerIsFollowing } pageInfo { hasNextPage endCursor }
  }
}"""
VIDEOS = "query($ids: [ID!]!) { videos(ids: $ids) { id title author { id name } } }"
COMMENTS = "query($ids: [ID!]!) { comments(ids: $ids) { id content author { id } } }"


async def test_feed_counters_follow_the_feed_with_live_counts_and_the_viewers_facts(
    client: httpx.AsyncClient, services: Services
) -> None:
    viewer, alice, bob = await add_users(services, 3)
    old = await add_videos(services, alice, 2)
    new = await add_videos(services, bob, 2, start_ms=1_750_000_000_000)
    await add_likes(services, viewer, [old[0], new[1]])
    await add_likes(services, alice, [new[1]])
    await add_follows(services, [(viewer, bob)])
    before = "2025-06-15T16:00:00.000Z"  # between the two pairs of videos
    for variables in ({"first": 3}, {"first": 5, "before": before}):
        ids = [node["id"] for node in (await data_of(client, FEED, variables))["feed"]["nodes"]]
        counters = (await data_of(client, FEED_COUNTERS, variables, token=viewer.token))["feedCounters"]
        assert counters["ids"] == ids
    counters = (await data_of(client, FEED_COUNTERS, {"first": 3}, token=viewer.token))["feedCounters"]
    assert counters["ids"] == [str(new[1]), str(new[0]), str(old[1])]
    assert counters["favoriteCounts"] == [2, 0, 0]
    assert counters["viewerHasLiked"] == [True, False, False]
    authors = counters["authors"]
    assert authors["ids"] == [bob.gid, bob.gid, alice.gid]
    assert authors["viewerIsFollowing"] == [True, True, False]
    assert authors["totalFavorited"] == [2, 2, 1]
    assert authors["workCounts"] == [2, 2, 2]
    assert authors["followerCounts"] == [0, 0, 0]  # add_follows writes rows only
    anonymous = (await data_of(client, FEED_COUNTERS, {"first": 3}))["feedCounters"]
    assert anonymous["viewerHasLiked"] == [False] * 3
    assert anonymous["authors"]["viewerIsFollowing"] == [False] * 3


async def test_counters_by_id_keep_the_order_asked_and_leave_unknown_ids_out(
    client: httpx.AsyncClient, services: Services
) -> None:
    viewer, alice = await add_users(services, 2)
    first, second = await add_videos(services, alice, 2)
    await add_likes(services, viewer, [second])
    await add_follows(services, [(viewer, alice)])
    ids = [str(second), "999999", str(first), str(second)]
    counters = (await data_of(client, VIDEO_COUNTERS, {"ids": ids}, token=viewer.token))["videoCountersOf"]
    assert counters == {
        "ids": [str(second), str(first), str(second)],
        "favoriteCounts": [1, 0, 1],
        "viewerHasLiked": [True, False, True],
    }
    users = (
        await data_of(client, USER_COUNTERS, {"ids": [alice.gid, "999999", viewer.gid]}, token=viewer.token)
    )["userCountersOf"]
    assert users == {
        "ids": [alice.gid, viewer.gid],
        "followerCounts": [0, 0],
        "viewerIsFollowing": [True, False],
    }
    assert await error_codes(client, VIDEO_COUNTERS, {"ids": ["x"]}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, VIDEO_COUNTERS, {"ids": ["1"] * 101}) == ["QUERY_TOO_COMPLEX"]


async def test_comment_counters_page_like_the_comments_and_are_null_for_no_video(
    client: httpx.AsyncClient, services: Services
) -> None:
    viewer, alice, bob = await add_users(services, 3)
    [video] = await add_videos(services, alice, 1)
    [empty] = await add_videos(services, alice, 1, start_ms=1_750_000_000_000)
    await add_comments(services, video, [alice, bob], 3, 1_700_000_100_000)
    await add_follows(services, [(viewer, bob)])
    seen: list[str] = []
    after = None
    while True:
        variables = {"id": str(video), "first": 2, "after": after}
        page = (await data_of(client, COMMENT_COUNTERS, variables, token=viewer.token))["commentCounters"]
        seen += page["ids"]
        assert len(page["authors"]["ids"]) == len(page["ids"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    texts = (await data_of(client, COMMENTS, {"ids": seen}))["comments"]
    # Newest first, written in turn by alice, bob, alice.
    assert [comment["author"]["id"] for comment in texts] == [alice.gid, bob.gid, alice.gid]
    first_page = await data_of(client, COMMENT_COUNTERS, {"id": str(video), "first": 3}, token=viewer.token)
    assert first_page["commentCounters"]["authors"]["viewerIsFollowing"] == [False, True, False]
    nothing = (await data_of(client, COMMENT_COUNTERS, {"id": str(empty)}))["commentCounters"]
    assert nothing == {"ids": [], "authors": {"ids": [], "workCounts": [], "viewerIsFollowing": []},
                       "pageInfo": {"hasNextPage": False, "endCursor": None}}  # fmt: skip
    assert (await data_of(client, COMMENT_COUNTERS, {"id": "999999"}))["commentCounters"] is None


async def test_videos_and_comments_by_id_answer_null_for_unknown_ids(
    client: httpx.AsyncClient, services: Services
) -> None:
    [alice] = await add_users(services, 1)
    [video] = await add_videos(services, alice, 1)
    await add_comments(services, video, [alice], 1, 1_700_000_100_000)
    videos = (await data_of(client, VIDEOS, {"ids": ["999999", str(video)]}))["videos"]
    assert videos == [
        None,
        {"id": str(video), "title": "video 0", "author": {"id": alice.gid, "name": alice.name}},
    ]
    assert (await data_of(client, COMMENTS, {"ids": ["999999"]}))["comments"] == [None]


async def test_feed_counters_cost_one_statement_whatever_the_page_size(
    client: httpx.AsyncClient, services: Services, sql_counter: StatementCounter
) -> None:
    viewer, *authors = await add_users(services, 31)
    for index, author in enumerate(authors):
        await add_videos(services, author, 1, start_ms=1_700_000_000_000 + index)
    for first in (1, 30):
        sql_counter.reset()
        counters = (await data_of(client, FEED_COUNTERS, {"first": first}, token=viewer.token))[
            "feedCounters"
        ]
        assert len(counters["ids"]) == first
        assert sql_counter.count == 1, sql_counter.statements
