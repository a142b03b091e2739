"""Registration, health-check definition, deregistration and the KV read, against the Consul stand-in
(tests/support/consul_standin.py: the three endpoints used, written from Consul's API documentation)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from core.consul import ConsulError, ServiceDefinition, ServiceRegistration, read_kv
from tests.conftest import free_port
from tests.support.consul_standin import ConsulStandIn, consul_standin

DEFINITION = ServiceDefinition(name="douyin-graphql", address="10.0.0.7", port=8080)


@pytest.fixture
def standin() -> Iterator[tuple[ConsulStandIn, str]]:
    with consul_standin() as running:
        yield running


def test_one_id_per_address_with_an_http_check_on_readyz() -> None:
    payload = DEFINITION.payload()
    assert payload["ID"] == "douyin-graphql-10.0.0.7:8080"
    assert (payload["Name"], payload["Address"], payload["Port"]) == ("douyin-graphql", "10.0.0.7", 8080)
    assert payload["Check"] == {
        "HTTP": "http://10.0.0.7:8080/readyz",
        "Method": "GET",
        "Interval": "10s",
        "Timeout": "3s",
        "DeregisterCriticalServiceAfter": "60s",
    }


def test_deregister_after_is_never_below_consuls_minute() -> None:
    short = ServiceDefinition(name="s", address="h", port=1, deregister_after_seconds=5)
    assert short.payload()["Check"]["DeregisterCriticalServiceAfter"] == "60s"
    longer = ServiceDefinition(name="s", address="h", port=1, deregister_after_seconds=600)
    assert longer.payload()["Check"]["DeregisterCriticalServiceAfter"] == "600s"


async def test_register_then_deregister(standin: tuple[ConsulStandIn, str]) -> None:
    consul, address = standin
    registration = ServiceRegistration(address, DEFINITION)
    try:
        assert await registration.register() is True
        assert consul.services[DEFINITION.service_id]["Check"]["HTTP"] == "http://10.0.0.7:8080/readyz"
        await registration.deregister()
        assert consul.services == {}
        await registration.deregister()  # once per process: nothing more is sent
    finally:
        await registration.close()
    assert consul.requests == [
        ("PUT", "/v1/agent/service/register"),
        ("PUT", f"/v1/agent/service/deregister/{DEFINITION.service_id}"),
    ]


async def test_workers_behind_one_address_register_one_service(standin: tuple[ConsulStandIn, str]) -> None:
    consul, address = standin
    workers = [ServiceRegistration(address, DEFINITION) for _ in range(3)]
    try:
        for worker in workers:
            assert await worker.register()
        assert list(consul.services) == [DEFINITION.service_id]
        assert consul.registrations[DEFINITION.service_id] == 3
        # Each worker deregisters as it goes away: the first takes the service off, the others find it
        # gone (404), which is no error.
        for worker in workers:
            await worker.deregister()
        assert consul.services == {}
    finally:
        for worker in workers:
            await worker.close()


async def test_the_token_is_sent(caplog: pytest.LogCaptureFixture) -> None:
    with consul_standin(token="s3cret-token") as (_, address):
        with_token = ServiceRegistration(address, DEFINITION, token="s3cret-token", required=True)
        without = ServiceRegistration(address, DEFINITION, required=True)
        try:
            assert await with_token.register()
            with pytest.raises(ConsulError, match="403"):
                await without.register()
        finally:
            await with_token.close()
            await without.close()
    assert "s3cret-token" not in caplog.text


async def test_an_unreachable_agent_fails_only_when_required(caplog: pytest.LogCaptureFixture) -> None:
    address = f"127.0.0.1:{free_port()}"
    optional = ServiceRegistration(address, DEFINITION, timeout=1)
    required = ServiceRegistration(address, DEFINITION, required=True, timeout=1)
    try:
        with caplog.at_level(logging.WARNING, logger="douyin"):
            assert await optional.register() is False
        assert "not registered in Consul" in caplog.text
        await optional.deregister()  # never registered: nothing to take off
        with pytest.raises(ConsulError, match="unreachable"):
            await required.register()
    finally:
        await optional.close()
        await required.close()


def test_kv_values_under_the_prefix_are_decoded(standin: tuple[ConsulStandIn, str]) -> None:
    consul, address = standin
    consul.put_kv("douyin-graphql/config/FEED_PAGE_SIZE", "10")
    consul.put_kv("douyin-graphql/config/CORS_ORIGINS", "https://app.example.com,https://例え.jp")
    consul.put_kv("douyin-graphql/config/nested/", "")  # a folder
    consul.put_kv("douyin-graphql/other/FEED_PAGE_SIZE", "99")
    assert read_kv(address, "douyin-graphql/config/") == {
        "FEED_PAGE_SIZE": "10",
        "CORS_ORIGINS": "https://app.example.com,https://例え.jp",
    }


def test_no_key_under_the_prefix_is_an_empty_overlay(standin: tuple[ConsulStandIn, str]) -> None:
    _, address = standin
    assert read_kv(address, "douyin-graphql/config/") == {}


def test_an_unreachable_kv_is_an_error_naming_the_address() -> None:
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(ConsulError, match=f"http://{address} is unreachable"):
        read_kv(address, "douyin-graphql/config/", timeout=1)
