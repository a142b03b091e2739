"""Throughput and latency of the GraphQL API and the REST shim over a realistic data set.

In-process: one signed-in feed page (30 videos with author, counts, viewerHasLiked and
author.viewerIsFollowing) through `schema.execute`, with the SQL statements it costs. Over HTTP: the server
as in production (`manage.py serve`, uvicorn, one worker, SQLite) on a free loopback port, loaded by an
async client in this process with 32 connections for a few seconds per request kind.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from manage import migrate
from resolvers.auth import issue_token
from schema import schema
from schema.context import build_context
from settings import Settings
from storage.models import Favorite, Follow, User, Video, now_ms
from storage.services import Services

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef0123"
USERS, VIDEOS = 50, 300
CONNECTIONS = 32
LOAD_SECONDS = 5.0
FEED = """
query Feed($first: Int) {
  feed(first: $first) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id title playUrl coverUrl favoriteCount commentCount viewerHasLiked createdAt
      author { id name avatar followerCount followCount totalFavorited workCount viewerIsFollowing }
    }
  }
}
"""
TRIVIAL = "{ viewer { id } }"


def _settings(data_dir: Path) -> Settings:
    return Settings(env="test", jwt_secret=SECRET, data_dir=data_dir, seed_demo=False)


async def _fill(services: Services) -> int:
    """Users, videos, likes and follows; returns the viewer's id."""
    async with services.db.write() as session:
        users = [User(name=f"user{i}", password_hash="-") for i in range(USERS)]
        session.add_all(users)
        await session.flush()
        ids = [user.id for user in users if user.id is not None]
        start = now_ms() - VIDEOS * 1000
        videos = [
            Video(
                author_id=ids[i % USERS],
                title=f"video {i}",
                play_key=f"videos/{i}.mp4",
                cover_key=f"covers/{i}.jpg",
                created_at=start + i * 1000,
            )
            for i in range(VIDEOS)
        ]
        session.add_all(videos)
        await session.flush()
        viewer = ids[0]
        session.add_all(Follow(follower_id=viewer, followee_id=other) for other in ids[1:USERS:3])
        session.add_all(
            Favorite(user_id=viewer, video_id=video.id) for video in videos[::4] if video.id is not None
        )
    return viewer


async def _in_process(services: Services, token: str, rounds: int = 300) -> None:
    statements = 0

    def _count(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal statements
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN is not a query
            statements += 1

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", _count)
    timings: list[float] = []
    for _ in range(rounds):
        context = await build_context(services, request=None, token=token)
        started = time.perf_counter()
        result = await schema.execute(FEED, variable_values={"first": 30}, context_value=context)
        timings.append(time.perf_counter() - started)
        assert result.errors is None, result.errors
    event.remove(services.db.engine.sync_engine, "before_cursor_execute", _count)
    print(
        f"  in-process feed page (30 videos, signed in): {rounds / sum(timings):8.0f} ops/s   "
        f"p50 {statistics.median(timings) * 1000:6.2f} ms   "
        f"p95 {statistics.quantiles(timings, n=20)[-1] * 1000:6.2f} ms   "
        f"{statements / rounds:.1f} SQL statements per page"
    )


async def _load(name: str, send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]) -> None:
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + LOAD_SECONDS
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await send(client)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    failures += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - began
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"  {name:<44} {len(latencies) / elapsed:8.0f} req/s   p50 {quantiles[49] * 1000:6.1f} ms   "
        f"p99 {quantiles[98] * 1000:6.1f} ms   non-200: {failures}"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _over_http(data_dir: Path, token: str) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "ENV": "test",
        "JWT_SECRET": SECRET,
        "DATA_DIR": str(data_dir),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "SEED_DEMO": "false",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "S3_ENDPOINT", "PUBLIC_BASE_URL"):
        env.pop(name, None)
    server = await asyncio.create_subprocess_exec(sys.executable, "manage.py", "serve", cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    if (await probe.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        auth = {"Authorization": f"Bearer {token}"}
        feed = {"query": FEED, "variables": {"first": 30}}
        await _load(
            "POST /graphql { viewer { id } }",
            lambda c: c.post(f"{base}/graphql", json={"query": TRIVIAL}, headers=auth),
        )
        await _load(
            "POST /graphql feed page, 30 videos, signed in",
            lambda c: c.post(f"{base}/graphql", json=feed, headers=auth),
        )
        await _load(
            "GET /douyin/feed/?token=... (30 videos)",
            lambda c: c.get(f"{base}/douyin/feed/", params={"token": token}),
        )
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)


async def _run() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-graphql-") as workdir:
        data_dir = Path(workdir)
        settings = _settings(data_dir)
        await asyncio.to_thread(migrate, settings)
        services = Services.open(settings)
        try:
            viewer = await _fill(services)
            token = issue_token(settings, viewer)
            print(f"GraphQL and REST ({USERS} users, {VIDEOS} videos, SQLite, one uvicorn worker)")
            await _in_process(services, token)
        finally:
            await services.close()
        await _over_http(data_dir, token)


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
