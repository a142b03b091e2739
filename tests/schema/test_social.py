"""Follows: mutations, counts, lists, friends and viewerIsFollowing."""

from __future__ import annotations

import httpx

from storage.services import Services
from tests.support.factories import add_messages, add_users
from tests.support.graphql import data_of, error_codes

FOLLOW = "mutation($id: ID!) { followUser(userId: $id) { id followerCount viewerIsFollowing } }"
UNFOLLOW = "mutation($id: ID!) { unfollowUser(userId: $id) { id followerCount viewerIsFollowing } }"
COUNTS = "query($id: ID!) { user(id: $id) { followCount followerCount viewerIsFollowing } }"
LISTS = """
query($id: ID!) {
  user(id: $id) {
    following { nodes { id } }
    followers { nodes { id viewerIsFollowing } }
    friends {
      nodes { id }
      edges { cursor node { id } lastMessage { content sender { id } recipient { id } } }
    }
  }
}"""


async def test_follow_and_unfollow_are_idempotent_with_exact_counts(
    client: httpx.AsyncClient, services: Services
) -> None:
    fan, star = await add_users(services, 2)
    for _ in range(2):
        followed = (await data_of(client, FOLLOW, {"id": star.gid}, token=fan.token))["followUser"]
        assert followed == {"id": star.gid, "followerCount": 1, "viewerIsFollowing": True}
    assert (await data_of(client, COUNTS, {"id": fan.gid}, token=star.token))["user"] == {
        "followCount": 1,
        "followerCount": 0,
        "viewerIsFollowing": False,
    }
    # Anonymous and self views never say "following".
    assert (await data_of(client, COUNTS, {"id": star.gid}))["user"]["viewerIsFollowing"] is False
    assert (await data_of(client, COUNTS, {"id": star.gid}, token=star.token))["user"][
        "viewerIsFollowing"
    ] is False

    for _ in range(2):
        unfollowed = (await data_of(client, UNFOLLOW, {"id": star.gid}, token=fan.token))["unfollowUser"]
        assert unfollowed == {"id": star.gid, "followerCount": 0, "viewerIsFollowing": False}
    assert (await data_of(client, COUNTS, {"id": fan.gid}))["user"]["followCount"] == 0


async def test_follow_errors(client: httpx.AsyncClient, services: Services) -> None:
    [fan] = await add_users(services, 1)
    assert await error_codes(client, FOLLOW, {"id": fan.gid}, token=fan.token) == ["BAD_USER_INPUT"]
    assert await error_codes(client, FOLLOW, {"id": "123456"}, token=fan.token) == ["NOT_FOUND"]
    assert await error_codes(client, UNFOLLOW, {"id": "123456"}, token=fan.token) == ["NOT_FOUND"]
    assert await error_codes(client, FOLLOW, {"id": "12a"}, token=fan.token) == ["BAD_USER_INPUT"]
    assert await error_codes(client, FOLLOW, {"id": fan.gid}) == ["UNAUTHENTICATED"]


async def test_lists_and_friends_with_last_message(client: httpx.AsyncClient, services: Services) -> None:
    me, mutual, fan, idol = await add_users(services, 4)
    for viewer, target in ((me, mutual), (mutual, me), (fan, me), (me, idol)):
        await data_of(client, FOLLOW, {"id": target.gid}, token=viewer.token)
    await add_messages(services, me, mutual, contents=["hi"], start_ms=1_700_000_000_000)
    await add_messages(services, mutual, me, contents=["hello back"], start_ms=1_700_000_000_500)
    # A message between other users must not show up.
    await add_messages(services, mutual, fan, contents=["not yours"], start_ms=1_700_000_000_900)

    user = (await data_of(client, LISTS, {"id": me.gid}, token=me.token))["user"]
    assert [n["id"] for n in user["following"]["nodes"]] == [idol.gid, mutual.gid]
    assert user["followers"]["nodes"] == [
        {"id": fan.gid, "viewerIsFollowing": False},
        {"id": mutual.gid, "viewerIsFollowing": True},
    ]
    assert [n["id"] for n in user["friends"]["nodes"]] == [mutual.gid]
    [edge] = user["friends"]["edges"]
    assert edge["lastMessage"] == {
        "content": "hello back",
        "sender": {"id": mutual.gid},
        "recipient": {"id": me.gid},
    }

    anonymous = (await data_of(client, LISTS, {"id": me.gid}))["user"]["friends"]["edges"]
    assert anonymous[0]["lastMessage"] is None


async def test_friend_without_messages_has_no_last_message(
    client: httpx.AsyncClient, services: Services
) -> None:
    me, friend = await add_users(services, 2)
    await data_of(client, FOLLOW, {"id": friend.gid}, token=me.token)
    assert (await data_of(client, LISTS, {"id": me.gid}, token=me.token))["user"]["friends"]["nodes"] == []
    await data_of(client, FOLLOW, {"id": me.gid}, token=friend.token)
    [edge] = (await data_of(client, LISTS, {"id": me.gid}, token=me.token))["user"]["friends"]["edges"]
    assert edge["node"]["id"] == friend.gid
    assert edge["lastMessage"] is None


async def test_follower_pages_have_no_overlap_or_gaps(client: httpx.AsyncClient, services: Services) -> None:
    star, *fans = await add_users(services, 12)
    for fan in fans:
        await data_of(client, FOLLOW, {"id": star.gid}, token=fan.token)
    query = """
    query($id: ID!, $after: String) {
      user(id: $id) { followers(first: 5, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }
    }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await data_of(client, query, {"id": star.gid, "after": after}))["user"]["followers"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen, key=int) == [fan.gid for fan in fans]
    assert len(seen) == len(set(seen))
