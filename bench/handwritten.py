"""The hand-written equivalents the realistic benchmark compares the project against (bench-only code).

What a competent engineer writes for these routes without GraphQL: Starlette, SQLAlchemy Core with one
statement per need on the same database, orjson, no cache. Each route produces the same JSON as the
project's REST route for the same request (the benchmark compares them before it measures):

- `GET /douyin/feed/`: the page of videos with their authors (one statement), then, signed in, which of
  them the viewer likes and which authors the viewer follows (one statement each);
- `GET /douyin/user/`: the user, then, signed in, whether the viewer follows them;
- `GET /douyin/comment/list/`: the comments with their writers (the video's existence only when there
  are none), then, signed in, which writers the viewer follows;
- `GET /douyin/message/chat/`: the messages after `pre_msg_time` (the peer's existence only when there
  are none);
- `POST /plain`: a plain Starlette JSON route, the ceiling for `{ __typename }`;
- `GET /bytes`: pre-serialised bytes of a feed page (BENCH_BYTES_FILE), the ceiling of any feed.

Configured from the environment like the app: DATABASE_URL, JWT_SECRET, PUBLIC_BASE_URL (else each
request's Host), FEED_PAGE_SIZE, and the same connection pool settings.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from jose import JWTError, jwt
from sqlalchemy import Row, bindparam, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storage.models import Comment, Favorite, Follow, Message, User, Video, table_of

JSON_UTF8 = "application/json; charset=utf-8"
LIST_MAX_ITEMS = 1000
CHAT_MAX_MESSAGES = 5000
MS_THRESHOLD = 10**11
MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
NO_TOKEN = "User doesn't exist: the token is missing, invalid or expired"
INVALID_TOKEN = "User doesn't exist: the token is invalid or expired, sign in again"

users, videos, favorites = table_of(User), table_of(Video), table_of(Favorite)
follows, comments, messages = table_of(Follow), table_of(Comment), table_of(Message)
USER_COLUMNS = (
    users.c.id,
    users.c.name,
    users.c.follow_count,
    users.c.follower_count,
    users.c.avatar_key,
    users.c.background_key,
    users.c.signature,
    users.c.total_favorited,
    users.c.work_count,
    users.c.favorite_count,
)
AUTHOR_COLUMNS = tuple(column.label(f"author_{column.name}") for column in USER_COLUMNS)


def _feed_statement(page_size: int) -> Any:
    return (
        select(
            videos.c.id,
            videos.c.title,
            videos.c.play_key,
            videos.c.cover_key,
            videos.c.favorite_count,
            videos.c.comment_count,
            videos.c.created_at,
            *AUTHOR_COLUMNS,
        )
        .join_from(videos, users, users.c.id == videos.c.author_id)
        .where(videos.c.created_at < bindparam("before"))
        .order_by(videos.c.created_at.desc(), videos.c.id.desc())
        .limit(page_size + 1)
    )


LIKED = select(favorites.c.video_id).where(
    favorites.c.user_id == bindparam("viewer"), favorites.c.video_id.in_(bindparam("ids", expanding=True))
)
FOLLOWED = select(follows.c.followee_id).where(
    follows.c.follower_id == bindparam("viewer"), follows.c.followee_id.in_(bindparam("ids", expanding=True))
)
USER = select(*USER_COLUMNS).where(users.c.id == bindparam("id"))
USER_EXISTS = select(users.c.id).where(users.c.id == bindparam("id"))
VIDEO_EXISTS = select(videos.c.id).where(videos.c.id == bindparam("id"))
COMMENTS = (
    select(comments.c.id, comments.c.content, comments.c.created_at, *AUTHOR_COLUMNS)
    .join_from(comments, users, users.c.id == comments.c.user_id)
    .where(comments.c.video_id == bindparam("video"))
    .order_by(comments.c.created_at.desc(), comments.c.id.desc())
    .limit(LIST_MAX_ITEMS)
)
CHAT = (
    select(
        messages.c.id,
        messages.c.recipient_id,
        messages.c.sender_id,
        messages.c.content,
        messages.c.created_at,
    )
    .where(
        messages.c.pair_low == bindparam("low"),
        messages.c.pair_high == bindparam("high"),
        messages.c.created_at > bindparam("after"),
    )
    .order_by(messages.c.created_at, messages.c.id)
    .limit(CHAT_MAX_MESSAGES)
)


def _engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    query = dict(parsed.query)
    if parsed.get_backend_name() == "mysql":
        query.setdefault("charset", "utf8mb4")
    return create_async_engine(
        parsed.set(query=query),
        pool_pre_ping=True,
        pool_recycle=int(os.environ.get("DB_POOL_RECYCLE_SECONDS", "1800")),
        pool_size=int(os.environ.get("DB_POOL_SIZE", "10")),
        max_overflow=int(os.environ.get("DB_MAX_OVERFLOW", "20")),
    )


class Handwritten:
    def __init__(self, engine: AsyncEngine, secret: str, base_url: str, page_size: int) -> None:
        self.engine = engine
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.feed_statement = _feed_statement(page_size)

    # --- helpers -------------------------------------------------------------------------------------

    def viewer(self, token: str | None) -> int | None:
        if not token:
            return None
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"require_exp": True})
        except JWTError:
            return None
        subject = claims.get("sub")
        return int(subject) if isinstance(subject, str) and subject.isdecimal() else None

    def base(self, request: Request) -> str:
        return self.base_url or f"{request.url.scheme}://{request.url.netloc}"

    @staticmethod
    def user_json(row: Sequence[Any], offset: int, is_follow: bool, base: str) -> dict[str, Any]:
        (uid, name, follow_count, follower_count, avatar, background, signature, total, works, likes) = row[
            offset : offset + 10
        ]
        return {
            "id": uid,
            "name": name,
            "follow_count": follow_count,
            "follower_count": follower_count,
            "is_follow": is_follow,
            "avatar": f"{base}/media/{quote(avatar)}" if avatar else f"{base}/assets/avatar.jpg",
            "background_image": (
                f"{base}/media/{quote(background)}" if background else f"{base}/assets/background.jpg"
            ),
            "signature": signature,
            "total_favorited": total,
            "work_count": works,
            "favorite_count": likes,
        }

    @staticmethod
    async def members(
        connection: AsyncConnection, statement: Any, viewer: int | None, ids: Sequence[int]
    ) -> set[int]:
        if viewer is None or not ids:
            return set()
        result = await connection.execute(statement, {"viewer": viewer, "ids": list(set(ids))})
        return set(result.scalars())

    # --- routes --------------------------------------------------------------------------------------

    async def feed(self, request: Request) -> Response:
        query = request.query_params
        viewer = self.viewer(query.get("token"))
        now = time.time_ns() // 1_000_000
        before = _feed_cutoff(query.get("latest_time"), now)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(self.feed_statement, {"before": before})).all()
            rows, next_time = _page_by_millisecond(rows, self.page_size, now)
            liked = await self.members(connection, LIKED, viewer, [row[0] for row in rows])
            followed = await self.members(connection, FOLLOWED, viewer, [row[7] for row in rows])
        base = self.base(request)
        video_list = [
            {
                "id": row[0],
                "author": self.user_json(row, 7, row[7] in followed, base),
                "play_url": f"{base}/media/{quote(row[2])}",
                "cover_url": f"{base}/media/{quote(row[3])}",
                "favorite_count": row[4],
                "comment_count": row[5],
                "is_favorite": row[0] in liked,
                "title": row[1],
            }
            for row in rows
        ]
        return _success({"next_time": next_time, "video_list": video_list})

    async def user(self, request: Request) -> Response:
        query = request.query_params
        token = query.get("token")
        viewer = self.viewer(token)
        wanted = _int(query.get("user_id"))
        if wanted is None and query.get("user_id"):
            return _failure(2, "user_id must be a positive integer")
        if wanted is None:
            if viewer is None:
                return _failure(1, INVALID_TOKEN if token else NO_TOKEN)
            wanted = viewer
        async with self.engine.connect() as connection:
            row = (await connection.execute(USER, {"id": wanted})).first()
            if row is None:
                return _failure(3, "User doesn't exist")
            following = (
                viewer is not None
                and viewer != wanted
                and bool(await self.members(connection, FOLLOWED, viewer, [wanted]))
            )
        return _success({"user": self.user_json(row, 0, following, self.base(request))})

    async def comment_list(self, request: Request) -> Response:
        query = request.query_params
        viewer = self.viewer(query.get("token"))
        video = _int(query.get("video_id"))
        if video is None:
            return _failure(2, "video_id must be a positive integer", {"comment_list": []})
        async with self.engine.connect() as connection:
            rows = (await connection.execute(COMMENTS, {"video": video})).all()
            if not rows and (await connection.execute(VIDEO_EXISTS, {"id": video})).first() is None:
                return _failure(3, "Video doesn't exist", {"comment_list": []})
            followed = await self.members(connection, FOLLOWED, viewer, [row[3] for row in rows])
        base = self.base(request)
        comment_list = [
            {
                "id": row[0],
                "user": self.user_json(row, 3, row[3] in followed, base),
                "content": row[1],
                "create_date": _month_day(row[2]),
            }
            for row in rows
        ]
        return _success({"comment_list": comment_list})

    async def chat(self, request: Request) -> Response:
        query = request.query_params
        token = query.get("token")
        viewer = self.viewer(token)
        if viewer is None:
            return _failure(1, INVALID_TOKEN if token else NO_TOKEN, {"message_list": []})
        peer = _int(query.get("to_user_id"))
        if peer is None:
            return _failure(2, "to_user_id must be a positive integer", {"message_list": []})
        after = _int(query.get("pre_msg_time")) or 0
        values = {"low": min(viewer, peer), "high": max(viewer, peer), "after": after if after else -1}
        async with self.engine.connect() as connection:
            rows = (await connection.execute(CHAT, values)).all()
            if not rows and (await connection.execute(USER_EXISTS, {"id": peer})).first() is None:
                return _failure(3, "No such user", {"message_list": []})
        message_list = [
            {"id": mid, "to_user_id": to, "from_user_id": sender, "content": content, "create_time": created}
            for mid, to, sender, content, created in rows
        ]
        return _success({"message_list": message_list})


def _int(raw: str | None) -> int | None:
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _feed_cutoff(raw: str | None, now: int) -> int:
    value = _int(raw)
    if not value:
        return now
    return min(value if value > MS_THRESHOLD else value * 1000, MAX_MS)


def _page_by_millisecond(rows: Sequence[Row[Any]], size: int, now: int) -> tuple[Sequence[Row[Any]], int]:
    """The REST feed's paging by time (videos sharing the last millisecond wait for the next page)."""
    if len(rows) <= size:
        return rows, rows[-1][6] if rows else now
    last = rows[size - 1][6]
    if rows[size][6] != last:
        return rows[:size], last
    newer = [row for row in rows[:size] if row[6] != last]
    if not newer:
        return rows[:size], last
    return newer, last + 1


def _month_day(ms: int) -> str:
    day = time.gmtime(ms // 1000)
    return f"{day.tm_mon:02d}-{day.tm_mday:02d}"


def _success(payload: Mapping[str, Any]) -> Response:
    return Response(
        orjson.dumps({"status_code": 0, "status_msg": "success", **payload}), media_type=JSON_UTF8
    )


def _failure(code: int, message: str, defaults: Mapping[str, Any] | None = None) -> Response:
    body = {"status_code": code, "status_msg": message, **(defaults or {})}
    return Response(orjson.dumps(body), media_type=JSON_UTF8)


async def plain(_request: Request) -> Response:
    return JSONResponse({"data": {"__typename": "Query"}})


def create_app() -> Starlette:
    env = os.environ
    engine = _engine(env["DATABASE_URL"])
    routes = Handwritten(
        engine, env["JWT_SECRET"], env.get("PUBLIC_BASE_URL", ""), int(env.get("FEED_PAGE_SIZE", "30"))
    )
    ceiling = Path(env["BENCH_BYTES_FILE"]).read_bytes() if env.get("BENCH_BYTES_FILE") else b"{}"

    async def pre_serialised(_request: Request) -> Response:
        return Response(ceiling, media_type=JSON_UTF8)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/douyin/feed/", routes.feed, methods=["GET"]),
            Route("/douyin/user/", routes.user, methods=["GET"]),
            Route("/douyin/comment/list/", routes.comment_list, methods=["GET"]),
            Route("/douyin/message/chat/", routes.chat, methods=["GET"]),
            Route("/plain", plain, methods=["GET", "POST"]),
            Route("/bytes", pre_serialised, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    return app
