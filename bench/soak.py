"""`make soak`: a bounded mixed workload against the real server, then a consistency check.

50 concurrent clients (SOAK_CLIENTS) for 2 minutes (SOAK_SECONDS) on loopback: feed, profile, comment-list
and chat reads; likes and unlikes, comments added and deleted, follows and unfollows, messages, video
uploads, and a few hostile requests (a deeply nested GraphQL fan-out, malformed bodies, an oversized form,
forged tokens). Afterwards:

- every denormalised counter equals its rows (bench.seed.inconsistent_counters);
- no orphan objects: every stored media file belongs to a video, every video's files exist;
- no 5xx and no `status_code` 500 anywhere, no transport error;
- the worker's RSS, after a short rest, is back within 20% of its RSS after warm-up.

The server runs `manage.py serve` (one worker, ENV=production) on SQLite in a temporary directory, or on
SOAK_DATABASE_URL (MariaDB/MySQL; its tables are emptied) with SOAK_REDIS_URL when set. Not part of
`make test`: it takes minutes and judges a whole process, not a behaviour.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.instrument import rss_kib
from bench.seed import ensure_database, inconsistent_counters
from storage.clips import make_test_video

ROOT = Path(__file__).resolve().parent.parent
SECRET = "soak-secret-0123456789abcdef01234567"
PASSWORD = "soak-password"
USERS = 60
SEED_VIDEOS = 12
WARM_UP_SECONDS = 10
REST_SECONDS = 5
RSS_TOLERANCE = 0.20
# A fan-out document inside every per-field guard rail: lists nested under lists.
HOSTILE_QUERY = (
    "{ feed(first: 30) { nodes { comments(first: 30) { nodes { author { videos(first: 30) { nodes {"
    " comments(first: 30) { nodes { author { name } } } } } } } } } } }"
)


@dataclass(slots=True)
class Account:
    user_id: int
    token: str


@dataclass(slots=True)
class Tally:
    calls: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)  # a clear non-zero status or GraphQL error code
    failures: list[str] = field(default_factory=list)  # 5xx, status_code 500, transport errors
    latencies: list[float] = field(default_factory=list)

    def failed(self, kind: str, detail: str) -> None:
        if len(self.failures) < 50:
            self.failures.append(f"{kind}: {detail[:300]}")
        else:
            self.failures.append(kind)


@dataclass(slots=True)
class World:
    http: httpx.AsyncClient
    accounts: list[Account]
    video_ids: list[int]
    clip: bytes
    tally: Tally
    comments: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # video -> (comment id, token)


def _env(database_url: str, data_dir: Path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("S3_", "DB_", "OTEL_"))}
    for name in ("REDIS_URL", "DATABASE_URL", "WORKERS"):
        env.pop(name, None)
    env.update(
        ENV="production",
        JWT_SECRET=SECRET,
        DATA_DIR=str(data_dir),
        HOST="127.0.0.1",
        PORT=str(port),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SEED_DEMO="false",
        LOG_LEVEL="warning",
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    if os.environ.get("SOAK_REDIS_URL"):
        env["REDIS_URL"] = os.environ["SOAK_REDIS_URL"]
    # One machine plays 50 phones from one address: per-address limits would measure themselves
    # (SOAK_SET_RATE_LIMITS_ENABLED=true turns them back on).
    env["RATE_LIMITS_ENABLED"] = "false"
    for name, value in os.environ.items():
        if name.startswith("SOAK_SET_"):
            env[name.removeprefix("SOAK_SET_")] = value
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(log: Path, size: int = 2000) -> str:
    return log.read_text(errors="replace")[-size:]


@asynccontextmanager
async def _server(env: dict[str, str], log: Path) -> AsyncIterator[tuple[str, int]]:
    migrate = await asyncio.create_subprocess_exec(sys.executable, "manage.py", "migrate", cwd=ROOT, env=env)
    if await migrate.wait() != 0:
        raise RuntimeError("migrate failed")
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "manage.py", "serve", cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
    base = f"http://{env['HOST']}:{env['PORT']}"
    try:
        async with httpx.AsyncClient() as probe:
            deadline = time.monotonic() + 60
            while True:
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start:\n{_tail(log)}")
                try:
                    if (await probe.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
        yield base, process.pid
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- requests -----------------------------------------------------------------------------------------


async def _call(
    world: World, kind: str, send: Callable[[], Awaitable[httpx.Response]]
) -> dict[str, Any] | None:
    tally = world.tally
    tally.calls[kind] += 1
    started = time.perf_counter()
    try:
        response = await send()
    except httpx.HTTPError as error:
        tally.failed(kind, f"transport error {type(error).__name__}: {error}")
        return None
    finally:
        tally.latencies.append(time.perf_counter() - started)
    if response.status_code >= 500:
        tally.failed(kind, f"HTTP {response.status_code} {response.text}")
        return None
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        tally.failed(kind, f"not JSON: HTTP {response.status_code} {response.text}")
        return None
    if body.get("status_code") == 500:
        tally.failed(kind, f"status_code 500 {body}")
        return None
    if body.get("status_code", 0) != 0 or body.get("errors"):
        tally.refused[kind] += 1
    return body


async def _rest(world: World, kind: str, method: str, path: str, **params: Any) -> dict[str, Any] | None:
    return await _call(world, kind, lambda: world.http.request(method, f"/douyin{path}", params=params))


def _someone(world: World, rng: random.Random) -> Account:
    return rng.choice(world.accounts)


async def _read_feed(world: World, rng: random.Random) -> None:
    account = _someone(world, rng)
    params: dict[str, Any] = {"token": account.token} if rng.random() < 0.8 else {}
    if rng.random() < 0.3:
        params["latest_time"] = int(time.time() * 1000) - rng.randint(1, 120_000)
    await _rest(world, "feed", "GET", "/feed/", **params)


async def _read_profile(world: World, rng: random.Random) -> None:
    account, other = _someone(world, rng), _someone(world, rng)
    path = rng.choice(["/user/", "/publish/list/", "/favorite/list/", "/relation/follower/list/"])
    await _rest(world, "profile", "GET", path, user_id=other.user_id, token=account.token)


async def _read_comments(world: World, rng: random.Random) -> None:
    await _rest(
        world,
        "comments",
        "GET",
        "/comment/list/",
        video_id=rng.choice(world.video_ids),
        token=_someone(world, rng).token,
    )


async def _poll_chat(world: World, rng: random.Random) -> None:
    account, other = _someone(world, rng), _someone(world, rng)
    await _rest(
        world,
        "chat poll",
        "GET",
        "/message/chat/",
        token=account.token,
        to_user_id=other.user_id,
        pre_msg_time=int(time.time() * 1000) - 5000,
    )


async def _like(world: World, rng: random.Random) -> None:
    await _rest(
        world,
        "like",
        "POST",
        "/favorite/action/",
        token=_someone(world, rng).token,
        video_id=rng.choice(world.video_ids),
        action_type=rng.choice([1, 1, 2]),
    )


async def _comment(world: World, rng: random.Random) -> None:
    video_id = rng.choice(world.video_ids)
    mine = world.comments.setdefault(video_id, [])
    if mine and rng.random() < 0.4:
        comment_id, token = mine.pop(rng.randrange(len(mine)))
        await _rest(
            world,
            "comment delete",
            "POST",
            "/comment/action/",
            token=token,
            video_id=video_id,
            action_type=2,
            comment_id=comment_id,
        )
        return
    account = _someone(world, rng)
    body = await _rest(
        world,
        "comment add",
        "POST",
        "/comment/action/",
        token=account.token,
        video_id=video_id,
        action_type=1,
        comment_text=f"soak comment {rng.random():.6f}",
    )
    if body and body.get("status_code") == 0:
        mine.append((body["comment"]["id"], account.token))


async def _follow(world: World, rng: random.Random) -> None:
    account, other = _someone(world, rng), _someone(world, rng)
    await _rest(
        world,
        "follow",
        "POST",
        "/relation/action/",
        token=account.token,
        to_user_id=other.user_id,
        action_type=rng.choice([1, 1, 2]),
    )


async def _message(world: World, rng: random.Random) -> None:
    account, other = _someone(world, rng), _someone(world, rng)
    await _rest(
        world,
        "message",
        "POST",
        "/message/action/",
        token=account.token,
        to_user_id=other.user_id,
        action_type=1,
        content=f"soak message {rng.random():.6f}",
    )


async def _upload(world: World, rng: random.Random) -> None:
    account = _someone(world, rng)
    body = await _call(
        world,
        "upload",
        lambda: world.http.post(
            "/douyin/publish/action/",
            data={"token": account.token, "title": f"soak {rng.random():.4f}"},
            files={"data": ("clip.mp4", world.clip, "video/mp4")},
            timeout=120,
        ),
    )
    if body and body.get("status_code") == 0:
        latest = await _rest(
            world, "profile", "GET", "/publish/list/", user_id=account.user_id, token=account.token
        )
        if latest and latest.get("video_list"):
            world.video_ids.append(int(latest["video_list"][0]["id"]))


async def _hostile(world: World, rng: random.Random) -> None:
    choice = rng.randrange(5)
    if choice == 0:
        await _call(world, "hostile", lambda: world.http.post("/graphql", json={"query": HOSTILE_QUERY}))
    elif choice == 1:
        await _call(
            world,
            "hostile",
            lambda: world.http.post(
                "/graphql",
                content=b'{"query": "{ __typename }", "variables": ' + b"[" * 20_000,
                headers={"content-type": "application/json"},
            ),
        )
    elif choice == 2:
        await _rest(world, "hostile", "GET", "/user/", user_id="1 OR 1=1", token="forged.token.value")
    elif choice == 3:
        await _call(
            world,
            "hostile",
            lambda: world.http.post(
                "/douyin/comment/action/",
                data={
                    "token": _someone(world, rng).token,
                    "video_id": "1",
                    "action_type": "1",
                    "comment_text": "x" * 200_000,
                },
            ),
        )
    else:
        await _call(
            world,
            "hostile",
            lambda: world.http.post(
                "/graphql", content=b"\xff\xfe not json", headers={"content-type": "application/json"}
            ),
        )


MIX: tuple[tuple[Callable[[World, random.Random], Awaitable[None]], int], ...] = (
    (_read_feed, 30),
    (_read_profile, 12),
    (_read_comments, 10),
    (_poll_chat, 12),
    (_like, 12),
    (_comment, 8),
    (_follow, 7),
    (_message, 6),
    (_upload, 1),
    (_hostile, 2),
)


async def _client(world: World, seed: int, stop: float) -> None:
    rng = random.Random(seed)
    actions = [action for action, _ in MIX]
    weights = [weight for _, weight in MIX]
    while time.monotonic() < stop:
        await rng.choices(actions, weights)[0](world, rng)


# --- set-up and checks --------------------------------------------------------------------------------


async def _accounts(http: httpx.AsyncClient) -> list[Account]:
    accounts = []
    for index in range(USERS):
        response = await http.post(
            "/douyin/user/register/", params={"username": f"soak{index}", "password": PASSWORD}
        )
        body = response.json()
        if body.get("status_code") != 0:
            raise RuntimeError(f"registering soak{index} failed: {body}")
        accounts.append(Account(int(body["user_id"]), body["token"]))
    return accounts


async def _seed_videos(http: httpx.AsyncClient, accounts: list[Account], clip: bytes) -> list[int]:
    for index in range(SEED_VIDEOS):
        account = accounts[index % len(accounts)]
        response = await http.post(
            "/douyin/publish/action/",
            data={"token": account.token, "title": f"seed {index}"},
            files={"data": ("clip.mp4", clip, "video/mp4")},
            timeout=120,
        )
        if response.json().get("status_code") != 0:
            raise RuntimeError(f"seeding a video failed: {response.text}")
    feed = (await http.get("/douyin/feed/")).json()
    return [int(video["id"]) for video in feed["video_list"]]


async def _orphans(database_url: str, media_dir: Path) -> tuple[int, int]:
    """(stored files no video names, video files missing from the store)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT play_key, cover_key FROM videos"))).all()
    finally:
        await engine.dispose()
    named = {key for row in rows for key in row}
    stored = _stored_keys(media_dir)
    return len(stored - named), len(named - stored)


def _stored_keys(media_dir: Path) -> set[str]:
    """Every file in the local object store, by key (the app's own assets live elsewhere)."""
    return {str(path.relative_to(media_dir)) for path in media_dir.rglob("*") if path.is_file()}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


async def _run() -> int:
    clients = int(os.environ.get("SOAK_CLIENTS", "50"))
    seconds = float(os.environ.get("SOAK_SECONDS", "120"))
    database_url = os.environ.get("SOAK_DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        data_dir = Path(scratch)
        if database_url:
            await ensure_database(database_url)
            engine = create_async_engine(database_url)
            async with engine.begin() as connection:
                await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
                for table in ("messages", "comments", "favorites", "follows", "videos", "users"):
                    await connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
            await engine.dispose()
        port = _free_port()
        env = _env(database_url, data_dir, port)
        clip_path = data_dir / "clip.mp4"
        make_test_video(clip_path, seconds=1, size="320x180")
        clip = clip_path.read_bytes()
        async with _server(env, data_dir / "server.log") as (base, pid):
            limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
                started = time.monotonic()
                accounts = await _accounts(http)
                video_ids = await _seed_videos(http, accounts, clip)
                print(
                    f"set up {len(accounts)} users and {len(video_ids)} videos in "
                    f"{time.monotonic() - started:.1f} s"
                )
                world = World(http, accounts, video_ids, clip, Tally())
                warm_stop = time.monotonic() + WARM_UP_SECONDS
                await asyncio.gather(*(_client(world, 1000 + n, warm_stop) for n in range(clients)))
                await asyncio.sleep(REST_SECONDS)
                rss_start = rss_kib(pid)
                world.tally = Tally()
                started = time.monotonic()
                stop = started + seconds
                await asyncio.gather(*(_client(world, n, stop) for n in range(clients)))
                elapsed = time.monotonic() - started
                await asyncio.sleep(REST_SECONDS)
                rss_end = rss_kib(pid)
                tally = world.tally
        url = database_url or f"sqlite+aiosqlite:///{(data_dir / 'douyin.db').resolve()}"
        inconsistent = await inconsistent_counters(url)
        stray, missing = await _orphans(url, data_dir / "media")
        log_tail = _tail(data_dir / "server.log", 3000)
    total = sum(tally.calls.values())
    rss_growth = (rss_end - rss_start) / rss_start
    print(
        f"\nsoak: {clients} clients, {elapsed:.0f} s, {total} requests ({total / elapsed:.0f}/s), "
        f"p50 {_percentile(tally.latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {_percentile(tally.latencies, 0.99) * 1000:.1f} ms"
    )
    print(f"{'kind':<16}{'requests':>10}{'refused':>10}")
    for kind, count in sorted(tally.calls.items(), key=lambda item: -item[1]):
        print(f"{kind:<16}{count:>10}{tally.refused[kind]:>10}")
    checks = {
        "no 5xx, status_code 500 or transport error": not tally.failures,
        "every counter equals its rows": inconsistent == 0,
        "no stored file without its video": stray == 0,
        "no video without its files": missing == 0,
        f"RSS back within {RSS_TOLERANCE:.0%} of its start": rss_growth <= RSS_TOLERANCE,
    }
    print(
        f"\nfailures: {len(tally.failures)}; counters off: {inconsistent}; stray files: {stray}; "
        f"missing files: {missing}; RSS {rss_start / 1024:.0f} MiB -> {rss_end / 1024:.0f} MiB "
        f"({rss_growth:+.1%})"
    )
    for failure in tally.failures[:20]:
        print("  ", failure)
    if tally.failures and "Traceback" in log_tail:
        print(log_tail)
    for check, held in checks.items():
        print(f"{'ok  ' if held else 'FAIL'} {check}")
    return 0 if all(checks.values()) else 1


def main() -> None:
    sys.exit(asyncio.run(_run()))


if __name__ == "__main__":
    main()
