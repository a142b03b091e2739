"""The `DateTime` scalar: ISO 8601 in UTC with milliseconds and a `Z` (`2026-12-01T02:40:00.123Z`).

Python values are timezone-aware `datetime`s; the database holds epoch milliseconds, converted here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import strawberry
from strawberry.types.scalar import ScalarDefinition

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
# Date, time, optional fraction (up to microseconds; kept to the millisecond) and a mandatory zone.
_ISO_8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})",
)


def datetime_from_ms(epoch_ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=epoch_ms)


def ms_from_datetime(value: datetime) -> int:
    return (value - _EPOCH) // _ONE_MS


def serialize_datetime(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str) or not _ISO_8601.fullmatch(value):
        raise ValueError("DateTime must look like 2026-12-01T02:40:00.123Z")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError("DateTime is not a valid date and time") from error
    return parsed.astimezone(UTC)


DateTimeScalar: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description="ISO 8601 date and time in UTC with milliseconds, e.g. 2026-12-01T02:40:00.123Z.",
    serialize=serialize_datetime,
    parse_value=parse_datetime,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTimeScalar}
