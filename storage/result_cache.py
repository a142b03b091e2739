"""Results that never change for their key, kept in this process and shared through Redis when it is set.

A key names everything its result depends on (for a list's unchanging part: the ids it holds, the
operation, the base URL), so an entry can never be stale: a write changes which key is asked for, never
what a key holds. Nothing is invalidated, so nothing is missed while Redis is unreachable, and whatever
Redis holds when it returns is still right. Redis errors are misses (and failed stores are skipped): a
request is then answered from the database.

In-process entries are the decoded values, shared by every request that asks: callers must not change
them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import orjson
from cachetools import LRUCache

from core import metrics
from storage.cache import Cache

log = logging.getLogger(__name__)
_PREFIX = "result:"


class ResultCache:
    def __init__(self, shared: Cache | None, local_entries: int, ttl_seconds: int) -> None:
        self._local: LRUCache[str, Any] = LRUCache(max(1, local_entries))
        self._shared = shared
        self._ttl = ttl_seconds
        self._warned = False
        self._hits = metrics.CACHE_LOOKUPS.labels("result-local", "hit")
        self._misses = metrics.CACHE_LOOKUPS.labels("result-local", "miss")

    @staticmethod
    def _shared_key(key: str) -> str:
        return _PREFIX + hashlib.blake2b(key.encode(), digest_size=20).hexdigest()

    async def get(self, key: str) -> Any | None:
        value = self._local.get(key)
        if value is not None:
            self._hits.inc()
            return value
        self._misses.inc()
        if self._shared is None:
            return None
        return await self._shared_get(self._shared, key)

    async def get_many(self, keys: list[str]) -> list[Any | None]:
        """`get` for each key; the ones missing here are asked of the shared cache at once."""
        local = self._local
        values = [local.get(key) for key in keys]
        missing = [index for index, value in enumerate(values) if value is None]
        self._hits.inc(len(keys) - len(missing))
        self._misses.inc(len(missing))
        shared = self._shared
        if missing and shared is not None:
            found = await asyncio.gather(*(self._shared_get(shared, keys[index]) for index in missing))
            for index, value in zip(missing, found, strict=True):
                values[index] = value
        return values

    def kept_here(self, keys: list[str]) -> list[Any | None]:
        """What this process holds for each key, without counting a lookup or asking Redis (a fill
        checking whether another request of this process stored its items meanwhile)."""
        local = self._local
        return [local.get(key) for key in keys]

    async def _shared_get(self, shared: Cache, key: str) -> Any | None:
        try:
            raw = await shared.get(self._shared_key(key))
        except Exception as error:  # an unreachable cache is a miss, never a failure
            self._unreachable(error)
            return None
        if raw is None:
            return None
        value = orjson.loads(raw)
        self._local[key] = value
        return value

    async def put(self, key: str, value: Any) -> None:
        self._local[key] = value
        if self._shared is None:
            return
        try:
            await self._shared.set(self._shared_key(key), orjson.dumps(value), self._ttl)
        except Exception as error:
            self._unreachable(error)
        else:
            self._warned = False

    def _unreachable(self, error: Exception) -> None:
        if not self._warned:  # once per outage, not once per request
            log.warning("result cache: shared cache unreachable (%s); answering from the database", error)
            self._warned = True

    def clear_local(self) -> None:
        self._local.clear()
