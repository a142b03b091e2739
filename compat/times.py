"""The douyin wire format's own times: `latest_time` in seconds or milliseconds, `create_date` as `MM-DD`.

Conversions between epoch milliseconds and the GraphQL `DateTime` text are the clock's (`core.clock`).
"""

from __future__ import annotations

from core.clock import MAX_MS, datetime_from_ms

# The APK sends `latest_time` in milliseconds although the proto says seconds: above this it is ms.
MILLISECONDS_THRESHOLD = 10**11


def month_day(ms: int) -> str:
    """`MM-DD` in UTC: the proto's `create_date` format."""
    return datetime_from_ms(ms).strftime("%m-%d")


def feed_cutoff_ms(raw: str | None, now_ms: int) -> int:
    """The feed's `latest_time`: above 10^11 it is ms, else seconds; absent, 0, negative or unparseable
    means now."""
    text = (raw or "").strip()
    if not text.isascii() or not text.isdigit():  # int() would also take "-5", "1_0" and non-ASCII digits
        return now_ms
    value = int(text)
    if value == 0:
        return now_ms
    ms = value if value > MILLISECONDS_THRESHOLD else value * 1000
    return min(ms, MAX_MS)
