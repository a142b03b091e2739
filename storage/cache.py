"""A small key/value cache with expiry: Redis when REDIS_URL is set, else in-process.

Values are bytes. Anything shared between workers (counters, rate limits, fan-out) must go through Redis
when it is configured; the in-process cache serves a single worker.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, Protocol, TypeVar

import redis.asyncio as redis_asyncio
from cachetools import TTLCache
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core import metrics, telemetry

P = ParamSpec("P")
R = TypeVar("R")


class Cache(Protocol):
    name: str

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...
    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        """`set` only when `key` holds nothing; whether it did. Filling the cache from the database with
        `add` cannot overwrite a newer value that a write stored meanwhile."""
        ...

    async def delete(self, key: str) -> None: ...
    async def incr(self, key: str, ttl_seconds: int) -> int:
        """Add one to the counter at `key` and answer the new count, atomically (concurrent calls never
        see the same count). A new counter expires after `ttl_seconds`; counting does not extend it."""
        ...

    async def decr(self, key: str) -> int:
        """Take one back from a live counter (the new count); a missing or expired one stays missing
        (answer 0), so a late decrement never leaves a counter without an expiry."""
        ...

    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def _observed(
    operation: str,
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """A cache method counted (reads: hit or miss) and, when tracing is on, in a `cache <operation>` span
    carrying the backend and, for reads, whether it hit. Keys are not recorded (they may name users)."""

    def decorate(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(method)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            backend = str(getattr(args[0], "name", "cache"))
            if not telemetry.STATE.enabled:
                result = await method(*args, **kwargs)
            else:
                attributes = {"cache.backend": backend, "cache.operation": operation}
                # Redis commands are spans of their own, children of this one; an in-process call
                # has none, so its span need not become the current one.
                with telemetry.span(f"cache {operation}", attributes, current=backend != "memory") as span:
                    result = await method(*args, **kwargs)
                    if operation == "get":
                        span.set_attribute("cache.hit", result is not None)
            if operation == "get":
                metrics.CACHE_LOOKUPS.labels(backend, "miss" if result is None else "hit").inc()
            return result

        return wrapper

    return decorate


class _Counters:
    """Counters, each with its own deadline, that are never dropped to make room.

    A counter is a rate limit's memory (failed sign-ins per name): evicting a live one to make room for
    other keys would reset the limit for whoever can fill the cache, so counters stay out of the
    size-bounded LRU and leave only when their window ends. What bounds them is time: each lives at most
    its TTL, and expired ones are purged, earliest deadline first, whenever a counter is created. The
    store therefore holds one small entry per key counted within the current windows (for sign-ins: per
    name tried in the last LOGIN_FAILURE_WINDOW_SECONDS).
    """

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, int]] = {}
        # (deadline, key) for every counter created; an entry whose key was since deleted or recreated
        # with a later deadline is skipped when it comes up.
        self._deadlines: list[tuple[float, str]] = []

    def get(self, key: str, now: float) -> tuple[float, int] | None:
        entry = self._values.get(key)
        if entry is None or entry[0] <= now:
            return None
        return entry

    def put(self, key: str, deadline: float, value: int, now: float) -> None:
        if self.get(key, now) is None:
            self._purge(now)
            heapq.heappush(self._deadlines, (deadline, key))
        self._values[key] = (deadline, value)

    def pop(self, key: str) -> None:
        self._values.pop(key, None)

    def clear(self) -> None:
        self._values.clear()
        self._deadlines.clear()

    def __len__(self) -> int:
        return len(self._values)

    def _purge(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            _, key = heapq.heappop(self._deadlines)
            entry = self._values.get(key)
            if entry is not None and entry[0] <= now:
                del self._values[key]


class MemoryCache:
    """The in-process cache. Every method runs without awaiting anything, so each is atomic on the event
    loop (no lock needed): two increments can never read the same value."""

    name = "memory"

    def __init__(self, max_entries: int = 10_000, default_ttl_seconds: int = 3600) -> None:
        # One TTL per cache in cachetools; entries that need another TTL keep their own deadline.
        self._entries: TTLCache[str, tuple[float, bytes]] = TTLCache(max_entries, default_ttl_seconds)
        # Counters are kept apart, never size-evicted (see _Counters).
        self._counters = _Counters()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    @_observed("get")
    async def get(self, key: str) -> bytes | None:
        now = self._now()
        counter = self._counters.get(key, now)
        if counter is not None:
            return str(counter[1]).encode()
        entry = self._entries.get(key)
        if entry is None or entry[0] <= now:
            return None
        return entry[1]

    @_observed("set")
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._counters.pop(key)
        self._entries[key] = (self._now() + ttl_seconds, value)

    @_observed("add")
    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        now = self._now()
        entry = self._entries.get(key)
        if self._counters.get(key, now) is not None or (entry is not None and entry[0] > now):
            return False
        self._entries[key] = (now + ttl_seconds, value)
        return True

    @_observed("delete")
    async def delete(self, key: str) -> None:
        self._counters.pop(key)
        self._entries.pop(key, None)

    @_observed("incr")
    async def incr(self, key: str, ttl_seconds: int) -> int:
        now = self._now()
        counter = self._counters.get(key, now)
        if counter is None:
            # As on Redis, a plain entry holding a number goes on counting (keeping its expiry).
            entry = self._entries.pop(key, None)
            if entry is not None and entry[0] > now:
                counter = (entry[0], int(entry[1]))
        deadline, value = counter if counter is not None else (now + ttl_seconds, 0)
        self._counters.put(key, deadline, value + 1, now)
        return value + 1

    @_observed("decr")
    async def decr(self, key: str) -> int:
        now = self._now()
        counter = self._counters.get(key, now)
        if counter is None:
            return 0
        self._counters.put(key, counter[0], counter[1] - 1, now)
        return counter[1] - 1

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
        self._counters.clear()


_DECR_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.call('DECR', KEYS[1])
end
return 0
"""


class RedisCache:
    name = "redis"

    def __init__(
        self,
        url: str,
        prefix: str = "douyin:",
        *,
        timeout_seconds: float = 5.0,
        health_check_seconds: int = 0,
    ) -> None:
        self._client = redis_asyncio.Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            # A pooled connection that Redis dropped (a restart) fails once when used: retried on a new
            # connection instead of failing the call; idle ones are checked before use.
            retry=Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.2), retries=2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            health_check_interval=health_check_seconds,
        )
        if telemetry.STATE.enabled:
            from opentelemetry.instrumentation.redis import RedisInstrumentor

            RedisInstrumentor.instrument_client(self._client, tracer_provider=telemetry.STATE.provider)
        self._prefix = prefix

    @_observed("get")
    async def get(self, key: str) -> bytes | None:
        value: bytes | str | None = await self._client.get(self._prefix + key)
        return value.encode() if isinstance(value, str) else value

    @_observed("set")
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self._client.set(self._prefix + key, value, ex=ttl_seconds)

    @_observed("add")
    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        return bool(await self._client.set(self._prefix + key, value, ex=ttl_seconds, nx=True))

    @_observed("delete")
    async def delete(self, key: str) -> None:
        await self._client.delete(self._prefix + key)

    @_observed("incr")
    async def incr(self, key: str, ttl_seconds: int) -> int:
        full = self._prefix + key
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, ttl_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    @_observed("decr")
    async def decr(self, key: str) -> int:
        # One script, so the key cannot expire between the check and the decrement (a DECR on a missing
        # key would create a counter at -1 with no expiry).
        count = await self._client.eval(_DECR_IF_EXISTS, 1, self._prefix + key)
        return int(count)

    async def ping(self) -> None:
        await self._client.ping()

    async def close(self) -> None:
        await self._client.aclose()


# What an unreachable Redis raises (redis-py wraps socket errors, but not every path does).
OUTAGES: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


def create_cache(redis_url: str, max_entries: int, prefix: str = "douyin:") -> Cache:
    if redis_url:
        return RedisCache(redis_url, prefix)
    return MemoryCache(max_entries)
