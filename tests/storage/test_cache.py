"""The cache behaves the same in-process and on Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from storage.cache import Cache, MemoryCache, RedisCache, _Counters
from tests.conftest import REDIS_URL, require_service


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "redis":
        require_service("Redis (TEST_REDIS_URL)", bool(REDIS_URL))
        opened: Cache = RedisCache(REDIS_URL, prefix=f"test:{uuid.uuid4().hex}:")
    else:
        opened = MemoryCache(max_entries=100)
    await opened.ping()
    try:
        yield opened
    finally:
        await opened.close()


async def test_set_get_delete(cache: Cache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", "抖音 🐻".encode(), ttl_seconds=30)
    assert (await cache.get("k") or b"").decode() == "抖音 🐻"
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_add_stores_only_where_nothing_is(cache: Cache) -> None:
    assert await cache.add("k", b"first", ttl_seconds=30)
    assert not await cache.add("k", b"second", ttl_seconds=30)
    assert await cache.get("k") == b"first"
    await cache.incr("counter", ttl_seconds=30)
    assert not await cache.add("counter", b"x", ttl_seconds=30)
    await cache.delete("k")
    assert await cache.add("k", b"third", ttl_seconds=30)
    assert await cache.get("k") == b"third"


async def test_entries_expire(cache: Cache) -> None:
    await cache.set("short", b"1", ttl_seconds=1)
    await asyncio.sleep(1.2)
    assert await cache.get("short") is None


async def test_concurrent_increments_are_exact(cache: Cache) -> None:
    results = await asyncio.gather(*(cache.incr("counter", ttl_seconds=30) for _ in range(50)))
    assert sorted(results) == list(range(1, 51))


async def test_decrement_takes_back_from_a_live_counter_only(cache: Cache) -> None:
    assert await cache.incr("counter", ttl_seconds=1) == 1
    assert await cache.incr("counter", ttl_seconds=1) == 2
    assert await cache.decr("counter") == 1
    assert await cache.get("counter") == b"1"
    # The counter keeps its first expiry, and a late decrement does not bring it back.
    await asyncio.sleep(1.2)
    assert await cache.get("counter") is None
    assert await cache.decr("counter") == 0
    assert await cache.get("counter") is None
    assert await cache.incr("counter", ttl_seconds=30) == 1


async def test_counting_goes_on_from_a_number_that_was_set(cache: Cache) -> None:
    await cache.set("counter", b"5", ttl_seconds=30)
    assert await cache.incr("counter", ttl_seconds=30) == 6
    assert await cache.get("counter") == b"6"
    await cache.set("counter", b"1", ttl_seconds=30)
    assert await cache.get("counter") == b"1"
    await cache.delete("counter")
    assert await cache.get("counter") is None


async def test_live_counters_are_never_evicted_to_make_room() -> None:
    cache = MemoryCache(max_entries=10_000)
    for _ in range(3):
        await cache.incr("login-failures:victim", ttl_seconds=300)
    for n in range(10_001):
        await cache.incr(f"login-failures:other-{n}", ttl_seconds=300)
        await cache.set(f"entry-{n}", b"x", ttl_seconds=300)
    assert await cache.get("login-failures:victim") == b"3"
    assert await cache.incr("login-failures:victim", ttl_seconds=300) == 4
    # Plain entries are still bounded.
    assert await cache.get("entry-0") is None
    assert await cache.get("entry-10000") == b"x"


def test_expired_counters_are_purged_as_new_ones_arrive() -> None:
    # What bounds the counters is time: they leave when their window ends, not to make room.
    counters = _Counters()
    for n in range(1_000):
        counters.put(f"k{n}", deadline=10.0, value=1, now=float(n) / 1_000)
    counters.put("k0", deadline=10.0, value=2, now=5.0)
    assert len(counters) == 1_000
    counters.put("late", deadline=400.0, value=1, now=10.0)
    assert len(counters) == 1
    assert counters.get("late", now=10.0) == (400.0, 1)
    assert counters.get("k0", now=10.0) is None
