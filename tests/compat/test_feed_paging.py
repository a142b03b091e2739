"""Feed paging by time alone: no video skipped or repeated when several share a millisecond."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from compat.feed_paging import page_by_millisecond
from core.clock import iso_from_ms

NOW = 1_700_000_000_000


def videos(*ms: int) -> list[Mapping[str, Any]]:
    return [{"id": str(index), "createdAt": iso_from_ms(value)} for index, value in enumerate(ms)]


def test_a_short_page_continues_after_its_oldest_video() -> None:
    nodes = videos(30, 20)
    assert page_by_millisecond(nodes, 3, NOW) == (nodes, 20)


def test_an_empty_page_continues_from_now() -> None:
    assert page_by_millisecond([], 3, NOW) == ([], NOW)


def test_a_full_page_shows_size_videos_when_the_next_is_older() -> None:
    nodes = videos(40, 30, 20, 10)
    assert page_by_millisecond(nodes, 3, NOW) == (nodes[:3], 20)


def test_videos_sharing_the_last_millisecond_with_the_next_wait_for_the_next_page() -> None:
    nodes = videos(40, 30, 20, 20)
    assert page_by_millisecond(nodes, 3, NOW) == (nodes[:2], 21)


def test_a_page_all_in_one_millisecond_is_shown_anyway() -> None:
    nodes = videos(20, 20, 20, 20)
    assert page_by_millisecond(nodes, 3, NOW) == (nodes[:3], 20)
