"""Throughput and latency of the GraphQL API and the REST shim over a small data set (50 users, 300 videos).

In-process (the micro-benchmark): one signed-in feed page of 30 and of 100 videos (with author, counts,
viewerHasLiked and author.viewerIsFollowing) through `schema.execute`: pages per second, the time per
resolved field and the SQL statements a page costs. Over HTTP: the server as in production
(`manage.py serve`, uvicorn, one worker) on a free loopback port, loaded with 32 connections for a few
seconds per request kind by wrk when it is installed, else by an async client in this process.
The realistic comparison with hand-written routes is bench_realistic.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench.seed import ensure_database, migrate_quietly
from core.clock import now_ms
from resolvers.auth import issue_token
from schema import schema
from schema.context import build_context
from settings import Settings
from storage.models import metadata
from storage.services import Services
from tests.support.factories import add_follows, add_likes, add_users, add_videos

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


def _settings(data_dir: Path, database_url: str = "") -> Settings:
    return Settings(
        env="test",
        jwt_secret=SECRET,
        data_dir=data_dir,
        database_url=database_url,
        seed_demo=False,
        # The benchmark is one client sending as fast as it can: exactly what the rate limits stop.
        rate_limits_enabled=False,
    )


async def _empty(services: Services) -> None:
    async with services.db.write() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())


async def _fill(services: Services) -> int:
    """Users, videos, likes and follows; returns the viewer's id."""
    accounts = await add_users(services, USERS)
    start = now_ms() - VIDEOS * 1000
    videos: list[int] = []
    for index, author in enumerate(accounts):  # interleaved: the feed alternates authors
        videos += await add_videos(
            services, author, VIDEOS // USERS, start_ms=start + index * 1000, step_ms=USERS * 1000
        )
    viewer = accounts[0]
    await add_follows(services, [(viewer, other) for other in accounts[1:USERS:3]])
    await add_likes(services, viewer, videos[::4])
    return viewer.id


def resolved_fields(value: Any) -> int:
    """Fields in a result: every key of every object, nested ones included."""
    if isinstance(value, dict):
        return len(value) + sum(resolved_fields(item) for item in value.values())
    if isinstance(value, list):
        return sum(resolved_fields(item) for item in value)
    return 0


async def _in_process(services: Services, token: str, rounds: int = 200) -> None:
    """The signed-in feed page through `schema.execute`, for 30 and for 100 videos: its speed, the time
    per resolved field and the SQL statements it costs."""
    statements = 0

    def _count(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal statements
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN is not a query
            statements += 1

    for engine in services.db.sync_engines:  # the inline readers' statements too
        event.listen(engine, "before_cursor_execute", _count)
    try:
        for first in (30, 100):
            statements = 0
            timings: list[float] = []
            fields = 0
            for _ in range(rounds):
                context = await build_context(services, request=None, token=token)
                started = time.perf_counter()
                result = await schema.execute(FEED, variable_values={"first": first}, context_value=context)
                timings.append(time.perf_counter() - started)
                assert result.errors is None, result.errors
                fields = resolved_fields(result.data)
            p50 = statistics.median(timings)
            rate = rounds / sum(timings)
            print(
                f"  in-process feed page ({first:3d} videos, signed in): {rate:6.0f} ops/s   "
                f"p50 {p50 * 1000:6.2f} ms   p95 {statistics.quantiles(timings, n=20)[-1] * 1000:6.2f} ms   "
                f"{p50 / fields * 1e6:5.2f} µs per resolved field ({fields} fields)   "
                f"{statements / rounds:.1f} SQL statements per page"
            )
    finally:
        for engine in services.db.sync_engines:
            event.remove(engine, "before_cursor_execute", _count)


@dataclass(frozen=True)
class Load:
    name: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


async def _python_load(base: str, load: Load) -> tuple[float, float, float, int]:
    """req/s, p50 and p99 (seconds) and the non-200 count, from an async client in this process."""
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + LOAD_SECONDS
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.request(
                    load.method, load.path, headers=load.headers, content=load.body or None
                )
                latencies.append(time.perf_counter() - started)
                failures += response.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        elapsed = time.perf_counter() - began
    quantiles = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, quantiles[49], quantiles[98], failures


_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _WRK_UNITS[unit]


async def _wrk_load(base: str, load: Load, workdir: Path) -> tuple[float, float, float, int]:
    """The same figures from wrk (a C load generator: the client is then never the bottleneck)."""
    script = workdir / "request.lua"
    lines = [f"wrk.method = {json.dumps(load.method)}", f"wrk.body = {json.dumps(load.body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in load.headers.items()]
    script.write_text("\n".join(lines) + "\n")
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{LOAD_SECONDS:.0f}s", "--latency", "-s", str(script),
        base + load.path, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output = (await process.communicate())[0].decode()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _seconds(re.search(r"50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _seconds(re.search(r"99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, p50, p99, int(non_2xx.group(1)) if non_2xx else 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _over_http(data_dir: Path, database_url: str, token: str) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "ENV": "test",
        "RATE_LIMITS_ENABLED": "false",
        "JWT_SECRET": SECRET,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "SEED_DEMO": "false",
    }
    for name in ("REDIS_URL", "S3_ENDPOINT", "PUBLIC_BASE_URL"):
        env.pop(name, None)
    server = await asyncio.create_subprocess_exec(sys.executable, "manage.py", "serve", cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    json_auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    loads = [
        Load("POST /graphql { viewer { id } }", "POST", "/graphql", json_auth, _body(TRIVIAL)),
        Load("POST /graphql feed page, 30 videos, signed in", "POST", "/graphql", json_auth, _body(FEED)),
        Load("GET /douyin/feed/?token=... (30 videos)", "GET", f"/douyin/feed/?token={token}", {}),
    ]
    use_wrk = shutil.which("wrk") is not None
    print(f"  load: {CONNECTIONS} connections, {LOAD_SECONDS:.0f} s each, by {'wrk' if use_wrk else 'httpx'}")
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                try:
                    if (await probe.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        for load in loads:
            if use_wrk:
                rate, p50, p99, failures = await _wrk_load(base, load, data_dir)
            else:
                rate, p50, p99, failures = await _python_load(base, load)
            print(
                f"  {load.name:<44} {rate:8.0f} req/s   p50 {p50 * 1000:6.1f} ms   "
                f"p99 {p99 * 1000:6.1f} ms   non-200: {failures}"
            )
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)


def _body(query: str) -> bytes:
    return json.dumps({"query": query, "variables": {"first": 30}}).encode()


async def _run() -> None:
    """On the embedded default, or on the database BENCH_DATABASE_URL names (its tables are emptied)."""
    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="bench-graphql-") as workdir:
        data_dir = Path(workdir)
        settings = _settings(data_dir, database_url)
        await ensure_database(settings.effective_database_url)
        await asyncio.to_thread(migrate_quietly, settings)
        services = Services.open(settings)
        try:
            await _empty(services)
            viewer = await _fill(services)
            token = issue_token(settings, viewer)
            backend = "MariaDB/MySQL" if services.db.dialect == "mysql" else "SQLite"
            print(f"GraphQL and REST ({USERS} users, {VIDEOS} videos, {backend}, one uvicorn worker)")
            await _in_process(services, token)
        finally:
            await services.close()
        await _over_http(data_dir, settings.effective_database_url, token)


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
