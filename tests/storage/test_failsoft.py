"""The Redis cache fails soft: an outage degrades it to in-process, logged once, and it comes back cleanly.

Runs against a redis-server of the test's own (stopped and started again on the same port), never the
shared one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio

from storage.failsoft import FailSoftCache
from storage.services import open_cache
from tests.conftest import make_settings
from tests.support.realtime import ThrowawayRedis, throwaway_redis

pytestmark = pytest.mark.services


@pytest.fixture
def server() -> Iterator[ThrowawayRedis]:
    with throwaway_redis() as started:
        yield started


@pytest.fixture
async def cache(server: ThrowawayRedis, tmp_path: Path) -> AsyncIterator[FailSoftCache]:
    settings = make_settings(
        tmp_path, redis_url=server.url, cache_prefix=f"t:{uuid.uuid4().hex}:", cache_retry_seconds=0.2
    )
    opened = open_cache(settings)
    assert isinstance(opened, FailSoftCache)
    try:
        yield opened
    finally:
        await opened.close()


async def _in_redis(server: ThrowawayRedis, cache: FailSoftCache, key: str) -> bytes | None:
    """What Redis itself holds for `key` (proof a call reached it, not the in-process fallback)."""
    client = redis_asyncio.Redis.from_url(server.url)
    try:
        prefix = getattr(cache.primary, "_prefix", "")
        value: bytes | str | None = await client.get(prefix + key)
        return value.encode() if isinstance(value, str) else value
    finally:
        await client.aclose()


async def test_calls_keep_answering_while_redis_is_down_and_the_outage_is_logged_once(
    server: ThrowawayRedis, cache: FailSoftCache, caplog: pytest.LogCaptureFixture
) -> None:
    await cache.set("k", b"before", 60)
    assert await _in_redis(server, cache, "k") == b"before"
    caplog.set_level(logging.WARNING, logger="douyin")
    server.stop()
    for attempt in range(20):
        await cache.set(f"during-{attempt}", b"v", 60)
        assert await cache.get(f"during-{attempt}") == b"v"
    # Throttle counters still count, atomically, in-process.
    counts = await asyncio.gather(*(cache.incr("failures", 60) for _ in range(10)))
    assert sorted(counts) == list(range(1, 11))
    assert cache.degraded
    outage_lines = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_lines) == 1


async def test_after_redis_returns_the_next_calls_reach_it_without_a_failure(
    server: ThrowawayRedis, cache: FailSoftCache
) -> None:
    # Open pooled connections first: after the restart each of them is stale.
    await asyncio.gather(*(cache.set(f"warm-{n}", b"v", 60) for n in range(5)))
    server.stop()
    await cache.get("x")
    assert cache.degraded
    server.start()
    await asyncio.sleep(0.3)  # past the retry interval
    for n in range(5):
        await cache.set(f"after-{n}", b"v", 60)
        assert not cache.degraded, f"call {n} after the restart failed over"
        assert await _in_redis(server, cache, f"after-{n}") == b"v"


async def test_a_frozen_redis_does_not_hold_every_call(server: ThrowawayRedis, cache: FailSoftCache) -> None:
    await cache.set("k", b"v", 60)
    assert server.process is not None
    server.process.send_signal(19)  # SIGSTOP: connections open, nothing answers
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await cache.get("k")  # the call that finds out: bounded by the socket timeout and its retries
        first = loop.time() - started
        started = loop.time()
        for _ in range(20):
            await cache.get("k")
        rest = loop.time() - started
    finally:
        server.process.send_signal(18)  # SIGCONT
    assert first < 5
    assert rest < 0.5


async def test_writes_made_during_the_outage_are_not_served_stale_from_redis_afterwards(
    server: ThrowawayRedis, cache: FailSoftCache
) -> None:
    """Redis that comes back with its data (a network cut, not a restart) must not serve an entry this
    worker replaced or deleted while it could not reach Redis."""
    await cache.set("replaced", b"old", 60)
    await cache.set("deleted", b"old", 60)
    assert server.process is not None
    server.process.send_signal(19)
    try:
        await cache.set("replaced", b"new", 60)
        await cache.delete("deleted")
        assert cache.degraded
    finally:
        server.process.send_signal(18)
    await asyncio.sleep(0.3)
    assert await cache.get("deleted") is None
    assert not cache.degraded
    assert await cache.get("replaced") is None  # the new value was this worker's only; Redis forgot the old
    assert await _in_redis(server, cache, "replaced") is None
