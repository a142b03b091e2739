"""Paging the feed by time alone, as the APK does: it sends back `next_time` as `latest_time` and gets
the videos published strictly before it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.clock import ms_from_iso


def page_by_millisecond(
    nodes: list[Mapping[str, Any]], size: int, now_ms: int
) -> tuple[list[Mapping[str, Any]], int]:
    """At most `size` of `nodes` (newest first, one more fetched than shown) and the `next_time` that
    continues after them. Videos sharing the page's last millisecond with the next video are held back
    for the next page, which then starts at that millisecond: none is skipped, none repeated."""
    if len(nodes) <= size:
        return nodes, ms_from_iso(nodes[-1]["createdAt"]) if nodes else now_ms
    last = ms_from_iso(nodes[size - 1]["createdAt"])
    if ms_from_iso(nodes[size]["createdAt"]) != last:
        return nodes[:size], last
    newer = [node for node in nodes[:size] if ms_from_iso(node["createdAt"]) != last]
    if not newer:  # more videos in one millisecond than a page holds: show a page of them
        return nodes[:size], last
    return newer, last + 1
