"""The hostile fan-out query against the server, and a REST feed served next to it.

A tiny data set (20 users, 100 videos, 5 comments each), the server as in production (`manage.py
serve`, one uvicorn worker) on a free loopback port. For each document: a few clients send it at once
while another client reads the REST feed in a loop; printed are each hostile request's time and outcome
(HTTP status, first error code), the feed's latencies and failures meanwhile, and the server's RSS before
and after.

Documents: the hostile one (`tests/support/hostile.py`: feed → comments → author → videos → comments,
100 per page, 10 aliases, inside the depth, alias and token limits) and the same shape with pages of 10
and of 3 (the last one under the default cost limit, about 1,700 objects estimated: it runs).

    .venv/bin/python -m bench.bench_fanout
    BENCH_DATABASE_URL=mysql+asyncmy://root@127.0.0.1:3306/bench .venv/bin/python -m bench.bench_fanout

`BENCH_FANOUT_CLIENTS` (hostile clients at once, default 2) and `BENCH_FANOUT_TIMEOUT` (seconds a client
waits, default 120) tune it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from bench.instrument import rss_kib
from bench.seed import ensure_database, migrate_quietly
from core.clock import now_ms
from settings import Settings
from storage.models import metadata
from storage.services import Services
from tests.support.factories import add_comments, add_users, add_videos
from tests.support.hostile import fan_out_query

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef0123"
USERS, VIDEOS, COMMENTS_PER_VIDEO = 20, 100, 5
CLIENTS = int(os.environ.get("BENCH_FANOUT_CLIENTS", "2"))
TIMEOUT = float(os.environ.get("BENCH_FANOUT_TIMEOUT", "120"))


def _settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(
        env="test", jwt_secret=SECRET, data_dir=data_dir, database_url=database_url, seed_demo=False
    )


async def _seed(settings: Settings) -> None:
    services = Services.open(settings)
    try:
        async with services.db.write() as session:
            for table in reversed(metadata.sorted_tables):
                await session.execute(table.delete())
        users = await add_users(services, USERS)
        start = now_ms() - VIDEOS * 1000
        per_author = VIDEOS // USERS
        for index, author in enumerate(users):
            videos = await add_videos(
                services, author, per_author, start_ms=start + index * 1000, step_ms=USERS * 1000
            )
            for offset, video_id in enumerate(videos):
                writers = users[offset % USERS :] + users[: offset % USERS]
                await add_comments(services, video_id, writers[:COMMENTS_PER_VIDEO], COMMENTS_PER_VIDEO)
    finally:
        await services.close()


@dataclass
class Outcome:
    seconds: float
    status: int
    code: str


@dataclass
class FeedReads:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def _hostile(client: httpx.AsyncClient, base: str, query: str) -> Outcome:
    started = time.perf_counter()
    try:
        response = await client.post(f"{base}/graphql", json={"query": query}, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        return Outcome(time.perf_counter() - started, 0, type(error).__name__)
    seconds = time.perf_counter() - started
    code = "-"
    try:
        errors = orjson.loads(response.content).get("errors") or []
        if errors:
            code = str((errors[0].get("extensions") or {}).get("code"))
    except orjson.JSONDecodeError:
        code = "not JSON"
    return Outcome(seconds, response.status_code, code)


async def _read_feed(client: httpx.AsyncClient, base: str, reads: FeedReads, stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            response = await client.get(f"{base}/douyin/feed/", timeout=TIMEOUT)
            body = orjson.loads(response.content)
            if response.status_code != 200 or body.get("status_code") != 0:
                reads.failures.append(f"{response.status_code}/{body.get('status_code')}")
        except (httpx.HTTPError, orjson.JSONDecodeError) as error:
            reads.failures.append(type(error).__name__)
        reads.latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def _round(base: str, pid: int, name: str, query: str) -> None:
    reads = FeedReads()
    stop = asyncio.Event()
    rss_before = rss_kib(pid)
    async with httpx.AsyncClient() as feed_client, httpx.AsyncClient() as hostile_client:
        reader = asyncio.create_task(_read_feed(feed_client, base, reads, stop))
        await asyncio.sleep(0.3)  # a few reads before the attack
        outcomes = await asyncio.gather(*(_hostile(hostile_client, base, query) for _ in range(CLIENTS)))
        await asyncio.sleep(0.3)
        stop.set()
        await reader
    await asyncio.sleep(1.0)
    rss_after = rss_kib(pid)
    print(f"  {name} ({len(query)} characters), {CLIENTS} clients at once:")
    for outcome in outcomes:
        print(f"    {_ms(outcome.seconds):>10}   HTTP {outcome.status}   {outcome.code}")
    latencies = sorted(reads.latencies)
    print(
        f"    REST feed meanwhile: {len(latencies)} reads, median {_ms(statistics.median(latencies))},"
        f" max {_ms(latencies[-1])}, failures {len(reads.failures)} {sorted(set(reads.failures))}"
    )
    print(f"    server RSS {rss_before // 1024} MiB -> {rss_after // 1024} MiB")


async def _wait_until_up(base: str) -> None:
    async with httpx.AsyncClient() as probe:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if (await probe.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not start")


async def _serve(data_dir: Path, database_url: str) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "ENV": "test",
        "JWT_SECRET": SECRET,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "error",
        "SEED_DEMO": "false",
    }
    for name in ("REDIS_URL", "S3_ENDPOINT", "PUBLIC_BASE_URL"):
        env.pop(name, None)
    server = await asyncio.create_subprocess_exec(sys.executable, "manage.py", "serve", cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_up(base)
        await _round(base, server.pid, "fan-out, pages of 100", fan_out_query(first=100, aliases=10))
        await _round(base, server.pid, "fan-out, pages of 10", fan_out_query(first=10, aliases=10))
        await _round(base, server.pid, "fan-out, pages of 3", fan_out_query(first=3, aliases=10))
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)


async def _run() -> None:
    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as workdir:
        data_dir = Path(workdir)
        settings = _settings(data_dir, database_url)
        await ensure_database(settings.effective_database_url)
        await asyncio.to_thread(migrate_quietly, settings)
        await _seed(settings)
        backend = "MariaDB/MySQL" if settings.effective_database_url.startswith("mysql") else "SQLite"
        print(
            f"Hostile fan-out ({USERS} users, {VIDEOS} videos, {COMMENTS_PER_VIDEO} comments each,"
            f" {backend}, one uvicorn worker)"
        )
        await _serve(data_dir, settings.effective_database_url)


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
