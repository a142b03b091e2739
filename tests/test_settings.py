"""Settings fail fast on unsafe defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

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
