"""The route table: each douyin route, its fixed operation, its parameters, its handler (compat/handlers.py)
and what it answers on success and on failure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from compat import handlers, live_lists
from compat.handlers import Handler
from compat.openapi_types import INT64, STRING, described, list_of, ref
from compat.params import Kind, Param

READ = ("GET", "POST")  # the APK uses GET; POST is accepted too, it changes nothing
ACTION = ("POST",)


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


def an_id(name: str, *, required: bool = True, description: str = "") -> Param:
    return Param(name, Kind.ID, required=required, description=description)


def text(name: str, limit: str, *, required: bool = True, description: str = "") -> Param:
    """Text of at most the `limit` setting's length."""
    return Param(name, Kind.TEXT, required=required, description=description, max_length_setting=limit)


def action_type(*choices: int, description: str) -> Param:
    return Param("action_type", Kind.ACTION, required=True, choices=choices, description=description)


def _credentials(
    path: str, summary: str, operation: str, handler: Handler, password_rule: str = ""
) -> RouteSpec:
    password = text("password", "password_max", description=password_rule)
    return RouteSpec(
        path,
        ACTION,
        summary,
        operation,
        (text("username", "username_max"), password),
        handler,
        response={"user_id": INT64, "token": STRING},
        failure_defaults={"token": ""},
    )


def _whole_list(
    path: str, summary: str, operation: str, params: tuple[Param, ...], handler: Handler, key: str, item: str
) -> RouteSpec:
    """A read route answering one whole list of `item` objects under `key` (an empty one on failure)."""
    return RouteSpec(
        path,
        READ,
        summary,
        operation,
        params,
        handler,
        response={key: list_of(item)},
        failure_defaults={key: []},
    )


def _toggle(
    path: str, summary: str, operation: str, target: str, meaning: str, handler: Handler
) -> RouteSpec:
    """An action route doing (1) or undoing (2) something to the object `target` names."""
    params = (token(required=True), an_id(target), action_type(1, 2, description=meaning))
    return RouteSpec(path, ACTION, summary, operation, params, handler)


OF_A_USER = (an_id("user_id", description="The user whose list this is."), token(required=False))

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
        live_lists.feed,
        response={
            "next_time": described(
                INT64,
                "Epoch ms to send back as latest_time for the next page: the batch's oldest video"
                " (one ms later when videos of that ms were held back for the next page; now if empty).",
            ),
            "video_list": list_of("Video"),
        },
        failure_defaults={"video_list": []},
    ),
    _credentials(
        "/user/register/",
        "Create an account; the token works at once.",
        "register",
        handlers.register,
        password_rule="At least `password_min` characters.",
    ),
    # Sign-in checks only that the password is present and bounded: a password set under an older,
    # lower minimum still signs in.
    _credentials("/user/login/", "Sign in.", "login", handlers.login),
    RouteSpec(
        "/user/",
        READ,
        "A user's profile; without user_id, the token owner's.",
        "user",
        (
            an_id("user_id", required=False, description="The user to show; default: the token's owner."),
            token(required=False),
        ),
        handlers.user_info,
        response={"user": ref("User")},
    ),
    RouteSpec(
        "/publish/action/",
        ACTION,
        "Upload a video (multipart/form-data); parts win over the query string here.",
        "publish_action",
        (
            Param("data", Kind.FILE, required=True, description="The video file."),
            token(required=True),
            text("title", "title_max"),
        ),
        handlers.publish_action,
        form_first=True,
        upload=True,
    ),
    _whole_list(
        "/publish/list/",
        "All videos a user published, newest first.",
        "publish_list",
        OF_A_USER,
        handlers.publish_list,
        "video_list",
        "Video",
    ),
    _toggle(
        "/favorite/action/",
        "Like (1) or unlike (2) a video; repeating either changes nothing and still succeeds.",
        "favorite_action",
        "video_id",
        "1 = like, 2 = unlike.",
        handlers.favorite_action,
    ),
    _whole_list(
        "/favorite/list/",
        "All videos a user liked, most recently liked first.",
        "favorite_list",
        OF_A_USER,
        handlers.favorite_list,
        "video_list",
        "Video",
    ),
    RouteSpec(
        "/comment/action/",
        ACTION,
        "Comment on a video (1, returns the comment) or delete one (2: its writer or the video's owner).",
        "comment_action",
        (
            token(required=True),
            an_id("video_id"),
            action_type(1, 2, description="1 = publish a comment, 2 = delete one."),
            text(
                "comment_text", "comment_max", required=False, description="Required when action_type is 1."
            ),
            an_id("comment_id", required=False, description="Required when action_type is 2."),
        ),
        handlers.comment_action,
        response={"comment": described(ref("Comment"), "Present when action_type is 1.")},
    ),
    _whole_list(
        "/comment/list/",
        "All comments on a video, newest first.",
        "comment_list",
        (token(required=False), an_id("video_id")),
        live_lists.comment_list,
        "comment_list",
        "Comment",
    ),
    _toggle(
        "/relation/action/",
        "Follow (1) or unfollow (2) a user; repeating either changes nothing and still succeeds.",
        "relation_action",
        "to_user_id",
        "1 = follow, 2 = unfollow.",
        handlers.relation_action,
    ),
    _whole_list(
        "/relation/follow/list/",
        "Everyone a user follows.",
        "follow_list",
        OF_A_USER,
        handlers.follow_list,
        "user_list",
        "User",
    ),
    _whole_list(
        "/relation/follower/list/",
        "Everyone who follows a user.",
        "follower_list",
        OF_A_USER,
        handlers.follower_list,
        "user_list",
        "User",
    ),
    _whole_list(
        "/relation/friend/list/",
        "A user's friends (mutual follows), each with the latest message between the caller and them.",
        "friend_list",
        (
            an_id("user_id", required=False, description="Whose friends; default: the token's owner."),
            token(required=False),
        ),
        handlers.friend_list,
        "user_list",
        "FriendUser",
    ),
    RouteSpec(
        "/message/action/",
        ACTION,
        "Send a message to any existing user (no friendship needed).",
        "message_action",
        (
            token(required=True),
            an_id("to_user_id"),
            action_type(1, description="1 = send."),
            text("content", "message_max"),
        ),
        handlers.message_action,
    ),
    _whole_list(
        "/message/chat/",
        "The conversation with to_user_id, both directions, oldest first; strictly newer than pre_msg_time.",
        "message_chat",
        (
            token(required=True),
            an_id("to_user_id"),
            Param(
                "pre_msg_time",
                Kind.MESSAGE_TIME,
                description="The create_time (epoch ms) of the newest message held; absent or 0: everything.",
            ),
        ),
        handlers.message_chat,
        "message_list",
        "Message",
    ),
)
