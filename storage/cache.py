"""A small key/value cache with expiry: Redis when REDIS_URL is set, else in-process.

Values are bytes. Anything shared between workers (counters, rate limits, fan-out) must go through Redis
when it is configured; the in-process cache serves a single worker.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import redis.asyncio as redis_asyncio
from cachetools import TTLCache


class Cache(Protocol):
    name: str

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def incr(self, key: str, ttl_seconds: int) -> int: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryCache:
    name = "memory"

    def __init__(self, max_entries: int = 10_000, default_ttl_seconds: int = 3600) -> None:
        # One TTL per cache in cachetools; entries that need another TTL keep their own deadline.
        self._entries: TTLCache[str, tuple[float, bytes]] = TTLCache(max_entries, default_ttl_seconds)
        self._lock = asyncio.Lock()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= self._now():
            return None
        return entry[1]

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._entries[key] = (self._now() + ttl_seconds, value)

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def incr(self, key: str, ttl_seconds: int) -> int:
        async with self._lock:
            current = await self.get(key)
            value = int(current) + 1 if current is not None else 1
            deadline = self._entries[key][0] if current is not None else self._now() + ttl_seconds
            self._entries[key] = (deadline, str(value).encode())
            return value

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    name = "redis"

    def __init__(self, url: str, prefix: str = "douyin:") -> None:
        self._client = redis_asyncio.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        value: bytes | str | None = await self._client.get(self._prefix + key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self._client.set(self._prefix + key, value, ex=ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._client.delete(self._prefix + key)

    async def incr(self, key: str, ttl_seconds: int) -> int:
        full = self._prefix + key
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, ttl_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def ping(self) -> None:
        await self._client.ping()

    async def close(self) -> None:
        await self._client.aclose()


def create_cache(redis_url: str, max_entries: int, prefix: str = "douyin:") -> Cache:
    if redis_url:
        return RedisCache(redis_url, prefix)
    return MemoryCache(max_entries)
