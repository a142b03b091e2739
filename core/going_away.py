"""Going away: what a server process does between SIGTERM and uvicorn's own shutdown.

uvicorn, told to stop, closes its listening socket and every WebSocket (with 1012) at once, then waits
for requests in flight. Behind a load balancer that is too early: the balancer learns of it from failed
connections, and subscribers from a close code that is not the one for a server going away. So SIGTERM
first runs the app's going-away steps (say not ready, deregister, wait for the balancer to notice, close
subscriptions with 1001), and only then hands the signal to the handler uvicorn installed. A second SIGTERM
meanwhile changes nothing (with WORKERS > 1 a worker may get one from the supervisor and one sent to the
whole process group, as systemd does); SIGINT (Ctrl-C) goes straight to uvicorn.

Signal handlers can be set from the main thread only: a server running in another thread (tests) gets no
going-away steps.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType

log = logging.getLogger("douyin")

Steps = Callable[[], Awaitable[None]]
Restore = Callable[[], None]


def intercept_sigterm(steps: Steps) -> Restore:
    """Runs `steps` on this thread's event loop at the first SIGTERM, then the SIGTERM handler that was
    there before. Returns what puts the previous handler back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)
    tasks: list[asyncio.Task[None]] = []
    signalled = threading.Event()

    def hand_over(signum: int, frame: FrameType | None) -> None:
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)

    async def go_away(signum: int, frame: FrameType | None) -> None:
        try:
            await steps()
        except Exception:  # the process stops all the same
            log.exception("going-away steps failed")
        finally:
            hand_over(signum, frame)

    def start() -> None:
        tasks.append(loop.create_task(go_away(signal.SIGTERM, None)))

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if signalled.is_set():
            return
        signalled.set()
        log.info("SIGTERM: going away")
        loop.call_soon_threadsafe(start)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return restore
