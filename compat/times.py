"""Time conversions between the douyin wire format (epoch milliseconds, `MM-DD`) and GraphQL `DateTime`.

Every conversion is integer arithmetic, so a `create_time` sent back as `pre_msg_time` names exactly the
same millisecond and polling never repeats a message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
# The APK sends `latest_time` in milliseconds although the proto says seconds: above this it is ms.
MILLISECONDS_THRESHOLD = 10**11
# The last millisecond a DateTime can name (9999-12-31T23:59:59.999Z).
MAX_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - EPOCH) // ONE_MS


def to_datetime(ms: int) -> str:
    """Epoch ms as the GraphQL DateTime text, e.g. `2026-12-01T02:40:00.123Z`."""
    moment = EPOCH + timedelta(milliseconds=min(max(ms, 0), MAX_MS))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def from_datetime(text: str) -> int:
    """A GraphQL DateTime (any ISO 8601 form; naive means UTC) as epoch ms."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // ONE_MS


def month_day(ms: int) -> str:
    """`MM-DD` in UTC: the proto's `create_date` format."""
    return (EPOCH + timedelta(milliseconds=ms)).strftime("%m-%d")


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
