"""Bounded thread pools, one per kind of blocking work, so that one kind stalling cannot starve another.

asyncio's default executor is one small pool shared by everything that calls `to_thread`: a frozen object
store once held its threads (a readiness probe and an upload each waiting on a socket) while every sign-in
queued behind them for its password hash. Password hashing (argon2, CPU-bound and slow on purpose), media
work (ffmpeg) and object-store calls (network-bound) therefore run in pools of their own, each sized by a
setting; other short blocking calls keep using the default executor.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class ThreadPool:
    """A named pool of at most `size` threads, started on first use."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._executor: ThreadPoolExecutor | None = None

    def resize(self, size: int) -> None:
        """Later calls run on `size` threads; calls already running finish where they are."""
        if size == self.size:
            return
        self.size = size
        old, self._executor = self._executor, None
        if old is not None:
            old.shutdown(wait=False)

    async def run(self, function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """`function(*args, **kwargs)` on one of the pool's threads, with the caller's context variables
        (trace spans), as `asyncio.to_thread` does."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.size, thread_name_prefix=self.name)
        call = functools.partial(contextvars.copy_context().run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


# Sizes here are the settings' defaults; `configure` applies the settings.
PASSWORDS = ThreadPool("passwords", 2)
MEDIA = ThreadPool("media", 2)
OBJECTS = ThreadPool("objects", 8)


def configure(*, passwords: int, media: int, objects: int) -> None:
    PASSWORDS.resize(passwords)
    MEDIA.resize(media)
    OBJECTS.resize(objects)
