"""The long-lived resources one process holds: opened by the app's lifespan, closed at shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from core.clock import SYSTEM_CLOCK, Clock
from settings import Settings
from storage.cache import Cache, create_cache
from storage.db import Database
from storage.fanout import Fanout, create_fanout
from storage.objects import ObjectStore, create_object_store
from storage.rate_limits import LimitStore
from storage.upload_slots import UploadSlots


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
    # Rate limits and sign-in throttles (through Redis to every worker's when it is set).
    limits: LimitStore = field(default_factory=LimitStore)
    # Uploads being received by this process (per user, per address, scratch space reserved).
    uploads: UploadSlots = field(default_factory=UploadSlots)

    @classmethod
    def open(cls, settings: Settings, clock: Clock = SYSTEM_CLOCK) -> Services:
        db = Database.from_settings(settings)
        return cls(
            settings=settings,
            db=db,
            cache=create_cache(settings.redis_url, settings.cache_max_entries, settings.cache_prefix),
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
            limits=LimitStore(settings.redis_url, settings.cache_prefix),
        )

    async def close(self) -> None:
        await self.fanout.close()
        await self.limits.close()
        await self.objects.close()
        await self.cache.close()
        await self.db.dispose()
