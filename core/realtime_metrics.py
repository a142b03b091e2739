"""Plain in-process counters and gauges of the realtime side, read by tests and the benchmark; `/metrics`
(core/metrics.py) exports the open subscriptions.

Each worker process holds its own; an exporter reads `snapshot()` and labels the figures with the process.
No values are ever labelled by user, document or message.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


class Counter:
    """Only goes up."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self, amount: int = 1) -> None:
        self.value += amount


class Gauge(Counter):
    """Goes up and down: something currently open."""

    __slots__ = ()

    def dec(self, amount: int = 1) -> None:
        self.value -= amount


@dataclass(slots=True)
class RealtimeMetrics:
    """The WebSocket side of one worker: connections, subscriptions, and how messages reached them."""

    # GraphQL WebSocket connections open now, and handshakes refused (no valid token, init timeout).
    sockets_open: Gauge = field(default_factory=Gauge)
    sockets_refused: Counter = field(default_factory=Counter)
    # `messageReceived` subscriptions open now, and subscriptions refused over the per-user cap.
    subscriptions_open: Gauge = field(default_factory=Gauge)
    subscriptions_refused: Counter = field(default_factory=Counter)
    # Messages handed to subscribers, and how many of them came from a database catch-up.
    messages_delivered: Counter = field(default_factory=Counter)
    messages_caught_up: Counter = field(default_factory=Counter)
    # Catch-ups from the database, and notices dropped because a subscriber's queue was full.
    catch_ups: Counter = field(default_factory=Counter)
    queue_overflows: Counter = field(default_factory=Counter)
    # Notices published to / received from Redis, publishes that failed, and listener reconnects.
    notices_published: Counter = field(default_factory=Counter)
    notices_received: Counter = field(default_factory=Counter)
    publish_failures: Counter = field(default_factory=Counter)
    listener_reconnects: Counter = field(default_factory=Counter)

    def snapshot(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name).value for item in fields(self)}
