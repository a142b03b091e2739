"""Parameter parsing of the douyin routes: sources in order, types, limits, clear messages."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import UploadFile

from compat.envelope import CompatError
from compat.params import Kind, Param, ParamSources, RawValue, parse_param
from tests.conftest import make_settings

SETTINGS = make_settings(Path("/tmp"))
NOW = 1_796_000_000_000


def parse(param: Param, value: RawValue | None) -> Any:
    return parse_param(param, value, SETTINGS, NOW)


def error_of(param: Param, value: RawValue | None) -> CompatError:
    with pytest.raises(CompatError) as caught:
        parse(param, value)
    return caught.value


def test_sources_are_searched_in_order_and_empty_values_fall_through() -> None:
    sources = ParamSources([{"a": "query", "b": ""}, {"a": "form", "b": "form", "c": ""}])
    assert sources.get("a") == "query"
    assert sources.get("b") == "form"
    assert sources.get("c") == ""
    assert sources.get("d") is None


def test_ids_are_positive_int64() -> None:
    video_id = Param("video_id", Kind.ID, required=True)
    assert parse(video_id, "42") == 42
    assert parse(video_id, " 7 ") == 7
    assert parse(video_id, str(2**63 - 1)) == 2**63 - 1
    for bad in ("abc", "0", "-1", "1.0", "1e3", str(2**63), "４２"):
        error = error_of(video_id, bad)
        assert error.status_code == 2
        assert error.message == "video_id must be a positive integer id"


def test_missing_required_parameter_is_named() -> None:
    error = error_of(Param("video_id", Kind.ID, required=True), None)
    assert (error.status_code, error.message) == (2, "video_id is required")
    assert error_of(Param("video_id", Kind.ID, required=True), "").message == "video_id is required"


def test_missing_optional_parameter_is_none() -> None:
    assert parse(Param("user_id", Kind.ID), None) is None
    assert parse(Param("user_id", Kind.ID), "") is None


def test_missing_required_token_is_an_auth_failure() -> None:
    error = error_of(Param("token", Kind.TOKEN, required=True), None)
    assert error.status_code == 1
    assert parse(Param("token", Kind.TOKEN), "") is None
    assert parse(Param("token", Kind.TOKEN), "abc") == "abc"


def test_action_type_must_be_one_of_the_choices() -> None:
    action = Param("action_type", Kind.ACTION, required=True, choices=(1, 2))
    assert parse(action, "1") == 1
    assert parse(action, "2") == 2
    for bad in ("0", "3", "x", "-1"):
        assert error_of(action, bad).message == "action_type must be 1 or 2"
    send_only = Param("action_type", Kind.ACTION, required=True, choices=(1,))
    assert error_of(send_only, "2").message == "action_type must be 1"


def test_text_limits_come_from_settings() -> None:
    content = Param("content", Kind.TEXT, required=True, max_length_setting="message_max")
    assert parse(content, "你好 👋") == "你好 👋"
    assert parse(content, "x" * SETTINGS.message_max) == "x" * SETTINGS.message_max
    assert error_of(content, "x" * (SETTINGS.message_max + 1)).message == (
        f"content must be at most {SETTINGS.message_max} characters"
    )
    assert error_of(content, "").message == "content must not be empty"
    assert error_of(content, None).message == "content is required"


def test_text_must_not_be_a_file() -> None:
    upload = UploadFile(io.BytesIO(b"x"), filename="x.txt")
    assert (
        error_of(Param("title", Kind.TEXT, required=True), upload).message == "title must be text, not a file"
    )


def test_file_must_be_a_file_part() -> None:
    data = Param("data", Kind.FILE, required=True)
    upload = UploadFile(io.BytesIO(b"x"), filename="bear.mp4")
    assert parse(data, upload) is upload
    assert "multipart" in error_of(data, "bear.mp4").message
    assert error_of(data, None).message == "data is required"


def test_message_time_is_epoch_ms_defaulting_to_zero() -> None:
    pre_msg_time = Param("pre_msg_time", Kind.MESSAGE_TIME)
    assert parse(pre_msg_time, None) == 0
    assert parse(pre_msg_time, "0") == 0
    assert parse(pre_msg_time, "1693532816123") == 1_693_532_816_123
    assert error_of(pre_msg_time, "yesterday").status_code == 2


def test_latest_time_never_fails() -> None:
    latest_time = Param("latest_time", Kind.LATEST_TIME)
    assert parse(latest_time, None) == NOW
    assert parse(latest_time, "nonsense") == NOW
    assert parse(latest_time, "1677758442") == 1_677_758_442_000


@pytest.mark.parametrize("where", ["query", "form"])
async def test_text_that_is_not_utf8_is_refused_not_stored_garbled(
    client: httpx.AsyncClient, where: str
) -> None:
    """Starlette decodes bytes that are not UTF-8 as U+FFFD; storing that would keep a text nobody sent."""
    garbled = "username=al%FFice&password=secret1"
    if where == "query":
        response = await client.post(f"/douyin/user/register/?{garbled}")
    else:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        response = await client.post("/douyin/user/register/", content=garbled, headers=headers)
    body = response.json()
    assert (body["status_code"], body["status_msg"]) == (2, "username is not valid UTF-8 text")
    assert body["token"] == ""
