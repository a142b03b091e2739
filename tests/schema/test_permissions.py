"""Fields that need a signed-in viewer: refused with the same message and code, before anything runs."""

from __future__ import annotations

import httpx
import pytest

from schema import schema
from schema.context import build_context
from storage.services import Services
from tests.support.factories import add_users
from tests.support.graphql import gql

SIGN_IN_FIRST = {"message": "Sign in first", "extensions": {"code": "UNAUTHENTICATED"}}
# Ids that are not even valid: the viewer check comes before the arguments are read.
GUARDED = {
    "likeVideo": 'mutation { likeVideo(videoId: "x") { id } }',
    "unlikeVideo": 'mutation { unlikeVideo(videoId: "x") { id } }',
    "addComment": 'mutation { addComment(videoId: "x", content: "hi") { id } }',
    "deleteComment": 'mutation { deleteComment(commentId: "x") { deletedCommentId } }',
    "followUser": 'mutation { followUser(userId: "x") { id } }',
    "unfollowUser": 'mutation { unfollowUser(userId: "x") { id } }',
    "sendMessage": 'mutation { sendMessage(toUserId: "x", content: "hi") { id } }',
    "conversation": '{ conversation(withUserId: "x") { id } }',
}


@pytest.mark.parametrize("field", sorted(GUARDED))
async def test_anonymous_viewer_is_told_to_sign_in(client: httpx.AsyncClient, field: str) -> None:
    body = await gql(client, GUARDED[field])
    assert body["data"] is None
    [error] = body["errors"]
    assert {"message": error["message"], "extensions": error["extensions"]} == SIGN_IN_FIRST
    assert error["path"] == [field]


async def test_an_invalid_token_counts_as_anonymous(client: httpx.AsyncClient) -> None:
    body = await gql(client, GUARDED["followUser"], token="not-a-token")
    [error] = body["errors"]
    assert {"message": error["message"], "extensions": error["extensions"]} == SIGN_IN_FIRST


async def test_in_process_execution_refuses_the_same_way(services: Services) -> None:
    anonymous = await build_context(services, request=None, token=None)
    result = await schema.execute(GUARDED["sendMessage"], context_value=anonymous)
    [error] = result.errors or []
    assert (error.message, error.extensions) == ("Sign in first", {"code": "UNAUTHENTICATED"})


async def test_a_signed_in_viewer_gets_past_the_check(client: httpx.AsyncClient, services: Services) -> None:
    [viewer] = await add_users(services, 1)
    body = await gql(client, GUARDED["followUser"], token=viewer.token)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
