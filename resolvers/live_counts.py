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

from sqlalchemy import ColumnElement, Row, Select, exists, select

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


def _follows(viewer_id: int, user_column: ColumnElement[int]) -> ColumnElement[bool]:
    return exists().where(follows.c.follower_id == viewer_id, follows.c.followee_id == user_column)


def _likes(viewer_id: int) -> ColumnElement[bool]:
    return exists().where(favorites.c.user_id == viewer_id, favorites.c.video_id == videos.c.id)


def _with_viewer(statement: Select[Any], viewer_id: int | None, user_column: Any, likes: bool) -> Select[Any]:
    """`statement` also telling whether the viewer follows `user_column` (and likes the video)."""
    if viewer_id is None:
        return statement
    statement = statement.add_columns(_follows(viewer_id, user_column).label("viewer_follows"))
    if likes:
        statement = statement.add_columns(_likes(viewer_id).label("viewer_liked"))
    return statement


def _flags(rows: Sequence[Row[Any]], key: str, read: bool) -> list[bool] | None:
    return [bool(row._mapping[key]) for row in rows] if read else None


def _authors(rows: Sequence[Row[Any]], id_key: str, viewer_read: bool = False) -> UserCounts:
    return UserCounts(
        ids=[int(row._mapping[id_key]) for row in rows],
        follow_counts=[int(row.author_follow_count) for row in rows],
        follower_counts=[int(row.author_follower_count) for row in rows],
        total_favorited=[int(row.author_total_favorited) for row in rows],
        work_counts=[int(row.author_work_count) for row in rows],
        favorite_counts=[int(row.author_favorite_count) for row in rows],
        viewer_follows=_flags(rows, "viewer_follows", viewer_read),
    )


def _video_counts(rows: Sequence[Row[Any]], viewer_read: bool = False) -> VideoCounts:
    return VideoCounts(
        ids=[int(row.id) for row in rows],
        favorite_counts=[int(row.favorite_count) for row in rows],
        comment_counts=[int(row.comment_count) for row in rows],
        authors=_authors(rows, "author_id", viewer_read),
        viewer_liked=_flags(rows, "viewer_liked", viewer_read),
    )


_VIDEO_COUNTS = select(
    videos.c.id, videos.c.favorite_count, videos.c.comment_count, videos.c.author_id, *AUTHOR_COUNTS
).join_from(videos, users, users.c.id == videos.c.author_id)


async def feed_counts(
    services: Services, first: int, before_ms: int | None, viewer_id: int | None
) -> VideoCounts:
    """The videos `feed(first, before)` answers, in its order (newest first, strictly older than
    `before_ms`, default now), with their counters and their authors'."""
    before = services.clock.now_ms() + 1 if before_ms is None else before_ms
    statement = (
        _with_viewer(_VIDEO_COUNTS, viewer_id, videos.c.author_id, likes=True)
        .where(videos.c.created_at < before)
        .order_by(videos.c.created_at.desc(), videos.c.id.desc())
        .limit(first)
    )
    async with services.db.read() as session:
        rows = (await session.execute(statement)).all()
    return _video_counts(rows, viewer_id is not None)


async def video_counts(services: Services, ids: Sequence[int], viewer_id: int | None) -> VideoCounts:
    """The videos among `ids` that exist, in the order of `ids` (repeats kept)."""
    if not ids:
        return _video_counts([], viewer_id is not None)
    statement = _with_viewer(_VIDEO_COUNTS, viewer_id, videos.c.author_id, likes=True)
    async with services.db.read() as session:
        rows = (await session.execute(statement.where(videos.c.id.in_(set(ids))))).all()
    by_id = {int(row.id): row for row in rows}
    return _video_counts([by_id[video_id] for video_id in ids if video_id in by_id], viewer_id is not None)


async def user_counts(services: Services, ids: Sequence[int], viewer_id: int | None) -> UserCounts:
    """The users among `ids` that exist, in the order of `ids` (repeats kept)."""
    if not ids:
        return _authors([], "user_id", viewer_id is not None)
    statement = _with_viewer(
        select(users.c.id.label("user_id"), *AUTHOR_COUNTS), viewer_id, users.c.id, likes=False
    )
    async with services.db.read() as session:
        rows = (await session.execute(statement.where(users.c.id.in_(set(ids))))).all()
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
    async with services.db.read() as session:
        rows = (await session.execute(statement)).all()
    page = build_page(rows, request, lambda row: Position(int(row.created_at), int(row.id)))
    shown = [row for _, row in page.items]
    return CommentCounts(
        ids=[int(row.id) for row in shown],
        authors=_authors(shown, "user_id", viewer_id is not None),
        page=Page([(cursor, int(row.id)) for cursor, row in page.items], page.has_next, page.has_previous),
    )
