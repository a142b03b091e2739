"""A shared cache that never fails a request because it is unreachable.

`FailSoftCache` wraps any `Cache` (Redis) with an in-process one. When a call on the shared cache fails
with an outage error, that call and every call for the next `retry_seconds` go to the in-process cache
(sign-in throttling then counts per worker instead of across workers); the outage is logged once when it
starts and once when it ends, never per request. While degraded, one call at a time tries the shared cache
again; the first that succeeds ends the outage.

What the shared cache missed is made unreachable before it is used again: every key written or deleted
while it was unreachable is deleted from it on recovery (other workers could not see those writes, and
the shared cache may still hold what they replaced), and the in-process entries are dropped. In-process
entries live at most `degraded_ttl_seconds`, since another worker's write cannot invalidate them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from storage.cache import Cache

R = TypeVar("R")

log = logging.getLogger("douyin")

# Keys remembered for invalidation on recovery; past that the oldest are forgotten (they then live at
# most their TTL in the shared cache).
MAX_MISSED_KEYS = 10_000


class FailSoftCache:
    def __init__(
        self,
        primary: Cache,
        fallback: Cache,
        *,
        outages: tuple[type[BaseException], ...],
        retry_seconds: float = 2.0,
        degraded_ttl_seconds: int = 5,
    ) -> None:
        self.name = primary.name
        self.primary = primary
        self.fallback = fallback
        self._outages = outages
        self._retry_seconds = retry_seconds
        self._degraded_ttl = degraded_ttl_seconds
        self._degraded = False
        self._retry_at = 0.0
        self._probing = False
        # Insertion-ordered, so the oldest are dropped first when it is full.
        self._missed: dict[str, None] = {}

    @property
    def degraded(self) -> bool:
        """Whether calls currently go to the in-process cache."""
        return self._degraded

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _call(self, call: Callable[[Cache], Awaitable[R]], key: str | None = None) -> R:
        """`call` on the shared cache, or on the in-process one during an outage. `key`: a write whose
        key the shared cache must forget when it comes back."""
        if self._degraded and not await self._recovered():
            return await self._fallback(call, key)
        try:
            return await call(self.primary)
        except self._outages as error:
            self._start_outage(error)
            return await self._fallback(call, key)

    async def _fallback(self, call: Callable[[Cache], Awaitable[R]], key: str | None) -> R:
        if key is not None:
            self._missed.pop(key, None)
            self._missed[key] = None
            if len(self._missed) > MAX_MISSED_KEYS:
                del self._missed[next(iter(self._missed))]
        return await call(self.fallback)

    def _start_outage(self, error: BaseException) -> None:
        self._retry_at = self._now() + self._retry_seconds
        if not self._degraded:
            self._degraded = True
            log.warning(
                "cache: %s unreachable (%s); working in-process until it answers again",
                self.name,
                type(error).__name__,
            )

    async def _recovered(self) -> bool:
        """During an outage: whether the shared cache answers again (tried by one call at a time, once
        per retry interval), with what it missed made unreachable before anything is read from it."""
        if self._probing or self._now() < self._retry_at:
            return False
        self._probing = True
        try:
            await self.primary.ping()
            while self._missed:
                key = next(iter(self._missed))
                await self.primary.delete(key)
                del self._missed[key]
        except self._outages as error:
            self._start_outage(error)
            return False
        finally:
            self._probing = False
        self._degraded = False
        await self.fallback.close()
        log.warning("cache: %s reachable again", self.name)
        return True

    async def get(self, key: str) -> bytes | None:
        return await self._call(lambda cache: cache.get(key))

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        async def _set(cache: Cache) -> None:
            ttl = ttl_seconds if cache is self.primary else min(ttl_seconds, self._degraded_ttl)
            await cache.set(key, value, ttl)

        await self._call(_set, key)

    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        async def _add(cache: Cache) -> bool:
            ttl = ttl_seconds if cache is self.primary else min(ttl_seconds, self._degraded_ttl)
            return await cache.add(key, value, ttl)

        return await self._call(_add, key)

    async def delete(self, key: str) -> None:
        await self._call(lambda cache: cache.delete(key), key)

    async def incr(self, key: str, ttl_seconds: int) -> int:
        return await self._call(lambda cache: cache.incr(key, ttl_seconds))

    async def decr(self, key: str) -> int:
        return await self._call(lambda cache: cache.decr(key))

    async def ping(self) -> None:
        """Raises while the shared cache is unreachable (readiness reports the cache degraded); a ping
        that answers ends an outage."""
        if self._degraded:
            self._retry_at = 0.0  # a readiness probe may try at once
            if not await self._recovered():
                raise ConnectionError(f"{self.name} is unreachable")
            return
        try:
            await self.primary.ping()
        except self._outages as error:
            self._start_outage(error)
            raise

    async def close(self) -> None:
        await self.fallback.close()
        await self.primary.close()
