"""Rate-limit state: sliding-window counters (the `limits` library) and attempt backoff.

Redis when REDIS_URL is set, so every worker and every replica behind a load balancer counts against the
same limits (the counters are Lua scripts on the server, timed by the server's clock); in-process
otherwise. A limit that cannot be counted must never fail the request it guards: when Redis does not
answer, counting falls back to this process (logged once per outage) and Redis is tried again after a few
seconds. While degraded each process counts on its own, so a client spread over N processes gets up to N
times its limit until Redis is back.

Two shapes of state:
- `hit(item, *identifiers)`: one more event in a sliding-window counter (`10/minute`); 0 when it fits,
  else the seconds until it would.
- `attempt(key, backoff)`: one more attempt of something guessable (a sign-in), counted before the
  attempt is made, so concurrent attempts can never all pass a check made before any of them failed.
  The first `backoff.free` attempts pass at once; after that each further attempt must wait twice as
  long as the one before (`base`, `2 base`, `4 base`... up to `max`). Refused attempts change nothing,
  so hammering does not extend the wait. `forgive` gives one attempt back (and lifts the wait it
  started), `reset` forgets the key (a success). The `limits` library has no backoff, hence this small
  script of our own.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as redis_asyncio
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Redis calls for limits give up as the cache's do. Not sooner: the wait includes the event loop's own
# delay, and a busy worker would fall back (and count afresh) for no fault of Redis.
REDIS_TIMEOUT_SECONDS = 5.0
# After Redis failed, this process counts on its own for this long before trying Redis again.
REDIS_RETRY_SECONDS = 5.0
_UNREACHABLE = (RedisError, OSError, StorageError, TimeoutError)


@dataclass(frozen=True, slots=True)
class Backoff:
    free: int  # attempts that pass without waiting
    base_seconds: float  # the first wait; each later one is twice the one before
    max_seconds: float  # no wait is longer
    window_seconds: float  # the count is forgotten this long after the last counted attempt

    def wait_after(self, attempts: int) -> float:
        if attempts < self.free:
            return 0.0
        return float(min(self.max_seconds, self.base_seconds * 2 ** (attempts - self.free)))


class _Backend(Protocol):
    async def hit(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> float: ...
    async def attempt(self, key: str, backoff: Backoff) -> float: ...
    async def forgive(self, key: str, backoff: Backoff) -> None: ...
    async def reset(self, key: str) -> None: ...
    async def close(self) -> None: ...


async def _retry_after(
    limiter: SlidingWindowCounterRateLimiter, item: RateLimitItem, ids: tuple[str, ...]
) -> float:
    stats = await limiter.get_window_stats(item, *ids)
    return max(stats.reset_time - time.time(), 0.001)


class MemoryBackend:
    """This process's counters. The backoff state is bounded by time: each entry lives at most its
    window after its last attempt, and expired ones are swept at most once a second."""

    def __init__(self) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        # key -> (attempts, next allowed at, forgotten at), monotonic seconds.
        self._attempts: dict[str, tuple[int, float, float]] = {}
        self._swept = 0.0

    async def hit(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> float:
        if await self._limiter.hit(item, *identifiers):
            return 0.0
        return await _retry_after(self._limiter, item, identifiers)

    def _live(self, key: str, now: float) -> tuple[int, float, float]:
        if now - self._swept > 1.0:
            self._swept = now
            for stale in [k for k, (_, _, until) in self._attempts.items() if until <= now]:
                del self._attempts[stale]
        entry = self._attempts.get(key)
        return entry if entry is not None and entry[2] > now else (0, 0.0, 0.0)

    async def attempt(self, key: str, backoff: Backoff) -> float:
        # No await between reading and writing: atomic on the event loop.
        now = time.monotonic()
        attempts, allowed_at, _ = self._live(key, now)
        if now < allowed_at:
            return allowed_at - now
        attempts += 1
        wait = backoff.wait_after(attempts)
        self._attempts[key] = (attempts, now + wait, now + wait + backoff.window_seconds)
        return 0.0

    async def forgive(self, key: str, backoff: Backoff) -> None:
        now = time.monotonic()
        attempts, allowed_at, until = self._live(key, now)
        if attempts > 0:
            # Back under the free attempts, the wait this one started goes too.
            self._attempts[key] = (attempts - 1, allowed_at if attempts > backoff.free else 0.0, until)

    async def reset(self, key: str) -> None:
        self._attempts.pop(key, None)

    async def close(self) -> None:
        self._attempts.clear()


# KEYS[1]: the attempt state (a hash: n attempts, next allowed at, in server ms).
# ARGV: free attempts, base wait ms, max wait ms, window ms. Answers 0 (counted) or the ms to wait.
_ATTEMPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local free, base, longest, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'n', 'next')
local n = tonumber(state[1]) or 0
local allowed_at = tonumber(state[2]) or 0
if now < allowed_at then
    return allowed_at - now
end
n = n + 1
local wait = 0
if n >= free then
    wait = math.min(longest, base * 2 ^ (n - free))
end
redis.call('HSET', KEYS[1], 'n', n, 'next', now + wait)
redis.call('PEXPIRE', KEYS[1], math.ceil(wait + window))
return 0
"""
# ARGV: free attempts (back under them, the wait goes too).
_FORGIVE = """
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if n > 0 then
    redis.call('HSET', KEYS[1], 'n', n - 1)
    if n <= tonumber(ARGV[1]) then
        redis.call('HSET', KEYS[1], 'next', 0)
    end
end
return 0
"""


class RedisBackend:
    """Counters shared by every process using this Redis and key prefix."""

    def __init__(self, url: str, prefix: str) -> None:
        self._pool = redis_asyncio.ConnectionPool.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self._client = redis_asyncio.Redis(connection_pool=self._pool)
        # One pool for both (limits' own options are typed as plain values; it hands the pool to redis-py).
        options: dict[str, Any] = {"connection_pool": self._pool}
        storage = RedisStorage(
            f"async+{url}", implementation="redispy", key_prefix=f"{prefix}limits", **options
        )
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._prefix = f"{prefix}backoff:"
        self._attempt = self._client.register_script(_ATTEMPT)
        self._forgive = self._client.register_script(_FORGIVE)

    async def hit(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> float:
        if await self._limiter.hit(item, *identifiers):
            return 0.0
        return await _retry_after(self._limiter, item, identifiers)

    async def attempt(self, key: str, backoff: Backoff) -> float:
        args = [
            backoff.free,
            math.ceil(backoff.base_seconds * 1000),
            math.ceil(backoff.max_seconds * 1000),
            math.ceil(backoff.window_seconds * 1000),
        ]
        wait_ms = await self._attempt(keys=[self._prefix + key], args=args)
        return float(wait_ms) / 1000

    async def forgive(self, key: str, backoff: Backoff) -> None:
        await self._forgive(keys=[self._prefix + key], args=[backoff.free])

    async def reset(self, key: str) -> None:
        await self._client.delete(self._prefix + key)

    async def close(self) -> None:
        await self._client.aclose()
        await self._pool.disconnect()


class LimitStore:
    """The counters of every rate limit and throttle: Redis when configured, falling back to this
    process while Redis does not answer (see the module docstring)."""

    def __init__(self, redis_url: str = "", prefix: str = "douyin:") -> None:
        self._memory = MemoryBackend()
        self._redis: RedisBackend | None = RedisBackend(redis_url, prefix) if redis_url else None
        self._retry_at = 0.0  # monotonic; Redis is skipped until then after a failure
        self._degraded = False

    @property
    def name(self) -> str:
        return "redis" if self._redis is not None else "memory"

    @property
    def degraded(self) -> bool:
        """Redis is configured but counting happens in this process for now."""
        return self._degraded

    def _backend(self) -> _Backend:
        if self._redis is None or time.monotonic() < self._retry_at:
            return self._memory
        return self._redis

    def _failed(self, error: BaseException) -> None:
        self._retry_at = time.monotonic() + REDIS_RETRY_SECONDS
        if not self._degraded:
            self._degraded = True
            log.warning(
                "rate limits: Redis did not answer (%s); counting in this process until it does",
                type(error).__name__,
            )

    def _answered(self, backend: _Backend) -> None:
        if backend is self._redis and self._degraded:
            self._degraded = False
            log.warning("rate limits: Redis answers again; counting there")

    async def hit(self, item: RateLimitItem, *identifiers: str) -> float:
        backend = self._backend()
        try:
            wait = await backend.hit(item, identifiers)
        except _UNREACHABLE as error:
            self._failed(error)
            return await self._memory.hit(item, identifiers)
        self._answered(backend)
        return wait

    async def attempt(self, key: str, backoff: Backoff) -> float:
        backend = self._backend()
        try:
            wait = await backend.attempt(key, backoff)
        except _UNREACHABLE as error:
            self._failed(error)
            return await self._memory.attempt(key, backoff)
        self._answered(backend)
        return wait

    async def forgive(self, key: str, backoff: Backoff) -> None:
        backend = self._backend()
        try:
            await backend.forgive(key, backoff)
        except _UNREACHABLE as error:
            self._failed(error)
            await self._memory.forgive(key, backoff)

    async def reset(self, key: str) -> None:
        backend = self._backend()
        try:
            await backend.reset(key)
        except _UNREACHABLE as error:
            self._failed(error)
            await self._memory.reset(key)

    async def close(self) -> None:
        await self._memory.close()
        if self._redis is not None:
            await self._redis.close()
