"""The DateTime scalar and cursors, without a server."""

from __future__ import annotations

from datetime import UTC

import pytest

from core.clock import ms_from_datetime
from resolvers.errors import DomainError, ErrorCode
from resolvers.pagination import PageRequest, Position, decode_cursor, encode_cursor
from resolvers.validation import parse_id
from schema.scalars import parse_datetime


def test_datetime_parsing_is_strict_but_accepts_offsets() -> None:
    assert ms_from_datetime(parse_datetime("2026-12-01T02:40:00.123Z")) == 1_796_092_800_123
    assert ms_from_datetime(parse_datetime("2026-12-01T10:40:00.123+08:00")) == 1_796_092_800_123
    assert ms_from_datetime(parse_datetime("2026-12-01T02:40:00Z")) == 1_796_092_800_000
    # Sub-millisecond digits are dropped, never rounded up into the next millisecond.
    assert ms_from_datetime(parse_datetime("2026-12-01T02:40:00.123999Z")) == 1_796_092_800_123
    assert parse_datetime("2026-12-01T02:40:00Z").tzinfo == UTC
    for bad in (
        "2026-12-01",
        "2026-12-01T02:40:00",
        "2026-02-30T00:00:00Z",
        "1796092800123",
        " 2026-12-01T02:40:00Z",
        5,
    ):
        with pytest.raises(ValueError, match="DateTime"):
            parse_datetime(bad)


def test_cursors_are_opaque_and_round_trip() -> None:
    position = Position(1_796_092_800_123, 42)
    cursor = encode_cursor(position)
    assert "42" not in cursor
    assert decode_cursor(cursor) == position


@pytest.mark.parametrize("cursor", ["", "abc", encode_cursor(Position(1, 2))[:-2] + "!!", "YzE6eDp5"])
def test_malformed_cursors_are_bad_input(cursor: str) -> None:
    with pytest.raises(DomainError) as raised:
        decode_cursor(cursor)
    assert raised.value.code is ErrorCode.BAD_USER_INPUT


def test_page_request_limits() -> None:
    assert PageRequest.parse(None, None, 100, 30).first == 30
    assert PageRequest.parse(100, None, 100, 30).fetch_limit == 101
    with pytest.raises(DomainError) as too_big:
        PageRequest.parse(101, None, 100, 30)
    assert too_big.value.code is ErrorCode.QUERY_TOO_COMPLEX
    with pytest.raises(DomainError) as negative:
        PageRequest.parse(-1, None, 100, 30)
    assert negative.value.code is ErrorCode.BAD_USER_INPUT


@pytest.mark.parametrize("value", ["", "abc", "1.5", "-3", "١٢", "99999999999999999999", " "])
def test_ids_must_be_decimal(value: str) -> None:
    with pytest.raises(DomainError) as raised:
        parse_id("id", value)
    assert raised.value.code is ErrorCode.BAD_USER_INPUT


def test_ids_parse() -> None:
    assert parse_id("id", "42") == 42
    assert parse_id("id", "9223372036854775807") == 2**63 - 1
