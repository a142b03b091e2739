"""Tokens are verified once and remembered, and a remembered token still stops working when it expires,
when its signature is not the server's, or when the server's secret is another."""

from __future__ import annotations

from pathlib import Path

import pytest
from jose import jwt

from resolvers.auth import issue_token, user_id_from_token
from tests.conftest import make_settings


def _token(secret: str, subject: str, expires: int) -> str:
    return str(jwt.encode({"sub": subject, "exp": expires}, secret, algorithm="HS256"))


def test_a_verified_token_stops_naming_its_user_once_it_expires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    now = 2_000_000_000
    monkeypatch.setattr("resolvers.auth.time.time", lambda: float(now))
    token = _token(settings.jwt_secret, "7", now + 10)
    assert user_id_from_token(settings, token) == 7
    now += 10  # the last second it is valid in
    assert user_id_from_token(settings, token) == 7
    now += 1
    assert user_id_from_token(settings, token) is None


def test_a_token_is_verified_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path)
    token = _token(settings.jwt_secret, "42", 4_000_000_042)  # no other test makes this one
    calls: list[str] = []
    decode = jwt.decode

    def counted(*args: object, **kwargs: object) -> object:
        calls.append("decode")
        return decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("resolvers.auth.jwt.decode", counted)
    assert [user_id_from_token(settings, token) for _ in range(3)] == [42, 42, 42]
    assert calls == ["decode"]


def test_a_token_signed_with_another_secret_names_nobody(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    token = issue_token(settings, 5)
    assert user_id_from_token(settings, token) == 5
    other = make_settings(tmp_path, jwt_secret="another-secret-0123456789abcdef0123")
    assert user_id_from_token(other, token) is None
    assert user_id_from_token(settings, token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None


def test_a_subject_that_is_no_user_id_names_nobody(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert user_id_from_token(settings, _token(settings.jwt_secret, "alice", 4_000_000_000)) is None
