"""SIGTERM runs the going-away steps first, then the handler that was there before (uvicorn's)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from types import FrameType

import pytest

from core.going_away import intercept_sigterm
from tests.support.realtime import until


@pytest.fixture
def order() -> Iterator[list[str]]:
    """What happened, in order; the SIGTERM handler before the test records "handler"."""
    happened: list[str] = []

    def handler(_signum: int, _frame: FrameType | None) -> None:
        happened.append("handler")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield happened
    finally:
        signal.signal(signal.SIGTERM, previous)


async def test_the_steps_run_before_the_previous_handler(order: list[str]) -> None:
    async def steps() -> None:
        order.append("steps begin")
        await asyncio.sleep(0.05)
        order.append("steps end")

    restore = intercept_sigterm(steps)
    signal.raise_signal(signal.SIGTERM)
    await until(lambda: "handler" in order, what="the previous handler")
    assert order == ["steps begin", "steps end", "handler"]
    restore()
    signal.raise_signal(signal.SIGTERM)
    assert order[-1] == "handler"
    assert order.count("steps begin") == 1


async def test_a_second_sigterm_meanwhile_changes_nothing(order: list[str]) -> None:
    release = asyncio.Event()

    async def steps() -> None:
        order.append("steps begin")
        await release.wait()

    restore = intercept_sigterm(steps)
    try:
        signal.raise_signal(signal.SIGTERM)
        await until(lambda: "steps begin" in order, what="the steps")
        signal.raise_signal(signal.SIGTERM)
        await asyncio.sleep(0.05)
        assert order == ["steps begin"]
        release.set()
        await until(lambda: "handler" in order, what="the hand-over")
        assert order == ["steps begin", "handler"]
    finally:
        restore()


async def test_failing_steps_still_hand_over(order: list[str], caplog: pytest.LogCaptureFixture) -> None:
    async def steps() -> None:
        raise RuntimeError("boom")

    restore = intercept_sigterm(steps)
    try:
        signal.raise_signal(signal.SIGTERM)
        await until(lambda: "handler" in order, what="the previous handler")
    finally:
        restore()
    assert "going-away steps failed" in caplog.text


async def test_off_the_main_thread_nothing_is_intercepted(order: list[str]) -> None:
    async def steps() -> None:
        order.append("steps")

    def install() -> None:
        asyncio.run(_install_elsewhere(steps))

    await asyncio.to_thread(install)
    signal.raise_signal(signal.SIGTERM)
    assert order == ["handler"]


async def _install_elsewhere(steps: object) -> None:
    restore = intercept_sigterm(steps)  # type: ignore[arg-type]
    restore()
