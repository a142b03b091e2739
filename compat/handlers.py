"""The route handlers: each maps a call's parameters to its operation's variables and the result to
douyin JSON (the feed and the comment list: compat/live_lists.py). Behaviour (auth, limits,
idempotency, counters) belongs to the schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple

from compat.call import Call
from compat.envelope import CompatError, bad_parameter
from compat.execution import collect_pages
from compat.shapes import comment_json, friend_json, message_json, user_json, video_json
from core.clock import iso_from_ms

# Whole lists are returned (the APK does not page), up to these bounds.
LIST_MAX_ITEMS = 1000
CHAT_MAX_MESSAGES = 5000

Payload = dict[str, Any]
Handler = Callable[[Call], Awaitable[Payload]]
Shape = Callable[[Mapping[str, Any]], Payload]
NO_TOKEN_USER = "User doesn't exist: the token is missing, invalid or expired"
NO_SUCH_USER = "User doesn't exist"


def _auth(operation: str, field_name: str) -> Handler:
    async def handler(call: Call) -> Payload:
        variables = {"username": call.params["username"], "password": call.params["password"]}
        payload = (await call.run(operation, variables))[field_name]
        return {"user_id": int(payload["user"]["id"]), "token": payload["token"]}

    return handler


register = _auth("Register", "register")
login = _auth("Login", "login")


async def user_info(call: Call) -> Payload:
    wanted = call.params["user_id"]
    if wanted is None:
        user = (await call.run("Viewer", {}))["viewer"]
        if user is None:
            raise CompatError("UNAUTHENTICATED", NO_TOKEN_USER)
    else:
        user = (await call.run("UserById", {"id": str(wanted)}))["user"]
        if user is None:
            raise CompatError("NOT_FOUND", NO_SUCH_USER)
    return {"user": user_json(user)}


async def publish_action(call: Call) -> Payload:
    await call.run("PublishVideo", {"title": call.params["title"], "file": call.params["data"]})
    return {}


class Owner(NamedTuple):
    """The object (a user, a video) whose connection a list route returns whole."""

    param: str  # the route's parameter with its id
    variable: str  # the operation's variable for it
    field: str  # where the operation answers the object
    missing: str  # the failure when there is no such object


USER_OWNER = Owner("user_id", "userId", "user", NO_SUCH_USER)


def _whole_list(operation: str, owner: Owner, connection: str, list_key: str, shape: Shape) -> Handler:
    async def handler(call: Call) -> Payload:
        owner_id = str(call.params[owner.param])

        async def page(first: int, after: str | None) -> Mapping[str, Any]:
            variables = {owner.variable: owner_id, "first": first, "after": after}
            node = (await call.run(operation, variables))[owner.field]
            if node is None:
                raise CompatError("NOT_FOUND", owner.missing)
            found: Mapping[str, Any] = node[connection]
            return found

        nodes = await collect_pages(page, page_size=call.page_size, max_items=LIST_MAX_ITEMS)
        return {list_key: [shape(node) for node in nodes]}

    return handler


publish_list = _whole_list("PublishList", USER_OWNER, "videos", "video_list", video_json)
favorite_list = _whole_list("FavoriteList", USER_OWNER, "favorites", "video_list", video_json)
follow_list = _whole_list("FollowList", USER_OWNER, "following", "user_list", user_json)
follower_list = _whole_list("FollowerList", USER_OWNER, "followers", "user_list", user_json)


def _toggle(on: str, off: str, target_param: str, variable: str) -> Handler:
    """action_type 1 runs `on`, 2 runs `off`, on the object `target_param` names."""

    async def handler(call: Call) -> Payload:
        operation = on if call.params["action_type"] == 1 else off
        await call.run(operation, {variable: str(call.params[target_param])})
        return {}

    return handler


favorite_action = _toggle("LikeVideo", "UnlikeVideo", "video_id", "videoId")
relation_action = _toggle("FollowUser", "UnfollowUser", "to_user_id", "userId")


async def comment_action(call: Call) -> Payload:
    if call.params["action_type"] == 1:
        text = call.params["comment_text"]
        if text is None:
            raise bad_parameter("comment_text is required when action_type is 1")
        variables = {"videoId": str(call.params["video_id"]), "content": text}
        return {"comment": comment_json((await call.run("AddComment", variables))["addComment"])}
    comment_id = call.params["comment_id"]
    if comment_id is None:
        raise bad_parameter("comment_id is required when action_type is 2")
    await call.run("DeleteComment", {"commentId": str(comment_id)})
    return {}


async def friend_list(call: Call) -> Payload:
    owner = call.params["user_id"]
    viewer_ids: list[int] = []

    async def page(first: int, after: str | None) -> Mapping[str, Any]:
        if owner is None:
            data = await call.run("MyFriends", {"first": first, "after": after})
            user = viewer = data["viewer"]
            if user is None:
                raise CompatError("UNAUTHENTICATED", NO_TOKEN_USER)
        else:
            data = await call.run("FriendsOf", {"userId": str(owner), "first": first, "after": after})
            user, viewer = data["user"], data["viewer"]
            if user is None:
                raise CompatError("NOT_FOUND", NO_SUCH_USER)
        if viewer is not None:
            viewer_ids.append(int(viewer["id"]))
        connection: Mapping[str, Any] = user["friends"]
        return connection

    edges = await collect_pages(page, page_size=call.page_size, max_items=LIST_MAX_ITEMS, items_key="edges")
    viewer_id = viewer_ids[0] if viewer_ids else None
    return {"user_list": [friend_json(edge, viewer_id) for edge in edges]}


async def message_action(call: Call) -> Payload:
    variables = {"toUserId": str(call.params["to_user_id"]), "content": call.params["content"]}
    await call.run("SendMessage", variables)
    return {}


async def message_chat(call: Call) -> Payload:
    """The conversation strictly after `pre_msg_time` (0 = all of it), oldest first, page by page."""
    peer = str(call.params["to_user_id"])
    after = iso_from_ms(call.params["pre_msg_time"]) if call.params["pre_msg_time"] else None
    messages: list[Mapping[str, Any]] = []
    while len(messages) < CHAT_MAX_MESSAGES:
        first = min(call.page_size, CHAT_MAX_MESSAGES - len(messages))
        batch = (await call.run("Conversation", {"withUserId": peer, "after": after, "first": first}))[
            "conversation"
        ]
        messages.extend(batch)
        if len(batch) < first:
            break
        after = batch[-1]["createdAt"]
    return {"message_list": [message_json(message) for message in messages]}
