"""Input checks shared by the mutations: ids and text lengths (counted in characters)."""

from __future__ import annotations

from resolvers.errors import bad_input

MAX_ID = 2**63 - 1


def parse_id(name: str, value: str) -> int:
    """A decimal database id; anything else is the caller's mistake, not a missing row."""
    text = str(value).strip()
    if not text.isascii() or not text.isdecimal() or len(text) > 19 or int(text) > MAX_ID:
        raise bad_input(f"{name} must be a decimal id")
    return int(text)


def check_length(name: str, value: str, minimum: int, maximum: int) -> str:
    if len(value) < minimum:
        raise bad_input(f"{name} must not be empty" if minimum <= 1 else f"{name} is too short")
    if len(value) > maximum:
        raise bad_input(f"{name} must be at most {maximum} characters")
    return value
