"""SQLModel tables.

Ids are BIGINT (INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements). Times are epoch
milliseconds in UTC stored as BIGINT: exact to the millisecond on every backend, totally ordered, and the
unit the REST contract speaks. Counters are denormalised and changed in the same transaction as the rows
that cause them.
"""

from __future__ import annotations

from typing import Protocol, cast

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from core.clock import now_ms
from core.limits import COMMENT, MESSAGE, SIGNATURE, TITLE, USERNAME, TextLimit

BigId = BigInteger().with_variant(Integer(), "sqlite")

# utf8mb4_bin: emoji and Chinese round-trip, and comparisons are exact as on SQLite
# (utf8mb4_unicode_ci would treat different emoji and letter cases as the same name).
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}


def _id_column() -> Column:  # type: ignore[type-arg]
    return Column(BigId, primary_key=True, autoincrement=True)


def _ref(target: str, *, primary_key: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(BigInteger, ForeignKey(target, ondelete="CASCADE"), nullable=False, primary_key=primary_key)


def _counter() -> Column:  # type: ignore[type-arg]
    return Column(BigInteger, nullable=False, server_default="0", default=0)


def _text(limit: TextLimit) -> Column:  # type: ignore[type-arg]
    """The column of a text people send, as wide as its entry in core/limits.py."""
    return Column(String(limit.stored_width), nullable=False)


def _created_at() -> Column:  # type: ignore[type-arg]
    return Column(BigInteger, nullable=False, default=now_ms)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("name", name="uq_users_name"), MYSQL_TABLE)

    id: int | None = Field(default=None, sa_column=_id_column())
    name: str = Field(sa_column=_text(USERNAME))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    # Object keys; empty means the built-in default image.
    avatar_key: str = Field(default="", sa_column=Column(String(512), nullable=False))
    background_key: str = Field(default="", sa_column=Column(String(512), nullable=False))
    signature: str = Field(default="", sa_column=_text(SIGNATURE))
    follow_count: int = Field(default=0, sa_column=_counter())
    follower_count: int = Field(default=0, sa_column=_counter())
    total_favorited: int = Field(default=0, sa_column=_counter())
    work_count: int = Field(default=0, sa_column=_counter())
    favorite_count: int = Field(default=0, sa_column=_counter())
    created_at: int = Field(default_factory=now_ms, sa_column=_created_at())
    # Every token carries the version it was issued under; signing out or changing the password adds one,
    # and a token of an older version is refused.
    token_version: int = Field(default=0, sa_column=_counter())


class Video(SQLModel, table=True):
    __tablename__ = "videos"
    __table_args__ = (
        Index("ix_videos_created", "created_at", "id"),
        Index("ix_videos_author_created", "author_id", "created_at", "id"),
        MYSQL_TABLE,
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    author_id: int = Field(sa_column=_ref("users.id"))
    title: str = Field(sa_column=_text(TITLE))
    play_key: str = Field(sa_column=Column(String(512), nullable=False))
    cover_key: str = Field(sa_column=Column(String(512), nullable=False))
    duration_ms: int = Field(default=0, sa_column=_counter())
    width: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0", default=0))
    height: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0", default=0))
    favorite_count: int = Field(default=0, sa_column=_counter())
    comment_count: int = Field(default=0, sa_column=_counter())
    created_at: int = Field(default_factory=now_ms, sa_column=_created_at())


class Favorite(SQLModel, table=True):
    """A like. The primary key makes a second like of the same video a no-op."""

    __tablename__ = "favorites"
    __table_args__ = (
        Index("ix_favorites_user_created", "user_id", "created_at"),
        Index("ix_favorites_video", "video_id"),
        MYSQL_TABLE,
    )

    user_id: int = Field(sa_column=_ref("users.id", primary_key=True))
    video_id: int = Field(sa_column=_ref("videos.id", primary_key=True))
    created_at: int = Field(default_factory=now_ms, sa_column=_created_at())


class Comment(SQLModel, table=True):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_video_created", "video_id", "created_at", "id"),
        Index("ix_comments_user", "user_id"),
        MYSQL_TABLE,
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    video_id: int = Field(sa_column=_ref("videos.id"))
    user_id: int = Field(sa_column=_ref("users.id"))
    content: str = Field(sa_column=_text(COMMENT))
    created_at: int = Field(default_factory=now_ms, sa_column=_created_at())


class Follow(SQLModel, table=True):
    """follower_id follows followee_id. The primary key makes a second follow a no-op."""

    __tablename__ = "follows"
    __table_args__ = (
        CheckConstraint("follower_id <> followee_id", name="ck_follows_not_self"),
        Index("ix_follows_follower_created", "follower_id", "created_at"),
        Index("ix_follows_followee_created", "followee_id", "created_at"),
        MYSQL_TABLE,
    )

    follower_id: int = Field(sa_column=_ref("users.id", primary_key=True))
    followee_id: int = Field(sa_column=_ref("users.id", primary_key=True))
    created_at: int = Field(default_factory=now_ms, sa_column=_created_at())


class MessageFields(Protocol):
    """What reading a message needs: a `Message`, or a row of the messages table's columns (reads that
    skip the ORM session return those)."""

    @property
    def id(self) -> int | None: ...
    @property
    def sender_id(self) -> int: ...
    @property
    def recipient_id(self) -> int: ...
    @property
    def content(self) -> str: ...
    @property
    def created_at(self) -> int: ...


class Message(SQLModel, table=True):
    """A chat message. (pair_low, pair_high) names the conversation regardless of direction; its
    created_at is unique within the conversation and grows in commit order, so that polling with
    `created_at > t` never repeats or skips a message. A send locks both users' rows (resolvers/locks.py),
    so sends in one conversation run one at a time, and takes a time after the conversation's newest
    message (resolvers/chat.py). The unique constraint only backs that up; nothing retries on it."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("pair_low", "pair_high", "created_at", name="uq_messages_pair_created"),
        Index("ix_messages_recipient_created", "recipient_id", "created_at"),
        Index("ix_messages_sender", "sender_id"),
        MYSQL_TABLE,
    )

    id: int | None = Field(default=None, sa_column=_id_column())
    sender_id: int = Field(sa_column=_ref("users.id"))
    recipient_id: int = Field(sa_column=_ref("users.id"))
    pair_low: int = Field(sa_column=Column(BigInteger, nullable=False))
    pair_high: int = Field(sa_column=Column(BigInteger, nullable=False))
    content: str = Field(sa_column=_text(MESSAGE))
    created_at: int = Field(default_factory=now_ms, sa_column=_created_at())


metadata = SQLModel.metadata


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model, typed (SQLModel's `__table__` is invisible to type checkers)."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]
