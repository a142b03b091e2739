"""Request parameters: where each comes from, what it must look like, and what it becomes.

The douyin routes take every parameter from the query string first and the form body second (publish:
the reverse), as the APK and the official tests send them. A `Param` describes one parameter; the same
descriptions drive parsing here and the OpenAPI document, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from starlette.datastructures import UploadFile

from compat.envelope import CompatError, bad_parameter
from compat.times import feed_cutoff_ms
from core.clock import MAX_MS
from settings import Settings

INT64_MAX = 2**63 - 1
RawValue = str | UploadFile


class Kind(Enum):
    ID = "id"  # a positive int64, sent as decimal text
    ACTION = "action"  # action_type: one of the route's choices
    TEXT = "text"  # non-empty text, at most a setting's length
    TOKEN = "token"  # the token from register/login; empty = none
    LATEST_TIME = "latest_time"  # feed cursor: ms or seconds, anything unusable = now
    MESSAGE_TIME = "message_time"  # chat cursor: epoch ms, 0 = whole conversation
    FILE = "file"  # a multipart file part


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    kind: Kind
    required: bool = False
    description: str = ""
    choices: tuple[int, ...] = ()
    # Name of the `Settings` field holding the maximum length of a TEXT parameter.
    max_length_setting: str | None = None

    def max_length(self, settings: Settings) -> int | None:
        if self.max_length_setting is None:
            return None
        value = getattr(settings, self.max_length_setting)
        assert isinstance(value, int)
        return value


class ParamSources:
    """Looks a parameter up in each source in order; the first non-empty value wins."""

    def __init__(self, sources: Sequence[Mapping[str, RawValue]]) -> None:
        self._sources = sources

    def get(self, name: str) -> RawValue | None:
        seen_empty = False
        for source in self._sources:
            value = source.get(name)
            if value is None:
                continue
            if isinstance(value, str) and value == "":
                seen_empty = True
                continue
            return value
        return "" if seen_empty else None


def _text_of(param: Param, value: RawValue) -> str:
    if isinstance(value, UploadFile):
        raise bad_parameter(f"{param.name} must be text, not a file")
    return value


def _parse_int(param: Param, value: RawValue) -> int | None:
    text = _text_of(param, value).strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if number <= INT64_MAX else None


def _parse_id(param: Param, value: RawValue) -> int:
    number = _parse_int(param, value)
    if number is None or number < 1:
        raise bad_parameter(f"{param.name} must be a positive integer id")
    return number


def _parse_action(param: Param, value: RawValue) -> int:
    number = _parse_int(param, value)
    if number is None or number not in param.choices:
        allowed = " or ".join(str(choice) for choice in param.choices)
        raise bad_parameter(f"{param.name} must be {allowed}")
    return number


# What Starlette's query and form parsers put in place of bytes that are not UTF-8.
REPLACEMENT_CHARACTER = "\ufffd"


def _parse_text(param: Param, value: RawValue, settings: Settings) -> str:
    text = _text_of(param, value)
    if REPLACEMENT_CHARACTER in text:
        # Stored as sent, it would be a different text from the one the client meant.
        raise bad_parameter(f"{param.name} is not valid UTF-8 text")
    limit = param.max_length(settings)
    if limit is not None and len(text) > limit:
        raise bad_parameter(f"{param.name} must be at most {limit} characters")
    return text


def _parse_message_time(param: Param, value: RawValue) -> int:
    number = _parse_int(param, value)
    if number is None:
        raise bad_parameter(f"{param.name} must be epoch milliseconds (0 for the whole conversation)")
    return min(number, MAX_MS)


def _parse_file(param: Param, value: RawValue) -> UploadFile:
    if not isinstance(value, UploadFile):
        raise bad_parameter(f"{param.name} must be a file part of a multipart/form-data body")
    return value


def _missing(param: Param, now_ms: int) -> Any:
    if param.required:
        if param.kind is Kind.TOKEN:
            raise CompatError("UNAUTHENTICATED", "token is required: sign in first")
        raise bad_parameter(f"{param.name} is required")
    if param.kind is Kind.LATEST_TIME:
        return now_ms
    if param.kind is Kind.MESSAGE_TIME:
        return 0
    return None


def parse_param(param: Param, value: RawValue | None, settings: Settings, now_ms: int) -> Any:
    """The parsed value of one parameter; raises `CompatError` (BAD_USER_INPUT) when it is malformed."""
    if param.kind is Kind.LATEST_TIME:
        # The contract: absent, 0 or unparseable all mean now; never an error.
        raw = value if isinstance(value, str) else None
        return feed_cutoff_ms(raw, now_ms)
    if value is None or value == "":
        if value == "" and param.required and param.kind is Kind.TEXT:
            raise bad_parameter(f"{param.name} must not be empty")
        return _missing(param, now_ms)
    if param.kind is Kind.ID:
        return _parse_id(param, value)
    if param.kind is Kind.ACTION:
        return _parse_action(param, value)
    if param.kind is Kind.TEXT:
        return _parse_text(param, value, settings)
    if param.kind is Kind.TOKEN:
        return _text_of(param, value)
    if param.kind is Kind.MESSAGE_TIME:
        return _parse_message_time(param, value)
    return _parse_file(param, value)


def parse_params(
    params: Iterable[Param], sources: ParamSources, settings: Settings, now_ms: int
) -> dict[str, Any]:
    return {param.name: parse_param(param, sources.get(param.name), settings, now_ms) for param in params}
