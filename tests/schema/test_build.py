"""Lists answer per-item fields up front; the answers must equal what each item gives on its own,
whatever way the client spells the selection (fragments, inline fragments, aliases, edges or nodes)."""

from __future__ import annotations

import httpx

from storage.services import Services
from tests.support.factories import add_comments, add_follows, add_users, add_videos
from tests.support.graphql import data_of

LIKE = "mutation($v: ID!) { likeVideo(videoId: $v) { id } }"
FEED = """
fragment Who on User { id viewerIsFollowing }
query {
  feed(first: 10) {
    nodes { id viewerHasLiked author { ...Who } }
    edges {
      node { ... on Video { id liked: viewerHasLiked writer: author { id follows: viewerIsFollowing } } }
    }
  }
}"""
ONE = "query($id: ID!) { video(id: $id) { id viewerHasLiked author { id viewerIsFollowing } } }"
FOLLOWERS = """
query($id: ID!) {
  user(id: $id) {
    followers(first: 10) { edges { node { id ...F } } }
    friends(first: 10) { nodes { id viewerIsFollowing } edges { lastMessage { id } } }
  }
}
fragment F on User { viewerIsFollowing }"""
COMMENTS = """
query($id: ID!) {
  video(id: $id) { comments(first: 10) { nodes { id author { id viewerIsFollowing } } } }
}"""


async def test_feed_answers_match_each_video_on_its_own(
    client: httpx.AsyncClient, services: Services
) -> None:
    viewer, followed, stranger = await add_users(services, 3)
    liked_ids = await add_videos(services, followed, 3)
    other_ids = await add_videos(services, stranger, 3, start_ms=1_700_000_100_000)
    await add_follows(services, [(viewer, followed)])
    for video_id in liked_ids[:2]:
        await data_of(client, LIKE, {"v": str(video_id)}, token=viewer.token)

    feed = (await data_of(client, FEED, token=viewer.token))["feed"]
    assert len(feed["nodes"]) == 6
    for node, edge in zip(feed["nodes"], feed["edges"], strict=True):
        alone = (await data_of(client, ONE, {"id": node["id"]}, token=viewer.token))["video"]
        assert node == alone
        assert edge["node"] == {
            "id": alone["id"],
            "liked": alone["viewerHasLiked"],
            "writer": {"id": alone["author"]["id"], "follows": alone["author"]["viewerIsFollowing"]},
        }
    liked = {node["id"] for node in feed["nodes"] if node["viewerHasLiked"]}
    assert liked == {str(video_id) for video_id in liked_ids[:2]}
    following = {node["author"]["id"] for node in feed["nodes"] if node["author"]["viewerIsFollowing"]}
    assert following == {followed.gid}
    assert str(other_ids[0]) in {node["id"] for node in feed["nodes"]}


async def test_user_lists_and_comments_answer_viewer_is_following(
    client: httpx.AsyncClient, services: Services
) -> None:
    viewer, star, fan = await add_users(services, 3)
    await add_follows(services, [(viewer, star), (star, viewer), (fan, star), (viewer, fan)])
    followers = (await data_of(client, FOLLOWERS, {"id": star.gid}, token=viewer.token))["user"]
    by_id = {
        edge["node"]["id"]: edge["node"]["viewerIsFollowing"] for edge in followers["followers"]["edges"]
    }
    assert by_id == {viewer.gid: False, fan.gid: True}
    assert followers["friends"]["nodes"] == [{"id": viewer.gid, "viewerIsFollowing": False}]
    assert followers["friends"]["edges"] == [{"lastMessage": None}]

    (video_id,) = await add_videos(services, star, 1)
    await add_comments(services, video_id, [star, fan], 2)
    comments = (await data_of(client, COMMENTS, {"id": str(video_id)}, token=viewer.token))["video"]
    authors = {
        node["author"]["id"]: node["author"]["viewerIsFollowing"] for node in comments["comments"]["nodes"]
    }
    assert authors == {star.gid: True, fan.gid: True}
