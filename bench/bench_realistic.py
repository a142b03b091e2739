"""The project against hand-written equivalents under a realistic load, one uvicorn worker each.

1. Seeds the realistic data set (bench/seed.py) into MariaDB/MySQL when BENCH_DATABASE_URL is set
   (its tables are emptied first), else into SQLite in a temporary directory; the seeding is timed.
2. Serves the app (`app.create_app`, unchanged, behind bench/instrument.py's counters) with uvicorn, one
   worker, production settings (the event loop included, SERVER_LOOP, for both servers); a second
   worker of the app for half of the writes; and the hand-written routes (bench/handwritten.py) as
   another uvicorn process on the same database.
3. Checks that the hand-written routes answer the same JSON as the REST routes.
4. For each workload, after 2 s of it on each side unmeasured (first touches: the app keeps its pages'
   unchanging parts), loads the app and its hand-written equivalent in turn (A B B A, so noise hits
   both) with wrk and bench/load.lua (>= 100 signed-in viewers rotating, 70% head of the feed, 30% older
   pages) while bench/writes.py writes at about 10% of the read rate and checks every write is visible
   to the very next read (stale reads).
5. Prints one table: req/s, p50, p99, SQL statements per request, errors, writes, stale reads, the ratio
   to the hand-written side and the goal; then the app worker's RSS after 10,000 and 20,000 requests.

Settings: BENCH_SECONDS (per side and workload, default 12), BENCH_CONNECTIONS (default 32),
BENCH_SCALE (data set size factor, default 1), BENCH_REDIS_URL (the app's REDIS_URL, default none),
BENCH_ONLY (comma-separated parts of workload names: only those run, e.g. `typename,chat`; the RSS
figures then need the top-up).
Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.instrument import RSS_MARKS
from bench.seed import Seeded, bench_settings, inconsistent_counters, scale_from_env, seed
from bench.writes import FeedPage, PageVideo, Plan, RunReport, Target, Viewer, Writer
from core.clock import iso_from_ms
from resolvers.auth import issue_token
from settings import Settings
from storage.clips import make_test_video

ROOT = Path(__file__).resolve().parent.parent
LOAD_SCRIPT = Path(__file__).resolve().parent / "load.lua"
SECRET = "bench-secret-0123456789abcdef0123"
PUBLIC_BASE_URL = "http://bench.example:8080"
VIEWERS = 200
OLDER_PAGES = 20  # pages 2..21 of the feed
PAGE_SIZE = 30
CHAT_PAIRS = 100
RSS_TOP_UP_SECONDS = 90
WARM_UP_SECONDS = 4
WORKLOAD_WARM_UP_SECONDS = 2  # each workload on each side, before its measured rounds
STARTUP_SECONDS = 120  # a busy machine imports slowly
# Both servers on the event loop the product's workers run (SERVER_LOOP, settings.py): the same server
# stack on both sides, only the application differs.
SERVER_LOOP = os.environ.get("SERVER_LOOP") or str(Settings.model_fields["server_loop"].default)


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    app_mode: str  # load.lua mode against the app
    base_mode: str  # ... against the hand-written server
    app_route: str  # "METHOD path" the app's SQL statements are counted on
    base_route: str
    app_face: str  # how the writer's check reads are made (bench/writes.py Target.face)
    base_face: str
    goal: float
    writes: bool = True


WORKLOADS = (
    Workload("REST feed, signed in", "feed", "feed", "GET /douyin/feed/", "GET /douyin/feed/",
             "feed", "feed", 0.5),
    Workload("REST feed, anonymous", "feed_anon", "feed_anon", "GET /douyin/feed/", "GET /douyin/feed/",
             "feed_anon", "feed_anon", 0.8),
    Workload("GraphQL feed, same fields", "graphql_feed", "feed", "POST /graphql", "GET /douyin/feed/",
             "graphql_feed", "feed", 0.4),
    Workload("REST user info", "user", "user", "GET /douyin/user/", "GET /douyin/user/",
             "user", "user", 0.4),
    Workload("REST comment list", "comments", "comments", "GET /douyin/comment/list/",
             "GET /douyin/comment/list/", "comments", "comments", 0.4),
    Workload("REST chat poll, nothing new", "chat", "chat", "GET /douyin/message/chat/",
             "GET /douyin/message/chat/", "chat", "chat", 0.5),
    Workload("{ __typename } vs plain JSON", "typename", "plain", "POST /graphql", "POST /plain",
             "", "", 0.25, writes=False),
)  # fmt: skip


@dataclass(slots=True)
class Measured:
    """One side of one workload, over its rounds."""

    requests: int = 0
    seconds: float = 0.0
    p50s: list[tuple[int, float]] = field(default_factory=list)  # (requests, seconds)
    p99: float = 0.0
    errors: int = 0
    statements: int = 0
    counted: int = 0
    writes: RunReport = field(default_factory=RunReport)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        total = sum(n for n, _ in self.p50s)
        return sum(n * p for n, p in self.p50s) / total if total else 0.0

    @property
    def sql_per_request(self) -> float:
        return self.statements / self.counted if self.counted else 0.0

    def add_writes(self, report: RunReport) -> None:
        total = self.writes
        total.writes += report.writes
        total.write_errors += report.write_errors
        total.checks += report.checks
        total.stale += report.stale
        total.publishes += report.publishes
        total.examples += report.examples[: max(0, 5 - len(total.examples))]
        total.write_seconds += report.write_seconds


@dataclass(slots=True)
class Server:
    name: str
    base: str
    process: asyncio.subprocess.Process
    log: Path

    async def stats(self, client: httpx.AsyncClient, reset: bool = False) -> dict[str, Any]:
        if reset:
            response = await client.post(f"{self.base}/__bench/reset")
        else:
            response = await client.get(f"{self.base}/__bench/stats")
        stats: dict[str, Any] = orjson.loads(response.content)
        return stats


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("S3_", "DB_"))}
    for name in ("REDIS_URL", "DATABASE_URL", "PORT", "HOST", "WORKERS"):
        env.pop(name, None)
    env.update(
        ENV="production",
        JWT_SECRET=SECRET,
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        SEED_DEMO="false",
        # A few clients sending as fast as they can: exactly what the rate limits stop.
        RATE_LIMITS_ENABLED="false",
        LOG_LEVEL="warning",
        BENCH_COUNT_SQL="1",
        **extra,
    )
    if os.environ.get("BENCH_REDIS_URL"):
        env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    return env


@asynccontextmanager
async def _serve(name: str, factory: str, env: Mapping[str, str], workdir: Path) -> AsyncIterator[Server]:
    port = _free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log", "--loop", SERVER_LOOP,
            cwd=ROOT, env=dict(env), stdout=sink, stderr=sink,
        )  # fmt: skip
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    try:
        async with httpx.AsyncClient() as probe:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start:\n{log.read_text()[-2000:]}")
                try:
                    if (await probe.get(f"{server.base}/__bench/stats")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- the plan: who reads what ------------------------------------------------------------------------


async def _plan(database_url: str, seeded: Seeded, workdir: Path) -> Plan:
    settings = bench_settings(database_url, workdir, SECRET)
    n_users = seeded.scale.users
    count = min(VIEWERS, n_users)
    ids = [1 + i * (n_users // count) for i in range(count)]
    viewers = tuple(Viewer(uid, issue_token(settings, uid)) for uid in ids)
    by_id = {viewer.id: viewer for viewer in viewers}
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT id, author_id, created_at FROM videos ORDER BY created_at DESC, id DESC "
                        "LIMIT :n"
                    ),
                    {"n": PAGE_SIZE * (OLDER_PAGES + 1)},
                )
            ).all()
            conversations = (
                await connection.execute(
                    text(
                        "SELECT pair_low, pair_high, MAX(created_at) FROM messages "
                        "GROUP BY pair_low, pair_high"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    videos = [PageVideo(int(r[0]), int(r[1]), int(r[2])) for r in rows]
    pages = [
        FeedPage(
            None if k == 0 else videos[k * PAGE_SIZE - 1].created_at,
            tuple(videos[k * PAGE_SIZE :][:PAGE_SIZE]),
        )
        for k in range(len(videos) // PAGE_SIZE)
    ]
    head, rest = pages[0], pages[1:]
    # A scrolling viewer reaches page k+1 three times out of four from page k.
    older: list[FeedPage] = []
    for depth, page in enumerate(rest):
        older += [page] * max(1, round(25 * 0.75**depth))

    chats: list[str] = []
    talking: set[tuple[int, int]] = set()
    for low, high, latest in conversations:
        talking.add((int(low), int(high)))
        for me, peer in ((int(low), int(high)), (int(high), int(low))):
            if me in by_id:
                chats.append(f"{by_id[me].token} {peer} {int(latest)}")
    rng = random.Random(11)
    pairs: list[tuple[Viewer, Viewer]] = []
    while len(pairs) < min(CHAT_PAIRS, count * (count - 1) // 4):
        a, b = rng.sample(viewers, 2)
        if (min(a.id, b.id), max(a.id, b.id)) not in talking:
            talking.add((min(a.id, b.id), max(a.id, b.id)))
            pairs.append((a, b))

    def write(name: str, lines: list[str]) -> None:
        (workdir / name).write_text("\n".join(lines) + "\n")

    write("viewers.txt", [f"{v.id} {v.token}" for v in viewers])
    write("cursors.txt", [str(page.latest_time) for page in older])
    write("cursors_iso.txt", [iso_from_ms(page.latest_time or 0) for page in older])
    write("videos_head.txt", [str(v.id) for v in head.videos])
    write("videos_old.txt", [str(v.id) for page in older for v in page.videos])
    write("users_head.txt", [str(v.author_id) for v in head.videos])
    write("users_old.txt", [str(v.author_id) for page in older for v in page.videos])
    write("chats.txt", chats)
    clip = workdir / "clip.mp4"
    await asyncio.to_thread(make_test_video, clip, 1, "320x240")
    return Plan(viewers, head, tuple(older), tuple(pairs), clip)


async def _same_json(client: httpx.AsyncClient, app: Server, base: Server, plan: Plan, workdir: Path) -> str:
    """Compares the two servers on sample requests; returns a summary."""
    viewer = plan.viewers[0]
    page2 = plan.older[0]
    chat = (workdir / "chats.txt").read_text().split("\n")[0].split()
    samples = [
        f"/douyin/feed/?token={viewer.token}",
        "/douyin/feed/",
        f"/douyin/feed/?latest_time={page2.latest_time}&token={viewer.token}",
        f"/douyin/user/?user_id={plan.head.videos[0].author_id}&token={viewer.token}",
        f"/douyin/user/?token={viewer.token}",
        f"/douyin/comment/list/?video_id={plan.head.videos[0].id}&token={viewer.token}",
        f"/douyin/message/chat/?token={chat[0]}&to_user_id={chat[1]}",
        f"/douyin/message/chat/?token={chat[0]}&to_user_id={chat[1]}&pre_msg_time={chat[2]}",
    ]
    differ = []
    for path in samples:
        mine, theirs = await client.get(app.base + path), await client.get(base.base + path)
        if orjson.loads(mine.content) != orjson.loads(theirs.content):
            differ.append(path.split("?")[0])
    head = orjson.loads((await client.get(f"{app.base}/douyin/feed/?token={viewer.token}")).content)
    if head.get("next_time") != page2.latest_time:
        differ.append("feed next_time differs from the plan's page 2 cursor")
    if differ:
        return f"DIFFERENT on {len(differ)} of {len(samples)} sample requests: {', '.join(differ)}"
    return f"same JSON on all {len(samples)} sample requests"


# --- load ----------------------------------------------------------------------------------------------


async def _wrk(base: str, mode: str, seconds: float, workdir: Path, connections: int) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(LOAD_SCRIPT), base, "--", str(workdir), mode,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    for line in out.decode().splitlines():
        if line.startswith("BENCH "):
            result: dict[str, Any] = orjson.loads(line[6:])
            return result
    raise RuntimeError(f"wrk gave no result ({mode}):\n{out.decode()}\n{err.decode()}")


async def _measure(
    server: Server,
    mode: str,
    route: str,
    face: str,
    seconds: float,
    into: Measured,
    ctx: Context,
    label: str,
) -> None:
    await server.stats(ctx.client, reset=True)
    before = (await ctx.app.stats(ctx.client))["total"]
    stop = asyncio.Event()
    writing = None
    if face:
        target = Target(server.base, face, route)
        writing = asyncio.create_task(ctx.writer.run(target, stop))
    try:
        result = await _wrk(server.base, mode, seconds, ctx.workdir, ctx.connections)
    finally:
        stop.set()
        report = await writing if writing else None
    stats = await server.stats(ctx.client)
    after = (await ctx.app.stats(ctx.client))["total"]
    for mark in RSS_MARKS:  # when the measured app worker served its 10,000th and 20,000th request
        if before < mark <= after:
            side = "" if server is ctx.app else f", {server.name} side: the app served writes only"
            ctx.rss_phase[mark] = label + side
    into.requests += int(result["requests"])
    into.seconds += result["duration_us"] / 1e6
    into.p50s.append((int(result["requests"]), result["p50_us"] / 1e6))
    into.p99 = max(into.p99, result["p99_us"] / 1e6)
    into.errors += int(result["socket_errors"]) + int(result["non200"]) + int(result["bad"])
    counted, statements = stats["routes"].get(route, [0, 0])
    into.counted += counted
    into.statements += statements
    if report is not None:
        into.add_writes(report)


@dataclass(slots=True)
class Context:
    client: httpx.AsyncClient
    app: Server  # the app worker under test
    writer: Writer
    workdir: Path
    connections: int
    rss_phase: dict[int, str] = field(default_factory=dict)  # RSS mark -> the load it fell in


# --- the table ---------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def _row(label: str, side: str, m: Measured, ratio: str, goal: str) -> str:
    p99_p50 = m.p99 / m.p50 if m.p50 else 0.0
    writes = m.writes
    write_rate = f"{writes.writes / m.seconds:5.1f}" if m.seconds and writes.writes else "    -"
    return (
        f"{label:<30} {side:<12} {m.rate:8.0f} {_ms(m.p50)} {_ms(m.p99)} {p99_p50:6.1f}x "
        f"{m.sql_per_request:6.1f} {m.errors:6d} {write_rate} {writes.stale:5d} {ratio:>7} {goal:>6}"
    )


def _command() -> str:
    settings = " ".join(
        f"{name}={os.environ[name]}"
        for name in (
            "BENCH_DATABASE_URL",
            "BENCH_SECONDS",
            "BENCH_CONNECTIONS",
            "BENCH_SCALE",
            "BENCH_REDIS_URL",
            "BENCH_ONLY",
        )
        if os.environ.get(name)
    )
    invoked = (
        "make bench"
        if os.environ.get("MAKELEVEL")
        else "python -m " + ("bench" if sys.argv[0].endswith("__main__.py") else "bench.bench_realistic")
    )
    return f"{settings} {invoked}".strip()


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB" if kib else "n/a"


async def _run() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench_realistic needs wrk, a C load generator (apt-get install wrk): without it one worker "
            "cannot be saturated from this machine, so no figures are given"
        )
    database_url_setting = os.environ.get("BENCH_DATABASE_URL", "")
    seconds = float(os.environ.get("BENCH_SECONDS", "12"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    rounds = 2 if seconds >= 4 else 1
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-realistic-") as tmp:
        workdir = Path(tmp)
        settings = bench_settings(database_url_setting, workdir, SECRET)
        database_url = settings.effective_database_url
        backend = "MariaDB/MySQL" if database_url.startswith("mysql") else "SQLite"
        print(f"realistic load, {backend}: seeding", flush=True)
        seeded = await seed(settings, scale_from_env(), log=lambda line: print("  " + line, flush=True))
        bad = await inconsistent_counters(database_url)
        plan = await _plan(database_url, seeded, workdir)
        app_env = _server_env(database_url, workdir)
        async with (
            httpx.AsyncClient(timeout=60) as client,
            _serve("app", "bench.instrument:project_app", app_env, workdir) as app,
            _serve("app2", "bench.instrument:project_app", app_env, workdir) as app2,
        ):
            ceiling = workdir / "ceiling.json"
            ceiling.write_bytes(
                (await client.get(f"{app.base}/douyin/feed/?token={plan.viewers[0].token}")).content
            )
            base_env = _server_env(database_url, workdir, BENCH_BYTES_FILE=str(ceiling))
            async with _serve("handwritten", "bench.instrument:handwritten_app", base_env, workdir) as base:
                same = await _same_json(client, app, base, plan, workdir)
                writer = Writer(plan, database_url, [app.base, app2.base])
                ctx = Context(client, app, writer, workdir, connections)
                try:
                    results = await _workloads(ctx, app, base, seconds, rounds)
                    rss = await _rss(ctx, app, base, seconds)
                finally:
                    await writer.close()
        bad_after = await inconsistent_counters(database_url)
    _print(seeded, backend, same, bad, bad_after, results, rss, seconds, rounds, connections, began)


async def _workloads(
    ctx: Context, app: Server, base: Server, seconds: float, rounds: int
) -> list[tuple[Workload, Measured, Measured]]:
    warm = Measured()
    for server in (app, base):  # first touches of the database and code paths, not measured
        await _measure(server, "feed", "GET /douyin/feed/", "", WARM_UP_SECONDS, warm, ctx, "warm-up")
    results = []
    only = [part.strip().lower() for part in os.environ.get("BENCH_ONLY", "").split(",") if part.strip()]
    for workload in WORKLOADS:
        if only and not any(part in workload.name.lower() for part in only):
            continue
        mine, theirs = Measured(), Measured()
        app_side = (app, workload.app_mode, workload.app_route, workload.app_face, mine)
        base_side = (base, workload.base_mode, workload.base_route, workload.base_face, theirs)
        order = [app_side, base_side, base_side, app_side][: 2 * rounds]
        print(f"  {workload.name}: " + ", ".join(side[0].name for side in order), flush=True)
        for server, mode, route, _face, _into in (app_side, base_side):
            # The workload's own first touches (its pages' unchanging parts kept), not measured: the
            # tail latency asked for is a running server's, not one that was just started.
            await _measure(server, mode, route, "", WORKLOAD_WARM_UP_SECONDS, warm, ctx, "warm-up")
        for server, mode, route, face, into in order:
            face = face if workload.writes else ""
            await _measure(server, mode, route, face, seconds / rounds, into, ctx, workload.name)
        results.append((workload, mine, theirs))
    ceiling = Measured()
    print("  ceiling: pre-serialised bytes ...", flush=True)
    await _measure(base, "bytes", "GET /bytes", "", seconds / 2, ceiling, ctx, "ceiling")
    results.append(
        (Workload("pre-serialised feed bytes", "", "bytes", "", "GET /bytes", "", "", 0), Measured(), ceiling)
    )
    return results


@dataclass(frozen=True, slots=True)
class Rss:
    app_marks: dict[str, int]
    phases: dict[int, str]
    app_end: int
    app_total: int
    base_end: int
    base_total: int


async def _rss(ctx: Context, app: Server, base: Server, seconds: float) -> Rss:
    """The app worker's RSS after 10,000 and 20,000 requests (more user-info load, with its writes,
    when the workloads served fewer; for at most RSS_TOP_UP_SECONDS)."""
    stats = await app.stats(ctx.client)
    topped = Measured()
    deadline = time.monotonic() + RSS_TOP_UP_SECONDS
    while stats["total"] < max(RSS_MARKS) and time.monotonic() < deadline:
        print(f"  RSS: {stats['total']} requests so far, more user-info load ...", flush=True)
        await _measure(app, "user", "GET /douyin/user/", "user", 5, topped, ctx, "top-up user info")
        stats = await app.stats(ctx.client)
    base_stats = await base.stats(ctx.client)
    return Rss(
        stats["rss_at"],
        dict(ctx.rss_phase),
        stats["rss_kib"],
        stats["total"],
        base_stats["rss_kib"],
        base_stats["total"],
    )


def _print(
    seeded: Seeded,
    backend: str,
    same: str,
    bad: int,
    bad_after: int,
    results: list[tuple[Workload, Measured, Measured]],
    rss: Rss,
    seconds: float,
    rounds: int,
    connections: int,
    began: float,
) -> None:
    s = seeded.scale
    print()
    print(f"$ {_command()}")
    print(
        f"Realistic load on {backend}, one uvicorn worker per server ({SERVER_LOOP} loop), "
        f"wrk {connections} connections, "
        f"{seconds:.0f} s per side in {rounds} alternated rounds, each workload after "
        f"{WORKLOAD_WARM_UP_SECONDS} s of it unmeasured on each side"
    )
    print(
        f"  data: {s.users:,} users, {s.videos:,} videos, {s.likes:,} likes, {s.follows:,} follows, "
        f"{s.comments:,} comments, {s.messages:,} messages; seeded in {seeded.seconds:.1f} s; counters "
        + ("consistent" if bad == 0 else f"INCONSISTENT on {bad} rows")
    )
    print(f"  hand-written routes vs REST routes: {same}")
    print()
    header = (
        f"{'workload':<30} {'server':<12} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'p99/50':>7} "
        f"{'SQL/req':>6} {'errors':>6} {'wr/s':>5} {'stale':>5} {'ratio':>7} {'goal':>6}"
    )
    print(header)
    print("-" * len(header))
    for workload, mine, theirs in results:
        if not workload.app_mode:
            print(_row(workload.name, "ceiling", theirs, "", ""))
            continue
        ratio = mine.rate / theirs.rate if theirs.rate else 0.0
        mark = "" if ratio >= workload.goal else " NO"
        print(_row(workload.name, "project", mine, f"{ratio:.2f}x", f"{workload.goal:g}x{mark}"))
        print(_row("", "hand-written" if workload.base_mode != "plain" else "plain JSON", theirs, "", ""))
    print()
    low, high = RSS_MARKS
    first, second = rss.app_marks.get(str(low), 0), rss.app_marks.get(str(high), 0)
    growth = (second - first) / first * 100 if first and second else None
    print(
        f"app worker RSS: {_mib(first)} after {low:,} requests ({rss.phases.get(low, '-')}), "
        f"{_mib(second)} after {high:,} ({rss.phases.get(high, '-')})"
        + (f", {growth:+.1f}%" if growth is not None else "")
        + f"; {_mib(rss.app_end)} at the end ({rss.app_total:,} requests). "
        f"Hand-written: {_mib(rss.base_end)} after {rss.base_total:,} requests"
    )
    writes = [m.writes for _, mine, theirs in results for m in (mine, theirs)]
    stale = sum(w.stale for w in writes)
    print(
        f"writes: {sum(w.writes for w in writes):,} answered "
        f"({sum(w.publishes for w in writes)} new videos), "
        f"{sum(w.write_errors for w in writes)} failed; {sum(w.checks for w in writes):,} check reads, "
        f"{stale} stale; counters after the run "
        + ("consistent with rows" if bad_after == 0 else f"INCONSISTENT on {bad_after} rows")
    )
    for example in [e for w in writes for e in w.examples][:5]:
        print(f"  stale: {example}")
    missed = []
    for workload, mine, theirs in results:
        if not workload.app_mode:
            continue
        if theirs.rate and mine.rate / theirs.rate < workload.goal:
            missed.append(f"{workload.name} {mine.rate / theirs.rate:.2f}x < {workload.goal:g}x")
        if mine.p50 and mine.p99 > 5 * mine.p50:
            missed.append(f"{workload.name} p99 {mine.p99 / mine.p50:.1f}x p50")
    errors = sum(mine.errors for _, mine, _ in results) + sum(w.write_errors for w in writes)
    if errors:
        missed.append(f"{errors} errors")
    if stale:
        missed.append(f"{stale} stale reads")
    if growth is None or growth > 10:
        missed.append(
            "RSS growth from 10,000 to 20,000 requests "
            + ("unknown" if growth is None else f"{growth:+.1f}%")
        )
    print("goals: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    print(
        "req/s: requests / seconds over the rounds; p50: their request-weighted mean; p99: the worst round; "
        "SQL/req: statements the server ran per request on the workload's route; wr/s: writes per second "
        "during the side's runs (half through the measured app worker, half through a second one); "
        "stale: reads right after a write that did not show it; ratio: project req/s / hand-written req/s."
    )
    print(f"({time.perf_counter() - began:.0f} s in all)")


def main() -> None:
    asyncio.run(_run())


if __name__ == "__main__":
    main()
