"""The hostile fan-out document: lists nested under lists (feed → comments → author → videos →
comments), inside every other guard rail (depth 10, aliases and tokens well under their limits)."""

from __future__ import annotations


def fan_out_query(*, first: int = 100, aliases: int = 10) -> str:
    one = (
        f"feed(first: {first}) {{ nodes {{ id comments(first: {first}) {{ nodes {{ id author {{ id"
        f" videos(first: {first}) {{ nodes {{ id comments(first: {first}) {{ nodes {{ id content }} }} }} }}"
        " } } } } }"
    )
    return "{ " + " ".join(f"a{index}: {one}" for index in range(aliases)) + " }"


FAN_OUT = fan_out_query()
