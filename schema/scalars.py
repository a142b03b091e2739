"""The `DateTime` scalar: ISO 8601 in UTC with milliseconds and a `Z` (`2026-12-01T02:40:00.123Z`).

Python values are timezone-aware `datetime`s; the database holds epoch milliseconds (see `core.clock`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition

from core.clock import iso_from_datetime

# Date, time, optional fraction (up to microseconds; kept to the millisecond) and a mandatory zone.
_ISO_8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})",
)


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
    serialize=iso_from_datetime,
    parse_value=parse_datetime,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTimeScalar}
