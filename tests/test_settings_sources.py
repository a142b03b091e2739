"""Settings overlaid from Consul's KV (settings_sources.py), against the Consul stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from settings_sources import ConsulStartupError
from tests.conftest import free_port, make_settings
from tests.support.consul_standin import ConsulStandIn, consul_standin

PREFIX = "douyin-graphql/config/"


@pytest.fixture
def standin() -> Iterator[tuple[ConsulStandIn, str]]:
    with consul_standin() as running:
        yield running


def test_keys_named_like_variables_overlay_the_defaults(
    standin: tuple[ConsulStandIn, str], tmp_path: Path
) -> None:
    consul, address = standin
    consul.put_kv(f"{PREFIX}FEED_PAGE_SIZE", "10")
    consul.put_kv(f"{PREFIX}LOGIN_MAX_FAILURES", "4")
    consul.put_kv(f"{PREFIX}WS_PER_MESSAGE_DEFLATE", "true")
    settings = make_settings(tmp_path, consul_http_addr=address)
    assert (settings.feed_page_size, settings.login_max_failures) == (10, 4)
    assert settings.ws_per_message_deflate is True
    assert make_settings(tmp_path).feed_page_size == 30  # Consul off without CONSUL_HTTP_ADDR


def test_the_environment_wins_over_consul(
    standin: tuple[ConsulStandIn, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    consul, address = standin
    consul.put_kv(f"{PREFIX}FEED_PAGE_SIZE", "10")
    consul.put_kv(f"{PREFIX}MAX_PAGE_SIZE", "50")
    monkeypatch.setenv("FEED_PAGE_SIZE", "7")
    monkeypatch.setenv("CONSUL_HTTP_ADDR", address)
    settings = make_settings(tmp_path)
    assert (settings.feed_page_size, settings.max_page_size) == (7, 50)


def test_another_prefix_and_the_token_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with consul_standin(token="kv-token-0123456789") as (consul, address):
        consul.put_kv("team/douyin/FEED_PAGE_SIZE", "12")
        monkeypatch.setenv("CONSUL_KV_PREFIX", "team/douyin/")
        monkeypatch.setenv("CONSUL_HTTP_TOKEN", "kv-token-0123456789")
        assert make_settings(tmp_path, consul_http_addr=address).feed_page_size == 12


def test_unknown_keys_and_consul_settings_in_the_kv_are_ignored(
    standin: tuple[ConsulStandIn, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    consul, address = standin
    consul.put_kv(f"{PREFIX}NO_SUCH_SETTING", "1")
    consul.put_kv(f"{PREFIX}CONSUL_HTTP_ADDR", "elsewhere:8500")
    settings = make_settings(tmp_path, consul_http_addr=address)
    assert settings.consul_http_addr == address
    assert "NO_SUCH_SETTING is not a setting" in caplog.text


def test_a_bad_value_in_consul_is_refused_like_a_bad_variable(
    standin: tuple[ConsulStandIn, str], tmp_path: Path
) -> None:
    consul, address = standin
    consul.put_kv(f"{PREFIX}FEED_PAGE_SIZE", "ten")
    with pytest.raises(ValidationError, match="feed_page_size"):
        make_settings(tmp_path, consul_http_addr=address)


def test_an_unreachable_consul_is_a_start_up_error_only_when_required(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    address = f"127.0.0.1:{free_port()}"
    assert make_settings(tmp_path, consul_http_addr=address).feed_page_size == 30
    assert "settings from the environment only" in caplog.text
    with pytest.raises(ConsulStartupError, match=f"CONSUL_REQUIRED=true and Consul KV at http://{address}"):
        make_settings(tmp_path, consul_http_addr=address, consul_required=True)


def test_required_consul_needs_an_address(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CONSUL_REQUIRED=true needs CONSUL_HTTP_ADDR"):
        make_settings(tmp_path, consul_required=True)
