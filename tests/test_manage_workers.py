"""`manage.py serve` with several processes: the start-up warning when nothing shares their state."""

from __future__ import annotations

from pathlib import Path

from manage import per_process_warning
from tests.conftest import make_settings


def test_without_redis_the_warning_names_every_per_process_feature(tmp_path: Path) -> None:
    warning = per_process_warning(make_settings(tmp_path, workers=4))
    assert warning is not None
    assert "REDIS_URL is not set" in warning
    for feature in ("cache", "rate limits", "sign-in throttling", "subscription fan-out"):
        assert feature in warning
    assert "WORKERS=4" in warning


def test_with_redis_there_is_nothing_to_warn_of(tmp_path: Path) -> None:
    assert (
        per_process_warning(make_settings(tmp_path, workers=4, redis_url="redis://127.0.0.1:6379/0")) is None
    )
