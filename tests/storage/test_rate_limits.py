"""The limit store: sliding-window counters and attempt backoff, in-process and in Redis (shared by every
process using it), failing soft to in-process counting while Redis does not answer."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from limits import parse

from storage.rate_limits import Backoff, LimitStore
from tests.conftest import REDIS_URL, free_port, require_service
from tests.support.realtime import ThrowawayRedis, throwaway_redis

FIVE_A_MINUTE = parse("5/minute")
BACKOFF = Backoff(free=2, base_seconds=0.3, max_seconds=0.6, window_seconds=30)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[LimitStore]:
    if request.param == "redis":
        require_service("Redis (TEST_REDIS_URL)", bool(REDIS_URL))
        opened = LimitStore(REDIS_URL, f"test:{uuid.uuid4().hex}:")
    else:
        opened = LimitStore()
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_window_admits_its_amount_then_says_how_long_to_wait(store: LimitStore) -> None:
    waits = [await store.hit(FIVE_A_MINUTE, "comment", "user", "7") for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert all(0 < wait <= 60 for wait in waits[5:])
    # Another client's count is its own.
    assert await store.hit(FIVE_A_MINUTE, "comment", "user", "8") == 0.0


async def test_attempts_wait_twice_as_long_each_time_up_to_the_maximum(store: LimitStore) -> None:
    assert [await store.attempt("k", BACKOFF) for _ in range(2)] == [0.0, 0.0]
    for expected in (0.3, 0.6, 0.6):
        wait = await store.attempt("k", BACKOFF)
        assert expected - 0.1 < wait <= expected
        await asyncio.sleep(wait + 0.05)
        assert await store.attempt("k", BACKOFF) == 0.0


async def test_concurrent_attempts_never_pass_more_than_the_free_ones(store: LimitStore) -> None:
    waits = await asyncio.gather(*(store.attempt("guessed", BACKOFF) for _ in range(64)))
    assert waits.count(0.0) == BACKOFF.free


async def test_reset_forgets_and_forgive_gives_one_attempt_back(store: LimitStore) -> None:
    for _ in range(2):
        await store.attempt("a", BACKOFF)
    await store.forgive("a", BACKOFF)
    assert await store.attempt("a", BACKOFF) == 0.0
    assert await store.attempt("a", BACKOFF) > 0
    await store.reset("a")
    assert await store.attempt("a", BACKOFF) == 0.0


@pytest.mark.services
async def test_two_processes_on_one_redis_share_every_count() -> None:
    require_service("Redis (TEST_REDIS_URL)", bool(REDIS_URL))
    prefix = f"test:{uuid.uuid4().hex}:"
    first, second = LimitStore(REDIS_URL, prefix), LimitStore(REDIS_URL, prefix)
    try:
        waits = [await (first if n % 2 else second).hit(FIVE_A_MINUTE, "x", "address", "a") for n in range(6)]
        assert waits[:5] == [0.0] * 5
        assert waits[5] > 0
        assert [await first.attempt("b", BACKOFF), await second.attempt("b", BACKOFF)] == [0.0, 0.0]
        assert await first.attempt("b", BACKOFF) > 0
    finally:
        await first.close()
        await second.close()


async def test_without_redis_limits_count_in_process_and_say_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = LimitStore(f"redis://127.0.0.1:{free_port()}/0", "test:")
    try:
        with caplog.at_level(logging.WARNING, logger="storage.rate_limits"):
            waits = [await store.hit(FIVE_A_MINUTE, "x", "user", "1") for _ in range(6)]
            assert await store.attempt("c", BACKOFF) == 0.0
        assert waits[:5] == [0.0] * 5
        assert waits[5] > 0
        assert store.degraded
        assert [record.getMessage() for record in caplog.records] == [
            "rate limits: Redis did not answer (ConnectionError); counting in this process until it does"
        ]
    finally:
        await store.close()


@pytest.fixture
def redis_server() -> Iterator[ThrowawayRedis]:
    with throwaway_redis() as server:
        yield server


async def test_after_redis_returns_counting_goes_back_to_it(
    redis_server: ThrowawayRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.rate_limits.REDIS_RETRY_SECONDS", 0.2)
    store = LimitStore(redis_server.url, "test:")
    try:
        assert await store.hit(FIVE_A_MINUTE, "x", "user", "1") == 0.0
        redis_server.stop()
        assert await store.hit(FIVE_A_MINUTE, "x", "user", "1") == 0.0
        assert store.degraded
        redis_server.start()
        await asyncio.sleep(0.3)
        # This Redis came back empty: it counts from nothing again, and the fallback's count is dropped.
        for _ in range(5):
            assert await store.hit(FIVE_A_MINUTE, "x", "user", "1") == 0.0
        assert not store.degraded
        assert await store.hit(FIVE_A_MINUTE, "x", "user", "1") > 0
    finally:
        await store.close()
