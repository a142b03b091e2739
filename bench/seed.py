"""A realistic data set for the benchmarks, seeded fast: 2,000 users, 20,000 videos, 200,000 likes,
50,000 follows, 50,000 comments and 20,000 messages (times BENCH_SCALE).

Rows are generated in Python from one fixed random seed, the denormalised counters computed from them
(video favorite_count/comment_count; user follow_count, follower_count, favorite_count, total_favorited,
work_count), and everything is written with SQLAlchemy Core executemany in large batches, one
transaction per table, into a schema made by the project's own migrations. Every user has the same
precomputed argon2 hash (password `BENCH_PASSWORD`). Videos are object keys only: no media files exist.

Popularity is skewed as on a real service: recent videos get more likes and comments, a few authors
get most of the videos and followers.

`python -m bench.seed` seeds the database BENCH_DATABASE_URL names (SQLite under ./var/bench otherwise).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import Table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from manage import alembic_config
from settings import Settings
from storage.models import Comment, Favorite, Follow, Message, User, Video, table_of

SEED = 20261201
BENCH_PASSWORD = "bench-password"
BATCH_ROWS = 10_000
DAY_MS = 24 * 3600 * 1000
HISTORY_DAYS = 60  # videos span the last 60 days, the newest a few seconds before seeding


@dataclass(frozen=True, slots=True)
class Scale:
    users: int = 2_000
    videos: int = 20_000
    likes: int = 200_000
    follows: int = 50_000
    comments: int = 50_000
    messages: int = 20_000

    @classmethod
    def from_factor(cls, factor: float) -> Scale:
        base = cls()
        return cls(
            users=max(50, int(base.users * factor)),
            videos=max(300, int(base.videos * factor)),
            likes=max(1_000, int(base.likes * factor)),
            follows=max(300, int(base.follows * factor)),
            comments=max(300, int(base.comments * factor)),
            messages=max(300, int(base.messages * factor)),
        )


@dataclass(slots=True)
class Seeded:
    """What was written, and how long each table took (seconds)."""

    scale: Scale
    now_ms: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())

    @property
    def rows(self) -> int:
        s = self.scale
        return s.users + s.videos + s.likes + s.follows + s.comments + s.messages


def _skewed(rng: random.Random, count: int, power: float) -> int:
    """An index in [0, count) where low indexes are more likely (power > 1 skews harder)."""
    return min(count - 1, int(count * rng.random() ** power))


@dataclass(slots=True)
class Rows:
    users: list[dict[str, Any]]
    videos: list[dict[str, Any]]
    favorites: list[dict[str, Any]]
    follows: list[dict[str, Any]]
    comments: list[dict[str, Any]]
    messages: list[dict[str, Any]]


def generate(scale: Scale, now_ms: int, password_hash: str) -> Rows:
    """Every row, ids explicit (users 1..N, videos 1..N in publication order), counters consistent."""
    rng = random.Random(SEED)
    n_users, n_videos = scale.users, scale.videos

    # Videos: ids grow with time; authors skewed towards low user ids (a few prolific authors).
    start = now_ms - HISTORY_DAYS * DAY_MS
    step = (now_ms - 5_000 - start) // n_videos
    video_times = [start + i * step + rng.randrange(step // 2) for i in range(n_videos)]
    video_authors = [1 + _skewed(rng, n_users, 1.6) for _ in range(n_videos)]

    def recent_video() -> int:  # an index, newer videos more likely
        return n_videos - 1 - _skewed(rng, n_videos, 1.5)

    likes: set[tuple[int, int]] = set()
    while len(likes) < scale.likes:
        likes.add((rng.randrange(1, n_users + 1), recent_video()))
    follows: set[tuple[int, int]] = set()
    while len(follows) < scale.follows:
        follower, followee = rng.randrange(1, n_users + 1), 1 + _skewed(rng, n_users, 2.0)
        if follower != followee:
            follows.add((follower, followee))

    favorites = [
        {"user_id": user, "video_id": index + 1, "created_at": video_times[index] + rng.randrange(1, DAY_MS)}
        for user, index in sorted(likes)
    ]
    for row in favorites:
        row["created_at"] = min(row["created_at"], now_ms - 1)
    follow_rows = [
        {"follower_id": a, "followee_id": b, "created_at": now_ms - rng.randrange(1, HISTORY_DAYS * DAY_MS)}
        for a, b in sorted(follows)
    ]
    comments = []
    for number in range(1, scale.comments + 1):
        index = recent_video()
        created = video_times[index] + rng.randrange(1, max(2, now_ms - 1 - video_times[index]))
        comments.append(
            {
                "id": number,
                "video_id": index + 1,
                "user_id": rng.randrange(1, n_users + 1),
                "content": f"comment {number}: nice one {'👍' if number % 3 else '哈哈'}",
                "created_at": min(created, now_ms - 1),
            }
        )

    messages = _messages(rng, scale, now_ms)

    video_likes = Counter(index + 1 for _, index in likes)
    video_comments = Counter(row["video_id"] for row in comments)
    liked_by = Counter(user for user, _ in likes)
    works = Counter(video_authors)
    received: Counter[int] = Counter()
    for index, author in enumerate(video_authors):
        received[author] += video_likes[index + 1]
    following = Counter(a for a, _ in follows)
    followers = Counter(b for _, b in follows)

    users = [
        {
            "id": uid,
            "name": f"bench{uid}",
            "password_hash": password_hash,
            "avatar_key": f"avatars/bench/{uid}.jpg" if uid % 2 else "",
            "background_key": f"backgrounds/bench/{uid}.jpg" if uid % 5 == 0 else "",
            "signature": f"I am bench user {uid}" if uid % 3 else "",
            "follow_count": following[uid],
            "follower_count": followers[uid],
            "total_favorited": received[uid],
            "work_count": works[uid],
            "favorite_count": liked_by[uid],
            "created_at": start - DAY_MS + uid,
        }
        for uid in range(1, n_users + 1)
    ]
    videos = [
        {
            "id": index + 1,
            "author_id": video_authors[index],
            "title": f"video {index + 1} {'日常' if index % 2 else 'daily'}",
            "play_key": f"videos/bench/{index + 1}.mp4",
            "cover_key": f"covers/bench/{index + 1}.jpg",
            "duration_ms": 5_000 + index % 55_000,
            "width": 720,
            "height": 1280,
            "favorite_count": video_likes[index + 1],
            "comment_count": video_comments[index + 1],
            "created_at": video_times[index],
        }
        for index in range(n_videos)
    ]
    return Rows(users, videos, favorites, follow_rows, comments, messages)


def _messages(rng: random.Random, scale: Scale, now_ms: int) -> list[dict[str, Any]]:
    """Conversations of about ten messages each; times unique and growing within a conversation."""
    pairs: set[tuple[int, int]] = set()
    wanted = max(1, scale.messages // 10)
    while len(pairs) < wanted:
        a, b = rng.randrange(1, scale.users + 1), rng.randrange(1, scale.users + 1)
        if a != b:
            pairs.add((min(a, b), max(a, b)))
    ordered = sorted(pairs)
    rows: list[dict[str, Any]] = []
    for number in range(scale.messages):
        low, high = ordered[number % len(ordered)]
        sender = low if rng.random() < 0.5 else high
        rows.append(
            {
                "id": 0,
                "sender_id": sender,
                "recipient_id": high if sender == low else low,
                "pair_low": low,
                "pair_high": high,
                "content": f"message {number}: 你好 {'see you' if number % 2 else 'ok'}",
                "created_at": now_ms - rng.randrange(1, HISTORY_DAYS * DAY_MS),
            }
        )
    rows.sort(key=lambda row: (row["pair_low"], row["pair_high"], row["created_at"]))
    for previous, row in itertools.pairwise(rows):  # unique per conversation
        same = (previous["pair_low"], previous["pair_high"]) == (row["pair_low"], row["pair_high"])
        if same and row["created_at"] <= previous["created_at"]:
            row["created_at"] = previous["created_at"] + 1
    rows.sort(key=lambda row: row["created_at"])
    for number, row in enumerate(rows, start=1):
        row["id"] = number
    return rows


def migrate_quietly(settings: Settings) -> None:
    """The project's migrations to head (manage.migrate), without Alembic's logging set-up."""
    config = alembic_config(settings.effective_database_url)
    config.attributes["skip_logging_config"] = True
    command.upgrade(config, "head")


def bench_settings(database_url: str, data_dir: Path, jwt_secret: str) -> Settings:
    return Settings(
        env="production", jwt_secret=jwt_secret, data_dir=data_dir, database_url=database_url, seed_demo=False
    )


async def ensure_database(url: str) -> None:
    """Create the MySQL/MariaDB database the URL names (utf8mb4) when it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "mysql" or not parsed.database:
        return
    server = create_async_engine(parsed.set(database=""))
    try:
        async with server.begin() as connection:
            found = await connection.execute(
                text("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"),
                {"name": parsed.database},
            )
            if found.first() is None:  # (IF NOT EXISTS would log a note when it does)
                charset = "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                await connection.execute(text(f"CREATE DATABASE `{parsed.database}` {charset}"))
    finally:
        await server.dispose()


TABLES: tuple[tuple[str, Table], ...] = (
    ("users", table_of(User)),
    ("videos", table_of(Video)),
    ("favorites", table_of(Favorite)),
    ("follows", table_of(Follow)),
    ("comments", table_of(Comment)),
    ("messages", table_of(Message)),
)


async def _empty(connection: AsyncConnection, mysql: bool) -> None:
    if mysql:
        await connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for _, table in reversed(TABLES):
            await connection.execute(text(f"TRUNCATE TABLE `{table.name}`"))
        await connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    else:
        for _, table in reversed(TABLES):
            await connection.execute(table.delete())


async def _insert(engine: AsyncEngine, table: Table, rows: Sequence[dict[str, Any]], mysql: bool) -> None:
    """One transaction, executemany in batches (asyncmy turns each into one multi-row INSERT)."""
    async with engine.begin() as connection:
        if mysql:
            await connection.execute(text("SET FOREIGN_KEY_CHECKS=0, UNIQUE_CHECKS=0"))
        statement = table.insert()
        for offset in range(0, len(rows), BATCH_ROWS):
            await connection.execute(statement, list(rows[offset : offset + BATCH_ROWS]))
        if mysql:
            await connection.execute(text("SET FOREIGN_KEY_CHECKS=1, UNIQUE_CHECKS=1"))


async def seed(
    settings: Settings, scale: Scale, log: Callable[[str], None] = print, now_ms: int | None = None
) -> Seeded:
    """Migrate the database, empty its tables and fill them; returns the timings."""
    url = settings.effective_database_url
    await ensure_database(url)
    began = time.perf_counter()
    await asyncio.to_thread(migrate_quietly, settings)
    result = Seeded(scale, now_ms or time.time_ns() // 1_000_000)
    result.timings["migrate"] = time.perf_counter() - began

    began = time.perf_counter()
    password_hash = PasswordHasher().hash(BENCH_PASSWORD)
    rows = generate(scale, result.now_ms, password_hash)
    result.timings["generate"] = time.perf_counter() - began

    mysql = make_url(url).get_backend_name() == "mysql"
    engine = create_async_engine(url)
    try:
        began = time.perf_counter()
        async with engine.begin() as connection:
            await _empty(connection, mysql)
        result.timings["empty"] = time.perf_counter() - began
        for name, table in TABLES:
            began = time.perf_counter()
            await _insert(engine, table, getattr(rows, name), mysql)
            result.timings[name] = time.perf_counter() - began
        began = time.perf_counter()
        async with engine.begin() as connection:
            if mysql:
                names = ", ".join(f"`{table.name}`" for _, table in TABLES)
                await connection.execute(text(f"ANALYZE TABLE {names}"))
            else:
                await connection.execute(text("ANALYZE"))
        result.timings["analyze"] = time.perf_counter() - began
    finally:
        await engine.dispose()
    log(
        f"seeded {result.rows:,} rows in {result.seconds:.1f} s ("
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.timings.items())
        + ")"
    )
    return result


COUNTER_CHECKS = (
    "SELECT COUNT(*) FROM videos v WHERE v.favorite_count <> "
    "(SELECT COUNT(*) FROM favorites f WHERE f.video_id = v.id) OR v.comment_count <> "
    "(SELECT COUNT(*) FROM comments c WHERE c.video_id = v.id)",
    "SELECT COUNT(*) FROM users u WHERE u.follow_count <> "
    "(SELECT COUNT(*) FROM follows f WHERE f.follower_id = u.id) OR u.follower_count <> "
    "(SELECT COUNT(*) FROM follows f WHERE f.followee_id = u.id) OR u.favorite_count <> "
    "(SELECT COUNT(*) FROM favorites f WHERE f.user_id = u.id) OR u.work_count <> "
    "(SELECT COUNT(*) FROM videos v WHERE v.author_id = u.id) OR u.total_favorited <> "
    "(SELECT COALESCE(SUM(v.favorite_count), 0) FROM videos v WHERE v.author_id = u.id)",
)


async def inconsistent_counters(url: str) -> int:
    """Videos and users whose denormalised counters disagree with the rows (0 when all agree)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return sum(
                [int((await connection.execute(text(check))).scalar_one()) for check in COUNTER_CHECKS]
            )
    finally:
        await engine.dispose()


def scale_from_env() -> Scale:
    return Scale.from_factor(float(os.environ.get("BENCH_SCALE", "1")))


def main() -> None:
    data_dir = Path("var/bench")
    settings = bench_settings(
        os.environ.get("BENCH_DATABASE_URL", ""), data_dir, "bench-secret-0123456789abcdef0123"
    )
    asyncio.run(seed(settings, scale_from_env()))
    bad = asyncio.run(inconsistent_counters(settings.effective_database_url))
    print("counters consistent with rows" if bad == 0 else f"{bad} rows with inconsistent counters")


if __name__ == "__main__":
    main()
