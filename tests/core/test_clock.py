"""The clock's conversions: epoch milliseconds, datetimes and ISO text, exact to the millisecond."""

from __future__ import annotations

import time

from core.clock import (
    MAX_MS,
    SYSTEM_CLOCK,
    datetime_from_ms,
    iso_from_datetime,
    iso_from_ms,
    ms_from_datetime,
    ms_from_iso,
)

NOW = 1_796_000_000_123


def test_datetime_round_trips_epoch_milliseconds() -> None:
    for epoch_ms in (0, 1, 999, 1_796_092_800_123, 253_402_300_799_999):
        assert ms_from_datetime(datetime_from_ms(epoch_ms)) == epoch_ms
    assert iso_from_datetime(datetime_from_ms(1_796_092_800_123)) == "2026-12-01T02:40:00.123Z"
    assert iso_from_datetime(datetime_from_ms(1_796_092_800_000)) == "2026-12-01T02:40:00.000Z"


def test_datetime_round_trip_is_exact_to_the_millisecond() -> None:
    for ms in (0, 1, 999, 1_693_532_816_123, NOW, MAX_MS):
        assert ms_from_iso(iso_from_ms(ms)) == ms


def test_datetime_text_is_utc_with_milliseconds_and_z() -> None:
    assert iso_from_ms(1_693_532_816_123) == "2023-09-01T01:46:56.123Z"
    assert iso_from_ms(0) == "1970-01-01T00:00:00.000Z"


def test_from_datetime_accepts_offsets() -> None:
    assert ms_from_iso("2023-09-01T09:46:56.123+08:00") == 1_693_532_816_123


def test_the_system_clock_tells_epoch_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    now = SYSTEM_CLOCK.now_ms()
    assert before <= now <= time.time_ns() // 1_000_000
