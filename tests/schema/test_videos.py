"""video, feed, a user's videos and favorites, likes."""

from __future__ import annotations

import httpx
import pytest

from storage.services import Services
from tests.support.factories import add_users, add_videos
from tests.support.graphql import data_of, error_codes

FEED = """
query($first: Int, $before: DateTime, $after: String) {
  feed(first: $first, before: $before, after: $after) {
    edges { cursor node { id title createdAt } }
    nodes { id }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""
VIDEO = """
query($id: ID!) {
  video(id: $id) {
    id title playUrl coverUrl favoriteCount commentCount viewerHasLiked createdAt
    author { id name totalFavorited favoriteCount workCount }
  }
}"""
LIKE = "mutation($id: ID!) { likeVideo(videoId: $id) { id favoriteCount viewerHasLiked } }"
UNLIKE = "mutation($id: ID!) { unlikeVideo(videoId: $id) { id favoriteCount viewerHasLiked } }"
COUNTS = "query($id: ID!) { user(id: $id) { totalFavorited favoriteCount } }"


async def test_video_fields_and_absolute_urls(client: httpx.AsyncClient, services: Services) -> None:
    [author] = await add_users(services, 1)
    [video_id] = await add_videos(services, author, 1, start_ms=1_796_092_800_123)
    video = (await data_of(client, VIDEO, {"id": str(video_id)}))["video"]
    assert video["title"] == "video 0"
    assert video["playUrl"] == f"http://testserver/media/videos/{author.id}/0.mp4"
    assert video["coverUrl"] == f"http://testserver/media/covers/{author.id}/0.jpg"
    assert video["createdAt"] == "2026-12-01T02:40:00.123Z"
    assert video["viewerHasLiked"] is False
    assert video["author"]["name"] == author.name
    assert video["author"]["workCount"] == 1


async def test_unknown_video_is_null_and_non_numeric_id_is_bad_input(client: httpx.AsyncClient) -> None:
    assert (await data_of(client, VIDEO, {"id": "999999"}))["video"] is None
    assert await error_codes(client, VIDEO, {"id": "abc"}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, VIDEO, {"id": "-1"}) == ["BAD_USER_INPUT"]


async def test_feed_pages_newest_first_without_overlap_or_gaps(
    client: httpx.AsyncClient, services: Services
) -> None:
    [author] = await add_users(services, 1)
    # 25 videos share one timestamp, so the id must break ties for cursors to be exact.
    tied = await add_videos(services, author, 25, step_ms=0)
    newer = await add_videos(services, author, 20, start_ms=1_750_000_000_000, step_ms=500)
    expected = [str(video_id) for video_id in [*reversed(newer), *sorted(tied, reverse=True)]]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        feed = (await data_of(client, FEED, {"first": 7, "after": after}))["feed"]
        pages += 1
        seen += [node["id"] for node in feed["nodes"]]
        assert [edge["node"]["id"] for edge in feed["edges"]] == [node["id"] for node in feed["nodes"]]
        assert feed["pageInfo"]["hasPreviousPage"] is (after is not None)
        assert feed["pageInfo"]["endCursor"] == feed["edges"][-1]["cursor"]
        if not feed["pageInfo"]["hasNextPage"]:
            break
        after = feed["pageInfo"]["endCursor"]
    assert seen == expected
    assert pages == 7


async def test_feed_cursor_is_stable_when_newer_videos_arrive(
    client: httpx.AsyncClient, services: Services
) -> None:
    [author] = await add_users(services, 1)
    ids = await add_videos(services, author, 6)
    first_page = (await data_of(client, FEED, {"first": 3}))["feed"]
    await add_videos(services, author, 3, start_ms=1_790_000_000_000)
    second_page = (await data_of(client, FEED, {"first": 3, "after": first_page["pageInfo"]["endCursor"]}))[
        "feed"
    ]
    assert [n["id"] for n in second_page["nodes"]] == [str(i) for i in reversed(ids[:3])]


async def test_feed_before_is_strict(client: httpx.AsyncClient, services: Services) -> None:
    [author] = await add_users(services, 1)
    ids = await add_videos(services, author, 5, start_ms=1_796_092_800_000, step_ms=1000)
    # ids[2] was created at 02:40:02.000; strictly older means ids[1] and ids[0].
    feed = (await data_of(client, FEED, {"before": "2026-12-01T02:40:02.000Z"}))["feed"]
    assert [n["id"] for n in feed["nodes"]] == [str(ids[1]), str(ids[0])]
    offset = (await data_of(client, FEED, {"before": "2026-12-01T10:40:02.001+08:00"}))["feed"]
    assert [n["id"] for n in offset["nodes"]] == [str(ids[2]), str(ids[1]), str(ids[0])]


@pytest.mark.parametrize("before", ["yesterday", "2026-12-01", "2026-12-01T02:40:00", "2026-13-01T00:00:00Z"])
async def test_feed_rejects_malformed_datetimes(client: httpx.AsyncClient, before: str) -> None:
    assert await error_codes(client, FEED, {"before": before}) == ["BAD_USER_INPUT"]
    literal = f'{{ feed(before: "{before}") {{ nodes {{ id }} }} }}'
    assert await error_codes(client, literal) == ["BAD_USER_INPUT"]


async def test_page_size_limits(client: httpx.AsyncClient) -> None:
    assert (await data_of(client, FEED, {"first": 100}))["feed"]["nodes"] == []
    assert await error_codes(client, FEED, {"first": 101}) == ["QUERY_TOO_COMPLEX"]
    assert await error_codes(client, FEED, {"first": -1}) == ["BAD_USER_INPUT"]
    assert await error_codes(client, FEED, {"after": "not-a-cursor"}) == ["BAD_USER_INPUT"]
    nested = '{ user(id: "1") { videos(first: 500) { nodes { id } } } }'
    # No such user: the field is null before its connection is ever read.
    assert (await data_of(client, nested))["user"] is None


async def test_like_and_unlike_are_idempotent_and_keep_counts(
    client: httpx.AsyncClient, services: Services
) -> None:
    author, fan = await add_users(services, 2)
    [video_id] = await add_videos(services, author, 1)
    variables = {"id": str(video_id)}
    for _ in range(2):
        liked = (await data_of(client, LIKE, variables, token=fan.token))["likeVideo"]
        assert liked == {"id": str(video_id), "favoriteCount": 1, "viewerHasLiked": True}
    assert (await data_of(client, COUNTS, {"id": author.gid}))["user"] == {
        "totalFavorited": 1,
        "favoriteCount": 0,
    }
    assert (await data_of(client, COUNTS, {"id": fan.gid}))["user"] == {
        "totalFavorited": 0,
        "favoriteCount": 1,
    }
    seen_by_author = (await data_of(client, VIDEO, variables, token=author.token))["video"]
    assert seen_by_author["viewerHasLiked"] is False
    assert (await data_of(client, VIDEO, variables, token=fan.token))["video"]["viewerHasLiked"] is True

    for _ in range(2):
        unliked = (await data_of(client, UNLIKE, variables, token=fan.token))["unlikeVideo"]
        assert unliked == {"id": str(video_id), "favoriteCount": 0, "viewerHasLiked": False}
    assert (await data_of(client, COUNTS, {"id": author.gid}))["user"] == {
        "totalFavorited": 0,
        "favoriteCount": 0,
    }
    assert (await data_of(client, COUNTS, {"id": fan.gid}))["user"] == {
        "totalFavorited": 0,
        "favoriteCount": 0,
    }


async def test_liking_ones_own_video_counts_on_both_sides(
    client: httpx.AsyncClient, services: Services
) -> None:
    [author] = await add_users(services, 1)
    [video_id] = await add_videos(services, author, 1)
    await data_of(client, LIKE, {"id": str(video_id)}, token=author.token)
    assert (await data_of(client, COUNTS, {"id": author.gid}))["user"] == {
        "totalFavorited": 1,
        "favoriteCount": 1,
    }


async def test_like_errors(client: httpx.AsyncClient, services: Services) -> None:
    [fan] = await add_users(services, 1)
    assert await error_codes(client, LIKE, {"id": "1"}) == ["UNAUTHENTICATED"]
    assert await error_codes(client, LIKE, {"id": "424242"}, token=fan.token) == ["NOT_FOUND"]
    assert await error_codes(client, UNLIKE, {"id": "424242"}, token=fan.token) == ["NOT_FOUND"]
    assert await error_codes(client, LIKE, {"id": "x1"}, token=fan.token) == ["BAD_USER_INPUT"]


async def test_user_videos_and_favorites(client: httpx.AsyncClient, services: Services) -> None:
    author, fan = await add_users(services, 2)
    ids = await add_videos(services, author, 4)
    # Liked in the order 2, 0, 3: favorites are most recently liked first, whatever the video's age.
    for index in (2, 0, 3):
        await data_of(client, LIKE, {"id": str(ids[index])}, token=fan.token)
    query = """
    query($id: ID!, $after: String) {
      user(id: $id) {
        videos(first: 3) { nodes { id } pageInfo { hasNextPage } }
        favorites(first: 2, after: $after) { nodes { id viewerHasLiked } pageInfo { hasNextPage endCursor } }
      }
    }"""
    user = (await data_of(client, query, {"id": author.gid}, token=fan.token))["user"]
    assert [n["id"] for n in user["videos"]["nodes"]] == [str(i) for i in (ids[3], ids[2], ids[1])]
    assert user["videos"]["pageInfo"]["hasNextPage"] is True
    assert user["favorites"]["nodes"] == []

    fan_page = (await data_of(client, query, {"id": fan.gid}, token=fan.token))["user"]["favorites"]
    assert [n["id"] for n in fan_page["nodes"]] == [str(ids[3]), str(ids[0])]
    assert all(n["viewerHasLiked"] for n in fan_page["nodes"])
    assert fan_page["pageInfo"]["hasNextPage"] is True
    after = fan_page["pageInfo"]["endCursor"]
    rest = (await data_of(client, query, {"id": fan.gid, "after": after}, token=fan.token))["user"][
        "favorites"
    ]
    assert [n["id"] for n in rest["nodes"]] == [str(ids[2])]
    assert rest["pageInfo"]["hasNextPage"] is False
