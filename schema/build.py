"""Stored rows become GraphQL types here, and lists answer their items' fields up front.

This module sits above the domain type modules (users, videos, comments, chat): it imports their types
and builds them. Those modules name each other only as lazy types and reach this one at call time.

A field that awaits costs graphql-core a task per item: on a 30-video page with `author`,
`viewerHasLiked` and `author.viewerIsFollowing` those tasks took about a third of the time. A list
field therefore asks the same request-scoped DataLoaders for all its items at once (still one batch per
access path, the batches running concurrently; a root field's, answered at once where the reads run
inline) and gives each item its answers, which the item's fields then return directly. An item built
without them (a single `video(id:)`, a mutation's result) still loads through the loaders, so every way
of reaching a type gives the same answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from typing import TypeVar

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from core.clock import datetime_from_ms
from resolvers import comments as comment_resolvers
from resolvers.loaders import RequestLoader
from resolvers.pagination import Page
from schema.chat import FriendConnection, FriendEdge, Message
from schema.comments import Comment
from schema.context import Info
from schema.pagination import Connection, connection, page_info
from schema.users import User
from schema.videos import Video
from storage.models import Comment as CommentRow
from storage.models import MessageFields
from storage.models import User as UserRow
from storage.models import Video as VideoRow

T = TypeVar("T")
V = TypeVar("V")


# What a list's items are asked for.


def _fields(selections: Iterable[Selection]) -> list[SelectedField]:
    """The fields among `selections`, with fragment spreads and inline fragments opened up."""
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            found.append(selection)
        else:
            found.extend(_fields(selection.selections))
    return found


def _children(fields: Iterable[SelectedField], name: str) -> list[SelectedField]:
    """The fields selected under every field called `name` (aliases included)."""
    return [child for field in fields if field.name == name for child in _fields(field.selections)]


def _names(fields: Iterable[SelectedField]) -> set[str]:
    return {field.name for field in fields}


def _fields_of_current(info: Info) -> list[SelectedField]:
    """The fields selected under the field being resolved."""
    return [child for field in _fields(info.selected_fields) for child in _fields(field.selections)]


def _node_fields(info: Info) -> list[SelectedField]:
    """What the current connection field asks of each node, through `nodes` and `edges { node }`."""
    selected = _fields_of_current(info)
    return _children(selected, "nodes") + _children(_children(selected, "edges"), "node")


def _ready(value: T) -> Awaitable[T]:
    """Stands in for a batch whose answers are known already (nobody asked for them)."""
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


def _batch(info: Info, loader: RequestLoader[V], keys: list[int]) -> Awaitable[list[V]]:
    """The loader's answers for `keys`. A root field's list is the only one of its kind in the operation,
    so it loses nothing by not sharing a batch, and is answered at once where the reads can be
    (RequestLoader.load_many_now): a turn of a loaded event loop is every other request's work. A
    nested list is one of many (a page per video) and shares the batch with its siblings."""
    if info.path.prev is None:
        return loader.load_many_now(keys)
    return loader.load_many(keys)


# Rows to types. The optional arguments are answers a list fetched up front; None: the field asks.


def user_from_row(row: UserRow, viewer_follows: bool | None = None) -> User:
    return User(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        signature=row.signature,
        follow_count=row.follow_count,
        follower_count=row.follower_count,
        total_favorited=row.total_favorited,
        work_count=row.work_count,
        favorite_count=row.favorite_count,
        db_id=int(row.id or 0),
        avatar_key=row.avatar_key,
        background_key=row.background_key,
        viewer_follows=viewer_follows,
    )


def video_from_row(row: VideoRow, author: User | None = None, viewer_liked: bool | None = None) -> Video:
    return Video(
        id=strawberry.ID(str(row.id)),
        title=row.title,
        favorite_count=row.favorite_count,
        comment_count=row.comment_count,
        created_at=datetime_from_ms(row.created_at),
        db_id=int(row.id or 0),
        author_id=row.author_id,
        play_key=row.play_key,
        cover_key=row.cover_key,
        author_user=author,
        viewer_liked=viewer_liked,
    )


def comment_from_row(row: CommentRow, author: User | None = None) -> Comment:
    return Comment(
        id=strawberry.ID(str(row.id)),
        content=row.content,
        created_at=datetime_from_ms(row.created_at),
        user_id=row.user_id,
        video_id=row.video_id,
        author_user=author,
    )


def message_from_row(row: MessageFields) -> Message:
    return Message(
        id=strawberry.ID(str(row.id)),
        content=row.content,
        created_at=datetime_from_ms(row.created_at),
        sender_id=row.sender_id,
        recipient_id=row.recipient_id,
    )


# One item, through the request's loaders.


async def load_user(info: Info, user_id: int) -> User | None:
    row = await info.context.loaders.user_by_id.load(user_id)
    return None if row is None else user_from_row(row)


async def load_video(info: Info, video_id: int) -> Video | None:
    row = await info.context.loaders.video_by_id.load(video_id)
    return None if row is None else video_from_row(row)


def _referenced(item: T | None, kind: str, key: int) -> T:
    """For references the foreign keys guarantee (a video's author, a comment's video)."""
    if item is None:
        raise LookupError(f"{kind} {key} referenced but missing")
    return item


async def load_existing_user(info: Info, user_id: int) -> User:
    return _referenced(await load_user(info, user_id), "user", user_id)


async def load_existing_video(info: Info, video_id: int) -> Video:
    return _referenced(await load_video(info, video_id), "video", video_id)


# Many items, with the answers their fields were asked for.


def _follows(
    info: Info, user_ids: list[int], fields: list[SelectedField]
) -> Awaitable[Sequence[bool | None]]:
    if "viewerIsFollowing" not in _names(fields):
        return _ready([None] * len(user_ids))
    return _batch(info, info.context.loaders.followed_by_viewer, user_ids)


async def _users_with_answers(info: Info, rows: Sequence[UserRow], fields: list[SelectedField]) -> list[User]:
    """Users for rows a list already fetched, `viewerIsFollowing` answered up front when asked for."""
    follows = await _follows(info, [int(row.id or 0) for row in rows], fields)
    return [user_from_row(row, follow) for row, follow in zip(rows, follows, strict=True)]


async def _authors(info: Info, user_ids: list[int], fields: list[SelectedField]) -> list[User | None]:
    """The `author` of each item, when asked for: by id (the same batches as field-by-field loading,
    all at once), with their own answers."""
    if "author" not in _names(fields):
        return [None] * len(user_ids)
    # Both batches are started before either is awaited: they run concurrently when they cannot be
    # answered at once. Awaiting them one by one, not gathered, costs no task.
    loading = _batch(info, info.context.loaders.user_by_id, user_ids)
    following = _follows(info, user_ids, _children(fields, "author"))
    rows, follows = await loading, await following
    return [
        None if row is None else user_from_row(row, follow) for row, follow in zip(rows, follows, strict=True)
    ]


async def _videos_with_answers(
    info: Info, rows: Sequence[VideoRow], fields: list[SelectedField]
) -> list[Video]:
    """Videos for rows a list already fetched, with `author` (and its `viewerIsFollowing`) and
    `viewerHasLiked` answered up front when asked for: one loader batch each, all at once."""
    video_ids = [int(row.id or 0) for row in rows]
    liking = (
        _batch(info, info.context.loaders.liked_by_viewer, video_ids)
        if "viewerHasLiked" in _names(fields)
        else _ready([None] * len(rows))
    )
    authors = await _authors(info, [row.author_id for row in rows], fields)
    liked = await liking
    return [video_from_row(row, author, like) for row, author, like in zip(rows, authors, liked, strict=True)]


# Connections: a page of rows, its nodes built with their answers.


def _rows(page: Page[T]) -> list[T]:
    return [row for _, row in page.items]


def _prime_users(info: Info, rows: list[UserRow]) -> None:
    """Rows a list already fetched: later lookups of the same users (a message's sender, a comment's
    author) come from the request's loader instead of another query."""
    info.context.loaders.user_by_id.prime_many({int(row.id or 0): row for row in rows})


async def user_connection(info: Info, page: Page[UserRow]) -> Connection[User]:
    rows = _rows(page)
    _prime_users(info, rows)
    return connection(page, await _users_with_answers(info, rows, _node_fields(info)))


async def video_connection(info: Info, page: Page[VideoRow]) -> Connection[Video]:
    rows = _rows(page)
    # A comment's `video` on the same page is then answered without another query.
    info.context.loaders.video_by_id.prime_many({int(row.id or 0): row for row in rows})
    return connection(page, await _videos_with_answers(info, rows, _node_fields(info)))


async def comment_connection(info: Info, page: Page[CommentRow]) -> Connection[Comment]:
    rows = _rows(page)
    authors = await _authors(info, [row.user_id for row in rows], _node_fields(info))
    return connection(
        page, [comment_from_row(row, author) for row, author in zip(rows, authors, strict=True)]
    )


async def friend_connection(info: Info, page: Page[UserRow]) -> FriendConnection:
    rows = _rows(page)
    _prime_users(info, rows)
    last_known = "lastMessage" in _names(_children(_fields_of_current(info), "edges"))
    last_messages_loading = (
        _batch(info, info.context.loaders.last_message_by_friend, [int(row.id or 0) for row in rows])
        if last_known
        else _ready([None] * len(rows))
    )
    users = await _users_with_answers(info, rows, _node_fields(info))
    last_messages = await last_messages_loading
    return FriendConnection(
        edges=[
            FriendEdge(cursor=cursor, node=user, last=last, last_known=last_known)
            for (cursor, _), user, last in zip(page.items, users, last_messages, strict=True)
        ],
        page_info=page_info(page),
    )


# Items by id, in the order asked (None where there is no such row).


async def videos_by_ids(info: Info, ids: list[int]) -> list[Video | None]:
    rows = await _batch(info, info.context.loaders.video_by_id, ids)
    found = [row for row in rows if row is not None]
    built = iter(await _videos_with_answers(info, found, _fields_of_current(info)))
    return [None if row is None else next(built) for row in rows]


async def comments_by_ids(info: Info, ids: list[int]) -> list[Comment | None]:
    rows = await comment_resolvers.comments_by_ids(info.context.services, ids)
    found = [row for row in rows if row is not None]
    authors = iter(await _authors(info, [row.user_id for row in found], _fields_of_current(info)))
    return [None if row is None else comment_from_row(row, next(authors)) for row in rows]
