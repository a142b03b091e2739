"""The long-lived resources one process holds: opened by the app's lifespan, closed at shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from core import pools
from core.clock import SYSTEM_CLOCK, Clock
from settings import Settings
from storage.cache import OUTAGES, Cache, MemoryCache, RedisCache
from storage.db import Database
from storage.failsoft import FailSoftCache
from storage.fanout import Fanout, create_fanout
from storage.objects import ObjectStore, create_object_store
from storage.rate_limits import LimitStore
from storage.result_cache import ResultCache
from storage.upload_slots import UploadSlots


def open_cache(settings: Settings) -> Cache:
    """In-process without REDIS_URL; else Redis, failing soft to in-process while it is unreachable."""
    memory = MemoryCache(settings.cache_max_entries)
    if not settings.redis_url:
        return memory
    shared = RedisCache(
        settings.redis_url,
        settings.cache_prefix,
        timeout_seconds=settings.redis_socket_timeout_seconds,
        health_check_seconds=settings.redis_health_check_seconds,
    )
    return FailSoftCache(
        shared,
        memory,
        outages=OUTAGES,
        retry_seconds=settings.cache_retry_seconds,
        degraded_ttl_seconds=settings.cache_degraded_ttl_seconds,
    )


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Database
    cache: Cache
    objects: ObjectStore
    # ffmpeg jobs (probe, cover, remux) this process runs at once; more publishes wait their turn
    # instead of starving every other request of CPU.
    media_jobs: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    # Every time a write records comes from here; tests hand in a clock they set.
    clock: Clock = SYSTEM_CLOCK
    # Chat notices to this worker's subscriptions (through Redis to every worker's when it is set).
    fanout: Fanout = field(default_factory=Fanout)
    # Results that never change for their key (see storage/result_cache.py).
    results: ResultCache = field(default_factory=lambda: ResultCache(None, 1000, 60))
    # Rate limits and sign-in throttles (through Redis to every worker's when it is set).
    limits: LimitStore = field(default_factory=LimitStore)
    # Uploads being received by this process (per user, per address, scratch space reserved).
    uploads: UploadSlots = field(default_factory=UploadSlots)

    @classmethod
    def open(cls, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> Services:
        pools.configure(
            passwords=settings.password_hash_threads,
            media=settings.media_max_jobs,
            objects=settings.object_store_threads,
        )
        db = Database.from_settings(settings)
        cache = open_cache(settings)
        return cls(
            settings=settings,
            db=db,
            cache=cache,
            objects=create_object_store(settings),
            media_jobs=asyncio.Semaphore(settings.media_max_jobs),
            clock=clock,
            fanout=create_fanout(
                settings.redis_url,
                db,
                prefix=settings.cache_prefix,
                queue_size=settings.subscription_queue_size,
                per_user=settings.subscriptions_per_user,
            ),
            results=ResultCache(
                cache if settings.redis_url else None,
                settings.result_cache_entries,
                settings.result_cache_ttl_seconds,
            ),
            limits=LimitStore(settings.redis_url, settings.cache_prefix),
        )

    async def close(self) -> None:
        await self.fanout.close()
        await self.limits.close()
        await self.objects.close()
        await self.cache.close()
        await self.db.dispose()
