"""Readiness checks that cannot pile up and always answer within their bound.

Each part is probed by at most one task at a time: a request that comes while a probe is in flight waits
for that same probe (up to the bound) instead of starting another, and a probe that finished less than
`fresh_seconds` ago is not run again. A probe that outlives the bound is reported as failed and left to
finish on its own (the client it uses has its own timeouts); the next check waits for it rather than
adding another. A part the service can work without (the cache, the object store) is reported degraded
when it fails; only a required part (the database) makes the service unavailable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("douyin")


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    probe: Callable[[], Coroutine[Any, Any, None]]
    required: bool


@dataclass(slots=True)
class Report:
    checks: dict[str, str]
    failed: list[str]
    ready: bool

    @property
    def status(self) -> str:
        if not self.ready:
            return "unavailable"
        return "degraded" if self.failed else "ok"


@dataclass(slots=True)
class _Probe:
    task: asyncio.Task[None]
    finished_at: float | None = None
    error: str | None = field(default=None)


def _error_of(task: asyncio.Task[None]) -> str | None:
    if task.cancelled():
        return "cancelled"
    error = task.exception()
    return None if error is None else f"{type(error).__name__}: {error}"[:300]


class Readiness:
    def __init__(self, parts: list[Part], timeout_seconds: float, fresh_seconds: float = 1.0) -> None:
        self._parts = parts
        self._timeout = timeout_seconds
        self._fresh = fresh_seconds
        self._probes: dict[str, _Probe] = {}

    def _probe(self, part: Part, now: float) -> _Probe:
        current = self._probes.get(part.name)
        if current is not None and (current.finished_at is None or now - current.finished_at < self._fresh):
            return current
        probe = _Probe(asyncio.get_running_loop().create_task(part.probe()))
        probe.task.add_done_callback(lambda task: self._finished(part.name, probe, task))
        self._probes[part.name] = probe
        return probe

    def _finished(self, name: str, probe: _Probe, task: asyncio.Task[None]) -> None:
        probe.finished_at = asyncio.get_running_loop().time()
        probe.error = _error_of(task)
        if probe.error:
            # Where and why it failed is for the operators' log, not for whoever can reach the route.
            log.warning("readiness: %s failed: %s", name, probe.error)

    async def check(self) -> Report:
        now = asyncio.get_running_loop().time()
        probes = {part.name: self._probe(part, now) for part in self._parts}
        pending = {probe.task for probe in probes.values() if not probe.task.done()}
        if pending:
            await asyncio.wait(pending, timeout=self._timeout)
        checks: dict[str, str] = {}
        failed: list[str] = []
        ready = True
        for part in self._parts:
            probe = probes[part.name]
            if probe.task.done() and _error_of(probe.task) is None:
                checks[part.name] = "ok"
                continue
            if not probe.task.done():
                log.warning("readiness: %s timed out after %.1f s", part.name, self._timeout)
            failed.append(part.name)
            checks[part.name] = "failed" if part.required else "degraded"
            ready = ready and not part.required
        return Report(checks, failed, ready)

    async def close(self) -> None:
        for probe in self._probes.values():
            probe.task.cancel()
