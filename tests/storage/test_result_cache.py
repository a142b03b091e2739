"""Kept results: in this process, shared through Redis, and a cache that fails is only a miss."""

from __future__ import annotations

import uuid

import pytest

from storage.cache import RedisCache
from storage.result_cache import ResultCache
from tests.conftest import REDIS_URL, require_service
from tests.support.realtime import throwaway_redis


async def test_a_kept_result_is_answered_in_process() -> None:
    results = ResultCache(None, local_entries=2, ttl_seconds=60)
    assert await results.get("a") is None
    await results.put("a", {"videos": [1, 2]})
    assert await results.get("a") == {"videos": [1, 2]}
    await results.put("b", [2])
    await results.put("c", [3])  # the least recently used goes
    assert await results.get("a") is None
    assert await results.get("c") == [3]


async def test_another_process_finds_what_one_kept_through_the_shared_cache() -> None:
    require_service("Redis (TEST_REDIS_URL)", bool(REDIS_URL))
    prefix = f"test:{uuid.uuid4().hex}:"
    one, other = RedisCache(REDIS_URL, prefix), RedisCache(REDIS_URL, prefix)
    try:
        await ResultCache(one, 10, 60).put("page", {"ids": ["1"]})
        assert await ResultCache(other, 10, 60).get("page") == {"ids": ["1"]}
    finally:
        await one.close()
        await other.close()


@pytest.mark.services
async def test_an_unreachable_shared_cache_is_a_miss_and_a_skipped_store() -> None:
    with throwaway_redis() as server:
        shared = RedisCache(server.url)
        try:
            results = ResultCache(shared, 10, 60)
            await results.put("kept", [1])
            server.stop()
            await results.put("while down", [2])  # kept in process only, no error
            assert await results.get("while down") == [2]
            assert await ResultCache(shared, 10, 60).get("kept") is None
            server.start()
            assert await ResultCache(shared, 10, 60).get("while down") is None
        finally:
            await shared.close()
