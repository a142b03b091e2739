"""Time, for every layer: the database stores epoch milliseconds, GraphQL speaks ISO 8601 text, the douyin
routes speak milliseconds again.

Every conversion is integer arithmetic on milliseconds, so a time that goes out as text and comes back
(a `create_time` sent back as `pre_msg_time`, a cursor) names exactly the same millisecond.

The current time comes from a `Clock` held by the services, so tests set time by handing in their own
clock instead of patching module attributes. Imports nothing from the project.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
# The last millisecond a DateTime can name (9999-12-31T23:59:59.999Z).
MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - EPOCH) // ONE_MS


class Clock(Protocol):
    def now_ms(self) -> int:
        """The current time in epoch milliseconds."""
        ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


SYSTEM_CLOCK = SystemClock()


def now_ms() -> int:
    """The system clock's time: only for column defaults, where no services are at hand."""
    return SYSTEM_CLOCK.now_ms()


def datetime_from_ms(epoch_ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=epoch_ms)


def ms_from_datetime(value: datetime) -> int:
    """Naive datetimes are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // ONE_MS


def iso_from_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`: `2026-12-01T02:40:00.123Z`."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def iso_from_ms(epoch_ms: int) -> str:
    """Epoch ms as ISO text, clamped to the range a DateTime can name."""
    return iso_from_datetime(datetime_from_ms(min(max(epoch_ms, 0), MAX_MS)))


def ms_from_iso(text: str) -> int:
    """Any ISO 8601 form `datetime.fromisoformat` reads (naive means UTC) as epoch ms."""
    return ms_from_datetime(datetime.fromisoformat(text))
