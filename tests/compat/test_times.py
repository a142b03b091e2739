"""The douyin wire formats of time: `latest_time` in seconds or ms, `create_date` as MM-DD."""

from __future__ import annotations

import pytest

from compat.times import feed_cutoff_ms, month_day
from core.clock import MAX_MS

NOW = 1_796_000_000_123


def test_month_day_is_utc() -> None:
    # 2023-09-30T23:30:00Z is already October in UTC+8; the contract's MM-DD is UTC.
    assert month_day(1_696_116_600_000) == "09-30"
    assert month_day(0) == "01-01"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1677758442403", 1_677_758_442_403),  # what the APK sends: ms
        ("1677758442", 1_677_758_442_000),  # what the proto says: seconds
        (str(10**11 + 1), 10**11 + 1),
        (str(10**11), 10**14),  # not above the threshold: seconds
        (" 1677758442 ", 1_677_758_442_000),
    ],
)
def test_latest_time_units(raw: str, expected: int) -> None:
    assert feed_cutoff_ms(raw, NOW) == expected


@pytest.mark.parametrize("raw", [None, "", "0", "-5", "abc", "1.5e12", "１２３"])
def test_latest_time_unusable_means_now(raw: str | None) -> None:
    assert feed_cutoff_ms(raw, NOW) == NOW


def test_latest_time_beyond_datetime_range_is_clamped() -> None:
    assert feed_cutoff_ms("9" * 30, NOW) == MAX_MS
