"""Comments: list, add, delete and who may delete."""

from __future__ import annotations

import httpx

from storage.services import Services
from tests.support.factories import add_users, add_videos
from tests.support.graphql import data_of, error_codes

ADD = """
mutation($v: ID!, $c: String!) {
  addComment(videoId: $v, content: $c) { id content createdAt author { id name } video { id commentCount } }
}"""
DELETE = "mutation($id: ID!) { deleteComment(commentId: $id) { deletedCommentId video { id commentCount } } }"
LIST = """
query($v: ID!, $first: Int, $after: String) {
  video(id: $v) {
    commentCount
    comments(first: $first, after: $after) {
      nodes { id content } pageInfo { hasNextPage endCursor hasPreviousPage }
    }
  }
}"""


async def test_add_comment_counts_and_lists_newest_first(
    client: httpx.AsyncClient, services: Services
) -> None:
    owner, writer = await add_users(services, 2)
    [video_id] = await add_videos(services, owner, 1)
    ids = []
    for index in range(5):
        comment = (
            await data_of(client, ADD, {"v": str(video_id), "c": f"nice {index} 👍"}, token=writer.token)
        )["addComment"]
        assert comment["author"] == {"id": writer.gid, "name": writer.name}
        assert comment["video"]["commentCount"] == index + 1
        assert comment["createdAt"].endswith("Z")
        ids.append(comment["id"])
    seen: list[str] = []
    after = None
    while True:
        video = (await data_of(client, LIST, {"v": str(video_id), "first": 2, "after": after}))["video"]
        seen += [node["id"] for node in video["comments"]["nodes"]]
        if not video["comments"]["pageInfo"]["hasNextPage"]:
            break
        after = video["comments"]["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))
    assert video["commentCount"] == 5


async def test_comment_input_and_target_errors(client: httpx.AsyncClient, services: Services) -> None:
    owner, writer = await add_users(services, 2)
    [video_id] = await add_videos(services, owner, 1)
    variables = {"v": str(video_id), "c": "hello"}
    assert await error_codes(client, ADD, variables) == ["UNAUTHENTICATED"]
    assert await error_codes(client, ADD, {**variables, "c": ""}, token=writer.token) == ["BAD_USER_INPUT"]
    assert await error_codes(client, ADD, {**variables, "c": "字" * 501}, token=writer.token) == [
        "BAD_USER_INPUT"
    ]
    assert (await data_of(client, ADD, {**variables, "c": "字" * 500}, token=writer.token))["addComment"][
        "content"
    ] == ("字" * 500)
    assert await error_codes(client, ADD, {**variables, "v": "987654"}, token=writer.token) == ["NOT_FOUND"]
    assert await error_codes(client, DELETE, {"id": "987654"}, token=writer.token) == ["NOT_FOUND"]
    assert await error_codes(client, DELETE, {"id": "one"}, token=writer.token) == ["BAD_USER_INPUT"]


async def test_delete_allowed_to_writer_and_video_owner_only(
    client: httpx.AsyncClient, services: Services
) -> None:
    owner, writer, stranger = await add_users(services, 3)
    [video_id] = await add_videos(services, owner, 1)
    first = (await data_of(client, ADD, {"v": str(video_id), "c": "one"}, token=writer.token))["addComment"][
        "id"
    ]
    second = (await data_of(client, ADD, {"v": str(video_id), "c": "two"}, token=writer.token))["addComment"][
        "id"
    ]

    assert await error_codes(client, DELETE, {"id": first}, token=stranger.token) == ["FORBIDDEN"]
    assert await error_codes(client, DELETE, {"id": first}) == ["UNAUTHENTICATED"]

    by_writer = (await data_of(client, DELETE, {"id": first}, token=writer.token))["deleteComment"]
    assert by_writer == {"deletedCommentId": first, "video": {"id": str(video_id), "commentCount": 1}}
    by_owner = (await data_of(client, DELETE, {"id": second}, token=owner.token))["deleteComment"]
    assert by_owner["video"]["commentCount"] == 0
    # Deleting again finds nothing and changes no count.
    assert await error_codes(client, DELETE, {"id": second}, token=owner.token) == ["NOT_FOUND"]
    video = (await data_of(client, LIST, {"v": str(video_id)}))["video"]
    assert video["commentCount"] == 0
    assert video["comments"]["nodes"] == []
