"""Input checks shared by the mutations: ids, and text (length counted in characters, no control
characters, valid Unicode)."""

from __future__ import annotations

import re
import unicodedata

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


# Lone surrogates cannot be stored or hashed (a JSON "\ud800" decodes to one); control characters
# corrupt what other clients display. Multi-line text keeps newlines and tabs.
_NOT_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_MULTI_LINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def check_text(name: str, value: str, minimum: int, maximum: int, *, multiline: bool = False) -> str:
    """`value` unchanged when it is acceptable text; BAD_USER_INPUT saying why when it is not."""
    check_length(name, value, minimum, maximum)
    if minimum >= 1 and not value.strip():
        raise bad_input(f"{name} must not be blank")
    found = (_NOT_MULTI_LINE if multiline else _NOT_SINGLE_LINE).search(value)
    if found is not None:
        if "\ud800" <= found.group() <= "\udfff":
            raise bad_input(f"{name} is not valid Unicode text")
        raise bad_input(f"{name} must not contain control characters")
    return value


def normalise_name(value: str) -> str:
    """Names compare as people read them: NFC, so one spelling of "é" is the same name as the other."""
    return unicodedata.normalize("NFC", value)


def check_name(name: str, value: str, minimum: int, maximum: int) -> str:
    """A name others see and type: acceptable text, normalised, with no invisible format characters
    (zero-width spaces and joiners, bidi overrides) that would let two names look the same."""
    normalised = normalise_name(value)
    check_text(name, normalised, minimum, maximum)
    if normalised != normalised.strip():
        raise bad_input(f"{name} must not start or end with spaces")
    if any(unicodedata.category(character) == "Cf" for character in normalised):
        raise bad_input(f"{name} must not contain invisible formatting characters")
    return normalised
