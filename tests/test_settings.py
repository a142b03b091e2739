"""Settings fail fast on unsafe defaults."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from core import limits
from core.limits import TEXT_LIMITS, TextLimit
from settings import DEFAULT_JWT_SECRET, Settings


def test_default_secret_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv("ENV", "production")
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings()


def test_default_secret_is_allowed_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv("ENV", "development")
    assert Settings().jwt_secret == DEFAULT_JWT_SECRET


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="16 characters"):
        Settings(env="production", jwt_secret="short")


def test_environment_configures_the_embedded_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENV", "development")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.port == 9999
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'douyin.db'}"
    assert settings.media_dir == (tmp_path / "media").resolve()


def _settings(**limits: int | str) -> Settings:
    values: dict[str, Any] = {"env": "test", "jwt_secret": "x" * 32, **limits}
    return Settings(**values)


def test_a_limit_wider_than_its_column_is_refused() -> None:
    # users.name is VARCHAR(32): MariaDB would refuse a 40-character name as an internal error.
    refusal = r"USERNAME_MAX=64 is more than the users\.name column holds \(32 characters\)"
    with pytest.raises(ValidationError, match=refusal):
        _settings(username_max=64)


STORED_LIMITS = [limit for limit in TEXT_LIMITS if limit.setting is not None and limit.width is not None]


@pytest.mark.parametrize("limit", STORED_LIMITS, ids=lambda limit: str(limit.setting))
def test_every_stored_limit_may_reach_its_column_width_and_no_further(limit: TextLimit) -> None:
    assert limit.setting is not None
    assert limit.width is not None
    assert getattr(_settings(**{limit.setting: limit.width}), limit.setting) == limit.width
    with pytest.raises(ValidationError, match=f"{limit.setting.upper()}={limit.width + 1} .*{limit.column}"):
        _settings(**{limit.setting: limit.width + 1})


@pytest.mark.parametrize("limit", [limit for limit in TEXT_LIMITS if limit.setting is not None])
def test_limit_settings_default_to_the_table(limit: TextLimit) -> None:
    assert limit.setting is not None
    assert Settings.model_fields[limit.setting].default == limit.default_max
    assert limit.width is None or limit.default_max <= limit.width


def test_limits_below_one_or_a_minimum_above_its_maximum_are_refused() -> None:
    with pytest.raises(ValidationError, match="COMMENT_MAX=0 must be at least 1"):
        _settings(comment_max=0)
    with pytest.raises(ValidationError, match="PASSWORD_MIN must not be more than PASSWORD_MAX"):
        _settings(password_min=20, password_max=10)


def test_the_limits_table_imports_only_the_standard_library() -> None:
    # settings.py imports it, and every layer imports settings.py: it must stay a leaf.
    tree = ast.parse(Path(limits.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {name.split(".")[0] for name in imported} - {"__future__"} <= sys.stdlib_module_names


def test_a_refused_start_never_prints_the_values_it_read() -> None:
    short_secret = "s3cr3t-ab"
    with pytest.raises(ValueError, match="16 characters") as refused:
        Settings(env="production", jwt_secret=short_secret, s3_secret_key="minio-secret-key")
    assert short_secret not in str(refused.value)
    assert "minio-secret-key" not in str(refused.value)
    with pytest.raises(ValueError, match="port") as malformed:
        Settings(env="test", jwt_secret="x" * 32, port="hunter2-not-a-port")
    assert "hunter2" not in str(malformed.value)


def test_a_rate_limit_that_does_not_read_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="RATE_LIMIT_COMMENT_PER_USER is not a rate limit"):
        _settings(rate_limit_comment_per_user="lots")
    assert _settings(rate_limit_comment_per_user="").rate_limit_comment_per_user == ""
