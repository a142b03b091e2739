"""Live counters of lists (a feed page, a video's comments, any ids), read in one statement per list.

Everything else a video, comment or user shows (titles, URLs, names, text) never changes once written,
so a client (the douyin routes among them) can keep it; what changes is read here, fresh, by id. Each
list's ids, its counters, its authors' counters and, for a signed-in viewer, which of them the viewer
likes or follows (primary-key lookups in the same statement) come from one joined statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Row, Select, bindparam, exists, select

from resolvers.pagination import Page, PageRequest, Position, build_page, newest_first
from storage.models import Comment, Favorite, Follow, User, Video, table_of
from storage.services import Services

users, videos, comments = table_of(User), table_of(Video), table_of(Comment)
favorites, follows = table_of(Favorite), table_of(Follow)
USER_COUNTS = (
    users.c.follow_count,
    users.c.follower_count,
    users.c.total_favorited,
    users.c.work_count,
    users.c.favorite_count,
)
AUTHOR_COUNTS = tuple(column.label(f"author_{column.name}") for column in USER_COUNTS)


@dataclass(frozen=True, slots=True)
class UserCounts:
    """Column by column: entry i of each list is about user `ids[i]`."""

    ids: list[int]
    follow_counts: list[int]
    follower_counts: list[int]
    total_favorited: list[int]
    work_counts: list[int]
    favorite_counts: list[int]
    viewer_follows: list[bool] | None = None  # None: not read (anonymous: all false)


@dataclass(frozen=True, slots=True)
class VideoCounts:
    ids: list[int]
    favorite_counts: list[int]
    comment_counts: list[int]
    authors: UserCounts  # entry i: the author of video ids[i]
    viewer_liked: list[bool] | None = None


@dataclass(frozen=True, slots=True)
class CommentCounts:
    ids: list[int]
    authors: UserCounts  # entry i: the writer of comment ids[i]
    page: Page[int]


Viewer = int | BindParameter[int]


def _follows(viewer_id: Viewer, user_column: ColumnElement[int]) -> ColumnElement[bool]:
    return exists().where(follows.c.follower_id == viewer_id, follows.c.followee_id == user_column)


def _likes(viewer_id: Viewer) -> ColumnElement[bool]:
    return exists().where(favorites.c.user_id == viewer_id, favorites.c.video_id == videos.c.id)


def _with_viewer(
    statement: Select[Any], viewer_id: Viewer | None, user_column: Any, likes: bool
) -> Select[Any]:
    """`statement` also telling whether the viewer follows `user_column` (and likes the video)."""
    if viewer_id is None:
        return statement
    statement = statement.add_columns(_follows(viewer_id, user_column).label("viewer_follows"))
    if likes:
        statement = statement.add_columns(_likes(viewer_id).label("viewer_liked"))
    return statement


def _columns(rows: Sequence[Row[Any]]) -> dict[str, tuple[Any, ...]]:
    """The rows column by column, by label (one pass: a list of 30 rows has 10 columns to hand out)."""
    if not rows:
        return {}
    return dict(zip(rows[0]._fields, zip(*rows, strict=True), strict=True))


def _ints(columns: dict[str, tuple[Any, ...]], key: str) -> list[int]:
    return [int(value) for value in columns.get(key, ())]


def _flags(columns: dict[str, tuple[Any, ...]], key: str, read: bool) -> list[bool] | None:
    return [bool(value) for value in columns.get(key, ())] if read else None


def _authors(rows: Sequence[Row[Any]], id_key: str, viewer_read: bool = False) -> UserCounts:
    return _author_counts(_columns(rows), id_key, viewer_read)


def _author_counts(columns: dict[str, tuple[Any, ...]], id_key: str, viewer_read: bool) -> UserCounts:
    return UserCounts(
        ids=_ints(columns, id_key),
        follow_counts=_ints(columns, "author_follow_count"),
        follower_counts=_ints(columns, "author_follower_count"),
        total_favorited=_ints(columns, "author_total_favorited"),
        work_counts=_ints(columns, "author_work_count"),
        favorite_counts=_ints(columns, "author_favorite_count"),
        viewer_follows=_flags(columns, "viewer_follows", viewer_read),
    )


def _video_counts(rows: Sequence[Row[Any]], viewer_read: bool = False) -> VideoCounts:
    columns = _columns(rows)
    return VideoCounts(
        ids=_ints(columns, "id"),
        favorite_counts=_ints(columns, "favorite_count"),
        comment_counts=_ints(columns, "comment_count"),
        authors=_author_counts(columns, "author_id", viewer_read),
        viewer_liked=_flags(columns, "viewer_liked", viewer_read),
    )


_VIDEO_COUNTS = select(
    videos.c.id, videos.c.favorite_count, videos.c.comment_count, videos.c.author_id, *AUTHOR_COUNTS
).join_from(videos, users, users.c.id == videos.c.author_id)


def _feed_page(viewer: bool) -> Select[Any]:
    """A feed page's statement, built once: its values are parameters (`before`, `first`, `viewer`)."""
    viewer_id = bindparam("viewer", type_=videos.c.author_id.type) if viewer else None
    return (
        _with_viewer(_VIDEO_COUNTS, viewer_id, videos.c.author_id, likes=True)
        .where(videos.c.created_at < bindparam("before", type_=videos.c.created_at.type))
        .order_by(videos.c.created_at.desc(), videos.c.id.desc())
        .limit(bindparam("first", type_=videos.c.id.type))
    )


_FEED_PAGE = {False: _feed_page(viewer=False), True: _feed_page(viewer=True)}


async def feed_counts(
    services: Services, first: int, before_ms: int | None, viewer_id: int | None
) -> VideoCounts:
    """The videos `feed(first, before)` answers, in its order (newest first, strictly older than
    `before_ms`, default now), with their counters and their authors'."""
    before = services.clock.now_ms() + 1 if before_ms is None else before_ms
    parameters: dict[str, int] = {"before": before, "first": first}
    if viewer_id is not None:
        parameters["viewer"] = viewer_id
    rows = await services.db.rows(_FEED_PAGE[viewer_id is not None], parameters)
    return _video_counts(rows, viewer_id is not None)


async def video_counts(services: Services, ids: Sequence[int], viewer_id: int | None) -> VideoCounts:
    """The videos among `ids` that exist, in the order of `ids` (repeats kept)."""
    if not ids:
        return _video_counts([], viewer_id is not None)
    statement = _with_viewer(_VIDEO_COUNTS, viewer_id, videos.c.author_id, likes=True)
    rows = await services.db.rows(statement.where(videos.c.id.in_(set(ids))))
    by_id = {int(row.id): row for row in rows}
    return _video_counts([by_id[video_id] for video_id in ids if video_id in by_id], viewer_id is not None)


async def user_counts(services: Services, ids: Sequence[int], viewer_id: int | None) -> UserCounts:
    """The users among `ids` that exist, in the order of `ids` (repeats kept)."""
    if not ids:
        return _authors([], "user_id", viewer_id is not None)
    statement = _with_viewer(
        select(users.c.id.label("user_id"), *AUTHOR_COUNTS), viewer_id, users.c.id, likes=False
    )
    rows = await services.db.rows(statement.where(users.c.id.in_(set(ids))))
    by_id = {int(row.user_id): row for row in rows}
    found = [by_id[user_id] for user_id in ids if user_id in by_id]
    return _authors(found, "user_id", viewer_id is not None)


async def comment_counts(
    services: Services, video_id: int, request: PageRequest, viewer_id: int | None
) -> CommentCounts:
    """A page of a video's comments (newest first, as `Video.comments`), their writers' counters."""
    statement = select(comments.c.id, comments.c.created_at, comments.c.user_id, *AUTHOR_COUNTS).join_from(
        comments, users, users.c.id == comments.c.user_id
    )
    statement = _with_viewer(statement, viewer_id, comments.c.user_id, likes=False)
    statement = newest_first(
        statement.where(comments.c.video_id == video_id), comments.c.created_at, comments.c.id, request
    )
    rows = await services.db.rows(statement)
    page = build_page(rows, request, lambda row: Position(int(row.created_at), int(row.id)))
    shown = [row for _, row in page.items]
    return CommentCounts(
        ids=[int(row.id) for row in shown],
        authors=_authors(shown, "user_id", viewer_id is not None),
        page=Page([(cursor, int(row.id)) for cursor, row in page.items], page.has_next, page.has_previous),
    )
