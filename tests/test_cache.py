"""The cache behaves the same in-process and on Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from storage.cache import Cache, MemoryCache, RedisCache
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


async def test_entries_expire(cache: Cache) -> None:
    await cache.set("short", b"1", ttl_seconds=1)
    await asyncio.sleep(1.2)
    assert await cache.get("short") is None


async def test_concurrent_increments_are_exact(cache: Cache) -> None:
    results = await asyncio.gather(*(cache.incr("counter", ttl_seconds=30) for _ in range(50)))
    assert sorted(results) == list(range(1, 51))
