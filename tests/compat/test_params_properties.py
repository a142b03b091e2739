"""Properties of REST parameter parsing, over generated input: every value is either parsed to exactly
what the contract says or refused as BAD_USER_INPUT; nothing else escapes."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import UploadFile

from compat.envelope import CompatError
from compat.params import INT64_MAX, Kind, Param, ParamSources, parse_param
from compat.times import MILLISECONDS_THRESHOLD, feed_cutoff_ms
from core.clock import MAX_MS
from tests.conftest import make_settings

SETTINGS = make_settings(Path("/nonexistent"))
NOW_MS = 1_700_000_000_000
ID = Param("video_id", Kind.ID, required=True)
ACTION = Param("action_type", Kind.ACTION, required=True, choices=(1, 2))
TEXT = Param("comment_text", Kind.TEXT, required=True, max_length_setting="comment_max")
MESSAGE_TIME = Param("pre_msg_time", Kind.MESSAGE_TIME)
LATEST_TIME = Param("latest_time", Kind.LATEST_TIME)
TOKEN = Param("token", Kind.TOKEN, required=True)

# Text as a client may send it: digits, signs, spaces, underscores, non-ASCII digits, anything.
tricky_text = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 -+_.\t\n\u0660\u0661\uff11", max_size=25),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
examples = settings(max_examples=300, derandomize=True, database=None, deadline=None)


def outcome(param: Param, value: str | UploadFile | None) -> object:
    try:
        return parse_param(param, value, SETTINGS, NOW_MS)
    except CompatError as error:
        return error


def refused(result: object, reason: str = "") -> bool:
    """Whether parsing refused the value as bad input, saying `reason`."""
    return isinstance(result, CompatError) and result.code == "BAD_USER_INPUT" and reason in result.message


def plain_decimal(text: str) -> int | None:
    """What the contract calls a number: ASCII decimal digits, surrounding white space allowed."""
    stripped = text.strip()
    return int(stripped) if stripped.isascii() and stripped.isdigit() else None


@examples
@given(tricky_text)
def test_an_id_is_a_positive_int64_in_plain_decimal_or_refused(text: str) -> None:
    number = plain_decimal(text)
    result = outcome(ID, text)
    if text == "":
        assert refused(result, "required")
    elif number is not None and 1 <= number <= INT64_MAX:
        assert result == number
    else:
        assert refused(result, "positive integer id")


@examples
@given(st.integers(min_value=1, max_value=INT64_MAX), st.sampled_from(["", " ", "\t", "\n"]))
def test_every_valid_id_parses_back_to_itself(number: int, padding: str) -> None:
    assert outcome(ID, f"{padding}{number}{padding}") == number


@examples
@given(tricky_text)
def test_an_action_is_one_of_its_choices_or_refused(text: str) -> None:
    result = outcome(ACTION, text)
    if plain_decimal(text) in (1, 2):
        assert result == plain_decimal(text)
    else:
        assert refused(result)


@examples
@given(st.text(max_size=SETTINGS.comment_max + 20))
def test_text_is_kept_exactly_or_refused_with_the_reason(text: str) -> None:
    result = outcome(TEXT, text)
    if text == "":
        assert refused(result, "empty")
    elif "\ufffd" in text:
        assert refused(result, "UTF-8")
    elif len(text) > SETTINGS.comment_max:
        assert refused(result, f"at most {SETTINGS.comment_max}")
    else:
        assert result == text


@examples
@given(st.one_of(st.none(), tricky_text))
def test_the_feed_cursor_never_fails_and_stays_in_range(text: str | None) -> None:
    result = outcome(LATEST_TIME, text)
    assert isinstance(result, int)
    assert 0 < result <= MAX_MS
    number = plain_decimal(text or "")
    if not number:
        assert result == NOW_MS
    else:
        expected = number if number > MILLISECONDS_THRESHOLD else number * 1000
        assert result == min(expected, MAX_MS)
    assert feed_cutoff_ms(text, NOW_MS) == result


@examples
@given(tricky_text)
def test_a_message_cursor_is_epoch_ms_capped_or_refused(text: str) -> None:
    result = outcome(MESSAGE_TIME, text)
    number = plain_decimal(text)
    if text == "":
        assert result == 0
    elif number is None or number > INT64_MAX:
        assert refused(result, "epoch milliseconds")
    else:
        assert result == min(number, MAX_MS)


@examples
@given(st.lists(st.one_of(st.none(), st.just(""), st.text(min_size=1, max_size=5)), max_size=4))
def test_the_first_non_empty_source_wins(values: list[str | None]) -> None:
    sources = ParamSources([{} if value is None else {"name": value} for value in values])
    present = [value for value in values if value]
    if present:
        assert sources.get("name") == present[0]
    elif "" in values:
        assert sources.get("name") == ""
    else:
        assert sources.get("name") is None


def test_a_file_where_text_belongs_is_refused() -> None:
    upload = UploadFile(io.BytesIO(b"x"), filename="x.txt")
    for param in (ID, ACTION, TEXT, MESSAGE_TIME, TOKEN):
        result = outcome(param, upload)
        assert refused(result, "must be text")
