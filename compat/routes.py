"""The route table: each douyin route, its fixed operation, its parameters and how the result is shaped.

A handler only maps parameters to variables and the result to douyin JSON; behaviour (auth, limits,
idempotency, counters) belongs to the schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from compat.call import Call
from compat.envelope import CompatError, bad_parameter
from compat.execution import collect_pages
from compat.params import Kind, Param
from compat.shapes import comment_json, friend_json, message_json, user_json, video_json
from compat.times import from_datetime, to_datetime

# Whole lists are returned (the APK does not page), up to these bounds.
LIST_MAX_ITEMS = 1000
CHAT_MAX_MESSAGES = 5000

Payload = dict[str, Any]
Handler = Callable[[Call], Awaitable[Payload]]
NO_TOKEN_USER = "User doesn't exist: the token is missing, invalid or expired"
READ = ("GET", "POST")  # the APK uses GET; POST is accepted too, it changes nothing
ACTION = ("POST",)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


INT64 = {"type": "integer", "format": "int64"}
STRING = {"type": "string"}


@dataclass(frozen=True, slots=True)
class RouteSpec:
    path: str  # with the trailing slash the APK sends; served without it too
    methods: tuple[str, ...]
    summary: str
    operation: str  # operations/<operation>.graphql
    params: tuple[Param, ...]
    handler: Handler
    # Success fields beyond the envelope, as OpenAPI schemas.
    response: Mapping[str, Any] = field(default_factory=dict)
    # Fields present on failure too, so strict clients always find them.
    failure_defaults: Mapping[str, Any] = field(default_factory=dict)
    form_first: bool = False  # publish: multipart parts win over the query string
    upload: bool = False


def token(required: bool) -> Param:
    if required:
        return Param("token", Kind.TOKEN, required=True, description="The token from register/login.")
    return Param(
        "token",
        Kind.TOKEN,
        description="The token from register/login; missing or invalid means an anonymous caller.",
    )


def user_id(required: bool = True, description: str = "The user whose list this is.") -> Param:
    return Param("user_id", Kind.ID, required=required, description=description)


def action_type(*choices: int, description: str) -> Param:
    return Param("action_type", Kind.ACTION, required=True, choices=choices, description=description)


def _credentials() -> tuple[Param, ...]:
    return (
        Param("username", Kind.TEXT, required=True, max_length_setting="username_max"),
        Param(
            "password",
            Kind.TEXT,
            required=True,
            max_length_setting="password_max",
            description="At least `password_min` characters.",
        ),
    )


async def feed(call: Call) -> Payload:
    size = call.settings.feed_page_size
    variables = {"first": size + 1, "before": to_datetime(call.params["latest_time"])}
    nodes = (await call.run("Feed", variables))["feed"]["nodes"]
    nodes, next_time = _page_by_millisecond(nodes, size, call.now_ms)
    return {"next_time": next_time, "video_list": [video_json(node) for node in nodes]}


def _page_by_millisecond(
    nodes: list[Mapping[str, Any]], size: int, now_ms: int
) -> tuple[list[Mapping[str, Any]], int]:
    """At most `size` of `nodes` (newest first, one more fetched than shown) and the `next_time` that
    continues after them. The APK pages by time alone ("older than next_time"), so videos sharing the
    page's last millisecond with the next video are held back for the next page, which then starts at
    that millisecond: none is skipped, none repeated."""
    if len(nodes) <= size:
        return nodes, from_datetime(nodes[-1]["createdAt"]) if nodes else now_ms
    last = from_datetime(nodes[size - 1]["createdAt"])
    if from_datetime(nodes[size]["createdAt"]) != last:
        return nodes[:size], last
    newer = [node for node in nodes[:size] if from_datetime(node["createdAt"]) != last]
    if not newer:  # more videos in one millisecond than a page holds: show a page of them
        return nodes[:size], last
    return newer, last + 1


def _auth(operation: str, field_name: str) -> Handler:
    async def handler(call: Call) -> Payload:
        variables = {"username": call.params["username"], "password": call.params["password"]}
        payload = (await call.run(operation, variables))[field_name]
        return {"user_id": int(payload["user"]["id"]), "token": payload["token"]}

    return handler


async def user_info(call: Call) -> Payload:
    wanted = call.params["user_id"]
    if wanted is None:
        user = (await call.run("Viewer", {}))["viewer"]
        if user is None:
            raise CompatError("UNAUTHENTICATED", NO_TOKEN_USER)
    else:
        user = (await call.run("UserById", {"id": str(wanted)}))["user"]
        if user is None:
            raise CompatError("NOT_FOUND", "User doesn't exist")
    return {"user": user_json(user)}


async def publish_action(call: Call) -> Payload:
    await call.run("PublishVideo", {"title": call.params["title"], "file": call.params["data"]})
    return {}


def _user_connection(
    operation: str, field_name: str, list_key: str, shape: Callable[[Mapping[str, Any]], Payload]
) -> Handler:
    """A whole list from one of a user's connections (videos, favorites, following, followers)."""

    async def handler(call: Call) -> Payload:
        owner = str(call.params["user_id"])

        async def page(first: int, after: str | None) -> Mapping[str, Any]:
            user = (await call.run(operation, {"userId": owner, "first": first, "after": after}))["user"]
            if user is None:
                raise CompatError("NOT_FOUND", "User doesn't exist")
            connection: Mapping[str, Any] = user[field_name]
            return connection

        nodes = await collect_pages(page, page_size=call.page_size, max_items=LIST_MAX_ITEMS)
        return {list_key: [shape(node) for node in nodes]}

    return handler


async def favorite_action(call: Call) -> Payload:
    operation = "LikeVideo" if call.params["action_type"] == 1 else "UnlikeVideo"
    await call.run(operation, {"videoId": str(call.params["video_id"])})
    return {}


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


async def comment_list(call: Call) -> Payload:
    video_id = str(call.params["video_id"])

    async def page(first: int, after: str | None) -> Mapping[str, Any]:
        variables = {"videoId": video_id, "first": first, "after": after}
        video = (await call.run("CommentList", variables))["video"]
        if video is None:
            raise CompatError("NOT_FOUND", "Video doesn't exist")
        connection: Mapping[str, Any] = video["comments"]
        return connection

    nodes = await collect_pages(page, page_size=call.page_size, max_items=LIST_MAX_ITEMS)
    return {"comment_list": [comment_json(node) for node in nodes]}


async def relation_action(call: Call) -> Payload:
    operation = "FollowUser" if call.params["action_type"] == 1 else "UnfollowUser"
    await call.run(operation, {"userId": str(call.params["to_user_id"])})
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
                raise CompatError("NOT_FOUND", "User doesn't exist")
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
    after = to_datetime(call.params["pre_msg_time"]) if call.params["pre_msg_time"] else None
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


VIDEO_LIST = {"video_list": _list_of("Video")}

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        "/feed/",
        READ,
        "Video stream: at most `feed_page_size` videos, newest first, published strictly before latest_time.",
        "feed",
        (
            Param(
                "latest_time",
                Kind.LATEST_TIME,
                description="Epoch time: above 10^11 in ms, else seconds. Absent, 0 or unparseable: now.",
            ),
            token(required=False),
        ),
        feed,
        response={
            "next_time": {
                **INT64,
                "description": (
                    "Epoch ms to send back as latest_time for the next page: the batch's oldest video"
                    " (one ms later when videos of that ms were held back for the next page; now if empty)."
                ),
            },
            **VIDEO_LIST,
        },
        failure_defaults={"video_list": []},
    ),
    RouteSpec(
        "/user/register/",
        ACTION,
        "Create an account; the token works at once.",
        "register",
        _credentials(),
        _auth("Register", "register"),
        response={"user_id": INT64, "token": STRING},
        failure_defaults={"token": ""},
    ),
    RouteSpec(
        "/user/login/",
        ACTION,
        "Sign in.",
        "login",
        _credentials(),
        _auth("Login", "login"),
        response={"user_id": INT64, "token": STRING},
        failure_defaults={"token": ""},
    ),
    RouteSpec(
        "/user/",
        READ,
        "A user's profile; without user_id, the token owner's.",
        "user",
        (
            user_id(required=False, description="The user to show; default: the token's owner."),
            token(required=False),
        ),
        user_info,
        response={"user": _ref("User")},
    ),
    RouteSpec(
        "/publish/action/",
        ACTION,
        "Upload a video (multipart/form-data); parts win over the query string here.",
        "publish_action",
        (
            Param("data", Kind.FILE, required=True, description="The video file."),
            token(required=True),
            Param("title", Kind.TEXT, required=True, max_length_setting="title_max"),
        ),
        publish_action,
        form_first=True,
        upload=True,
    ),
    RouteSpec(
        "/publish/list/",
        READ,
        "All videos a user published, newest first.",
        "publish_list",
        (user_id(), token(required=False)),
        _user_connection("PublishList", "videos", "video_list", video_json),
        response=VIDEO_LIST,
        failure_defaults={"video_list": []},
    ),
    RouteSpec(
        "/favorite/action/",
        ACTION,
        "Like (1) or unlike (2) a video; repeating either changes nothing and still succeeds.",
        "favorite_action",
        (
            token(required=True),
            Param("video_id", Kind.ID, required=True),
            action_type(1, 2, description="1 = like, 2 = unlike."),
        ),
        favorite_action,
    ),
    RouteSpec(
        "/favorite/list/",
        READ,
        "All videos a user liked, most recently liked first.",
        "favorite_list",
        (user_id(), token(required=False)),
        _user_connection("FavoriteList", "favorites", "video_list", video_json),
        response=VIDEO_LIST,
        failure_defaults={"video_list": []},
    ),
    RouteSpec(
        "/comment/action/",
        ACTION,
        "Comment on a video (1, returns the comment) or delete one (2: its writer or the video's owner).",
        "comment_action",
        (
            token(required=True),
            Param("video_id", Kind.ID, required=True),
            action_type(1, 2, description="1 = publish a comment, 2 = delete one."),
            Param(
                "comment_text",
                Kind.TEXT,
                max_length_setting="comment_max",
                description="Required when action_type is 1.",
            ),
            Param("comment_id", Kind.ID, description="Required when action_type is 2."),
        ),
        comment_action,
        response={"comment": {**_ref("Comment"), "description": "Present when action_type is 1."}},
    ),
    RouteSpec(
        "/comment/list/",
        READ,
        "All comments on a video, newest first.",
        "comment_list",
        (token(required=False), Param("video_id", Kind.ID, required=True)),
        comment_list,
        response={"comment_list": _list_of("Comment")},
        failure_defaults={"comment_list": []},
    ),
    RouteSpec(
        "/relation/action/",
        ACTION,
        "Follow (1) or unfollow (2) a user; repeating either changes nothing and still succeeds.",
        "relation_action",
        (
            token(required=True),
            Param("to_user_id", Kind.ID, required=True),
            action_type(1, 2, description="1 = follow, 2 = unfollow."),
        ),
        relation_action,
    ),
    RouteSpec(
        "/relation/follow/list/",
        READ,
        "Everyone a user follows.",
        "follow_list",
        (user_id(), token(required=False)),
        _user_connection("FollowList", "following", "user_list", user_json),
        response={"user_list": _list_of("User")},
        failure_defaults={"user_list": []},
    ),
    RouteSpec(
        "/relation/follower/list/",
        READ,
        "Everyone who follows a user.",
        "follower_list",
        (user_id(), token(required=False)),
        _user_connection("FollowerList", "followers", "user_list", user_json),
        response={"user_list": _list_of("User")},
        failure_defaults={"user_list": []},
    ),
    RouteSpec(
        "/relation/friend/list/",
        READ,
        "A user's friends (mutual follows), each with the latest message between the caller and them.",
        "friend_list",
        (
            user_id(required=False, description="Whose friends; default: the token's owner."),
            token(required=False),
        ),
        friend_list,
        response={"user_list": _list_of("FriendUser")},
        failure_defaults={"user_list": []},
    ),
    RouteSpec(
        "/message/action/",
        ACTION,
        "Send a message to any existing user (no friendship needed).",
        "message_action",
        (
            token(required=True),
            Param("to_user_id", Kind.ID, required=True),
            action_type(1, description="1 = send."),
            Param("content", Kind.TEXT, required=True, max_length_setting="message_max"),
        ),
        message_action,
    ),
    RouteSpec(
        "/message/chat/",
        READ,
        "The conversation with to_user_id, both directions, oldest first; strictly newer than pre_msg_time.",
        "message_chat",
        (
            token(required=True),
            Param("to_user_id", Kind.ID, required=True),
            Param(
                "pre_msg_time",
                Kind.MESSAGE_TIME,
                description="The create_time (epoch ms) of the newest message held; absent or 0: everything.",
            ),
        ),
        message_chat,
        response={"message_list": _list_of("Message")},
        failure_defaults={"message_list": []},
    ),
)
