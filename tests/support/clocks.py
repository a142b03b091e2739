"""Clocks tests hand to the services instead of patching module attributes."""

from __future__ import annotations

from collections.abc import Iterable


class ScriptedClock:
    """Answers the given times in turn, then keeps answering the last one."""

    def __init__(self, times: Iterable[int]) -> None:
        self._times = list(times)
        assert self._times, "a scripted clock needs at least one time"

    def now_ms(self) -> int:
        return self._times.pop(0) if len(self._times) > 1 else self._times[0]
