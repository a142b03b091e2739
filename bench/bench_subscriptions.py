"""`messageReceived` at scale: N subscribers on one uvicorn worker, messages sent through REST at a set rate.

The server runs as in production (`manage.py serve`: uvicorn, one worker) on a free loopback port, on
SQLite (or the database BENCH_DATABASE_URL names; its tables are emptied) with the in-process fan-out (or
Redis pub/sub with BENCH_REDIS_URL). This process holds every WebSocket (graphql-transport-ws, one user
each); a child process sends `message/action` requests at a fixed rate, each to another subscriber, so
the load generator does not delay the receiving. For each step (1,000 subscribers, then 5,000 and 10,000
while memory allows) it prints:

- delivery latency from commit to receipt: the receipt time minus the message's `createdAt`, which the
  server takes inside the transaction just before the commit, on this machine's clock (so the figures
  are upper bounds), p50 / p99 / max;
- messages lost (sent, never received) and delivered twice: both must be 0;
- the worker's resident memory per open subscription (VmRSS growth over the idle server, divided by N).

A subscription starts a moment after `subscribe` (when the server has registered it); a message sent
before that is history to it. So each subscriber that will be sent measured messages is first probed
with messages until one arrives.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from manage import migrate
from resolvers.auth import issue_token
from settings import Settings
from storage.models import User, metadata
from storage.services import Services

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef0123"
STEPS = (1_000, 5_000, 10_000)
SENDERS = 20
RATE_PER_SECOND = 100
SEND_SECONDS = 10.0
DRAIN_SECONDS = 5.0
CONNECT_BATCH = 250
HTTP_CONNECTIONS = 16
# Keep this much memory free on the machine; a step that would need more is skipped.
SPARE_MEMORY_MIB = 2048
SUBSCRIPTION = "subscription { messageReceived { id content createdAt sender { id } recipient { id } } }"
SENDER_FLAG = "--send"


@dataclass
class Subscriber:
    user_id: int
    token: str
    connection: ClientConnection | None = None
    live: asyncio.Event = field(default_factory=asyncio.Event)
    received: Counter[str] = field(default_factory=Counter)
    reader: asyncio.Task[None] | None = None


@dataclass
class Latencies:
    milliseconds: list[float] = field(default_factory=list)

    def record(self, created_at: str) -> None:
        self.milliseconds.append(time.time() * 1000 - datetime.fromisoformat(created_at).timestamp() * 1000)

    def summary(self) -> tuple[float, float, float]:
        if len(self.milliseconds) < 2:
            return 0.0, 0.0, max(self.milliseconds, default=0.0)
        quantiles = statistics.quantiles(self.milliseconds, n=100)
        return quantiles[49], quantiles[98], max(self.milliseconds)


def _memory_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc status")


def _available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _raise_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def _make_users(services: Services, count: int) -> list[tuple[int, str]]:
    async with services.db.write() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())
        users = [User(name=f"b{index}", password_hash="-") for index in range(count)]
        session.add_all(users)
        await session.flush()
        ids = [user.id for user in users if user.id is not None]
    return [(user_id, issue_token(services.settings, user_id)) for user_id in ids]


# Sending: a child process, so that its work never delays the receiving in this one.


async def _post(http: httpx.AsyncClient, token: str, to_user_id: int, content: str) -> bool:
    params: dict[str, str | int] = {
        "token": token,
        "to_user_id": to_user_id,
        "action_type": 1,
        "content": content,
    }
    try:
        response = await http.post("/douyin/message/action/", params=params)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json().get("status_code") == 0


async def _sender(plan: dict[str, Any]) -> dict[str, Any]:
    """Sends `plan["sends"]` ([token, to_user_id, content]) at `plan["rate"]` a second, open loop (each
    at its time, whether or not the earlier ones were answered); which succeeded, and REST latencies."""
    sends, rate = plan["sends"], float(plan["rate"])
    succeeded: list[int] = []
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=HTTP_CONNECTIONS, max_keepalive_connections=HTTP_CONNECTIONS)
    async with httpx.AsyncClient(base_url=plan["base"], limits=limits, timeout=120) as http:

        async def one(index: int, token: str, to_user_id: int, content: str) -> None:
            began = time.perf_counter()
            if await _post(http, token, to_user_id, content):
                succeeded.append(index)
            latencies.append((time.perf_counter() - began) * 1000)

        started = time.perf_counter()
        tasks = []
        for index, (token, to_user_id, content) in enumerate(sends):
            delay = started + index / rate - time.perf_counter() if rate else 0
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, token, to_user_id, content)))
        await asyncio.gather(*tasks)
    latencies.sort()
    return {
        "succeeded": succeeded,
        "rest_p50": latencies[len(latencies) // 2] if latencies else 0,
        "rest_p99": latencies[int(len(latencies) * 0.99)] if latencies else 0,
    }


async def _send_from_child(base: str, sends: list[tuple[str, int, str]], rate: float) -> dict[str, Any]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_subscriptions", SENDER_FLAG, cwd=ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    plan = {"base": base, "rate": rate, "sends": sends}
    output, _ = await child.communicate(orjson.dumps(plan))
    if child.returncode != 0:
        raise RuntimeError("the sender failed")
    result: dict[str, Any] = orjson.loads(output)
    return result


# Receiving.


async def _read(subscriber: Subscriber, latencies: Latencies) -> None:
    assert subscriber.connection is not None
    async for raw in subscriber.connection:
        message = orjson.loads(raw)
        if message.get("type") != "next":
            continue
        data = message["payload"]["data"]["messageReceived"]
        content: str = data["content"]
        if content.startswith("probe"):
            subscriber.live.set()
            continue
        subscriber.received[content] += 1
        latencies.record(data["createdAt"])


async def _connect(url: str, subscriber: Subscriber, latencies: Latencies) -> None:
    connection = await connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        open_timeout=120,
        ping_interval=None,
        max_queue=None,  # it offers permessage-deflate, as browsers do
    )
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {subscriber.token}"}}
    await connection.send(orjson.dumps(init).decode())
    ack = orjson.loads(await connection.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"not acknowledged: {ack}")
    subscribe = {"type": "subscribe", "id": "1", "payload": {"query": SUBSCRIPTION}}
    await connection.send(orjson.dumps(subscribe).decode())
    subscriber.connection = connection
    subscriber.reader = asyncio.create_task(_read(subscriber, latencies))


async def _until_live(base: str, prober: str, subscribers: list[Subscriber]) -> None:
    waiting = [subscriber for subscriber in subscribers if not subscriber.live.is_set()]
    for attempt in range(40):
        if not waiting:
            return
        await _send_from_child(base, [(prober, s.user_id, f"probe {attempt}") for s in waiting], 0)
        await _at_most(2.0, partial(_all_live, waiting))
        waiting = [subscriber for subscriber in waiting if not subscriber.live.is_set()]
    raise RuntimeError(f"{len(waiting)} subscriptions never started")


async def _at_most(seconds: float, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.05)


def _all_live(subscribers: list[Subscriber]) -> bool:
    return all(subscriber.live.is_set() for subscriber in subscribers)


def _all_received(by_user: dict[int, Subscriber], expected: list[tuple[int, str]]) -> bool:
    return _outcome(by_user, expected)[0] == 0


def _outcome(by_user: dict[int, Subscriber], expected: list[tuple[int, str]]) -> tuple[int, int]:
    """(lost, delivered more than once) of the expected (user, content) messages."""
    lost = duplicated = 0
    for user_id, content in expected:
        count = by_user[user_id].received.get(content, 0)
        lost += count == 0
        duplicated += max(0, count - 1)
    return lost, duplicated


async def _steps(base: str, pid: int, users: list[tuple[int, str]]) -> None:
    senders = users[:SENDERS]
    pool = [Subscriber(user_id, token) for user_id, token in users[SENDERS:]]
    by_user = {subscriber.user_id: subscriber for subscriber in pool}
    url = base.replace("http://", "ws://") + "/graphql"
    latencies = Latencies()
    messages = int(RATE_PER_SECOND * SEND_SECONDS)
    await _send_from_child(base, [(senders[0][1], senders[1][0], "warm-up")], 0)
    await asyncio.sleep(1.0)
    idle_mib = _memory_mib(pid)
    print(
        f"  {messages} messages per step at {RATE_PER_SECOND}/s through REST message/action,"
        " each to one of the subscribers"
    )
    print(f"  server at rest: {idle_mib:.0f} MiB resident")
    print(
        "  subscribers  connect   RSS/sub  messages  lost  twice"
        "  latency p50    p99      max    REST p50   REST p99"
    )
    connected = 0
    for step in STEPS:
        if step > len(pool):
            print(f"  {step:>11,}  skipped: not enough open files")
            break
        per_subscriber_mib = (_memory_mib(pid) - idle_mib) / connected if connected else 0.2
        # This process holds as much per connection as the server, or so.
        if _available_mib() - (step - connected) * per_subscriber_mib * 2 < SPARE_MEMORY_MIB:
            print(f"  {step:>11,}  skipped: not enough free memory")
            break
        began = time.perf_counter()
        fresh = pool[connected:step]
        for start in range(0, len(fresh), CONNECT_BATCH):
            await asyncio.gather(*(_connect(url, s, latencies) for s in fresh[start : start + CONNECT_BATCH]))
        connect_seconds = time.perf_counter() - began
        connected = step
        subscribers = pool[:connected]
        recipients = random.sample(subscribers, min(messages, connected))
        await _until_live(base, senders[0][1], recipients)
        await asyncio.sleep(1.0)
        rss_per_subscriber_kib = (_memory_mib(pid) - idle_mib) * 1024 / connected

        plan = [
            (senders[index % SENDERS][1], recipients[index % len(recipients)].user_id, f"m{step}-{index}")
            for index in range(messages)
        ]
        latencies.milliseconds.clear()
        result = await _send_from_child(base, plan, RATE_PER_SECOND)
        expected = [(plan[index][1], plan[index][2]) for index in result["succeeded"]]
        await _at_most(DRAIN_SECONDS, partial(_all_received, by_user, expected))
        lost, duplicated = _outcome(by_user, expected)
        p50, p99, worst = latencies.summary()
        failed = messages - len(expected)
        print(
            f"  {connected:>11,}  {connect_seconds:>5.1f} s  {rss_per_subscriber_kib:>4.0f} KiB"
            f"  {len(expected):>8}  {lost:>4}  {duplicated:>5}"
            f"  {p50:>8.1f} ms {p99:>6.1f} ms {worst:>6.1f} ms"
            f"  {result['rest_p50']:>6.1f} ms  {result['rest_p99']:>6.1f} ms"
            + (f"   ({failed} sends failed)" if failed else "")
        )
    opened = [subscriber for subscriber in pool if subscriber.connection is not None]
    for start in range(0, len(opened), CONNECT_BATCH):
        await asyncio.gather(
            *(s.connection.close() for s in opened[start : start + CONNECT_BATCH] if s.connection)
        )
    for subscriber in opened:
        if subscriber.reader is not None:
            subscriber.reader.cancel()


async def _run() -> None:
    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    redis_url = os.environ.get("BENCH_REDIS_URL", "")
    files = _raise_file_limit()
    with tempfile.TemporaryDirectory(prefix="bench-subscriptions-") as workdir:
        data_dir = Path(workdir)
        settings = Settings(
            env="test", jwt_secret=SECRET, data_dir=data_dir, database_url=database_url, seed_demo=False
        )
        await asyncio.to_thread(migrate, settings)
        services = Services.open(settings)
        try:
            users = await _make_users(services, SENDERS + min(STEPS[-1], files - 500))
            backend = "MariaDB/MySQL" if services.db.dialect == "mysql" else "SQLite"
        finally:
            await services.close()
        fanout = "Redis pub/sub" if redis_url else "in-process fan-out"
        print(
            f"messageReceived subscriptions (graphql-transport-ws; one uvicorn worker, {backend}, {fanout})"
        )
        port = _free_port()
        env = {
            **os.environ,
            "ENV": "test",
            "RATE_LIMITS_ENABLED": "false",
            "JWT_SECRET": SECRET,
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": settings.effective_database_url,
            "REDIS_URL": redis_url,
            "CACHE_PREFIX": f"bench:{secrets.token_hex(4)}:",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "warning",
            "SEED_DEMO": "false",
            "S3_ENDPOINT": "",
        }
        server = await asyncio.create_subprocess_exec(sys.executable, "manage.py", "serve", cwd=ROOT, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as probe:
                for _ in range(400):
                    try:
                        if (await probe.get(f"{base}/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            await _steps(base, server.pid, users)
        finally:
            server.terminate()
            await asyncio.wait_for(server.wait(), 60)


def main() -> None:
    if sys.argv[1:] == [SENDER_FLAG]:
        result = asyncio.run(_sender(orjson.loads(sys.stdin.buffer.read())))
        sys.stdout.buffer.write(orjson.dumps(result))
        return
    asyncio.run(_run())


if __name__ == "__main__":
    main()
