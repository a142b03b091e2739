"""The douyin objects (field names exactly as in the official proto), each described once.

For every JSON key: where its value is in the GraphQL result, how it is converted, and its OpenAPI schema.
Everything else is derived from these tables: the JSON shaping (compat/shapes.py), the OpenAPI components
(compat/openapi.py) and the GraphQL fragments the route operations select (compat/documents.py). The order
of the fields is the key order of the JSON the routes answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from compat.openapi_types import BOOLEAN, INT64, STRING, URI
from compat.times import month_day
from core.clock import ms_from_iso

Viewer = int | None  # the caller's user id, for the fields relative to the caller


@dataclass(frozen=True, slots=True)
class Field:
    """One JSON key whose value is read at `source` (GraphQL field names, dots between levels; a null
    on the way reads as None) and passed through `convert` (or `convert(value, viewer)` when
    `by_viewer`)."""

    key: str
    source: str
    schema: Mapping[str, Any]
    description: str = ""
    convert: Callable[..., Any] | None = None
    by_viewer: bool = False


@dataclass(frozen=True, slots=True)
class Embedded:
    """One JSON key whose value is a whole douyin object, read at `source` (a video's `author`)."""

    key: str
    source: str
    object: DouyinObject


@dataclass(frozen=True, slots=True)
class AllFieldsOf:
    """Every key of another douyin object, read from `source` (a FriendUser is the edge's User node)."""

    source: str
    object: DouyinObject


Member = Field | Embedded | AllFieldsOf


@dataclass(frozen=True, slots=True)
class DouyinObject:
    name: str  # the OpenAPI component, and `<name>Fields` the GraphQL fragment
    members: tuple[Member, ...]
    graphql_type: str = ""  # what the fragment is on, when not the type called `name`
    # GraphQL fields the routes read besides the douyin keys (paging by time).
    also_selects: tuple[str, ...] = ()

    @property
    def fragment_name(self) -> str:
        return f"{self.name}Fields"

    @property
    def fragment_type(self) -> str:
        return self.graphql_type or self.name


def _as_int(value: str) -> int:
    return int(value)


def _month_day(created_at: str) -> str:
    return month_day(ms_from_iso(created_at))


def _text_or_empty(text: str | None) -> str:
    return "" if text is None else text


def _sent_by(sender_id: str | None, viewer: Viewer) -> int:
    return 1 if sender_id is not None and viewer is not None and int(sender_id) == viewer else 0


# Every object's id: the GraphQL ID (decimal text) as a JSON number.
ID = Field("id", "id", INT64, convert=_as_int)

USER = DouyinObject(
    "User",
    (
        ID,
        Field("name", "name", STRING),
        Field("follow_count", "followCount", INT64, "Users this user follows."),
        Field("follower_count", "followerCount", INT64),
        Field("is_follow", "viewerIsFollowing", BOOLEAN, "Whether the caller follows this user."),
        Field("avatar", "avatar", URI),
        Field("background_image", "backgroundImage", URI),
        Field("signature", "signature", STRING),
        Field("total_favorited", "totalFavorited", INT64, "Likes received over all of this user's videos."),
        Field("work_count", "workCount", INT64),
        Field("favorite_count", "favoriteCount", INT64, "Videos this user likes."),
    ),
)

VIDEO = DouyinObject(
    "Video",
    (
        ID,
        Embedded("author", "author", USER),
        Field("play_url", "playUrl", URI),
        Field("cover_url", "coverUrl", URI),
        Field("favorite_count", "favoriteCount", INT64),
        Field("comment_count", "commentCount", INT64),
        Field("is_favorite", "viewerHasLiked", BOOLEAN, "Whether the caller likes this video."),
        Field("title", "title", STRING),
    ),
    also_selects=("createdAt",),  # the feed's next_time
)

COMMENT = DouyinObject(
    "Comment",
    (
        ID,
        Embedded("user", "author", USER),
        Field("content", "content", STRING),
        Field(
            "create_date",
            "createdAt",
            {**STRING, "pattern": "^[0-9]{2}-[0-9]{2}$"},
            "MM-DD, UTC.",
            convert=_month_day,
        ),
    ),
)

MESSAGE = DouyinObject(
    "Message",
    (
        ID,
        Field("to_user_id", "recipient.id", INT64, convert=_as_int),
        Field("from_user_id", "sender.id", INT64, convert=_as_int),
        Field("content", "content", STRING),
        Field(
            "create_time",
            "createdAt",
            INT64,
            "Epoch milliseconds, unique within a conversation.",
            convert=ms_from_iso,
        ),
    ),
)

# Read from a FriendEdge: the friend is its node, the latest message between the caller and them beside it.
FRIEND_USER = DouyinObject(
    "FriendUser",
    (
        AllFieldsOf("node", USER),
        Field(
            "message",
            "lastMessage.content",
            STRING,
            'The latest message with the caller; "" when none.',
            convert=_text_or_empty,
        ),
        Field(
            "msgType",
            "lastMessage.sender.id",
            {**INT64, "enum": [0, 1]},
            "1 when the caller sent the latest message, else 0.",
            convert=_sent_by,
            by_viewer=True,
        ),
    ),
    graphql_type="FriendEdge",
)

# In the order of the OpenAPI components.
OBJECTS: tuple[DouyinObject, ...] = (USER, VIDEO, COMMENT, MESSAGE, FRIEND_USER)
