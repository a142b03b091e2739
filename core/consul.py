"""Consul through its HTTP API (httpx): the service registration of this process and the KV read behind
the settings overlay (settings_sources.py).

httpx rather than py-consul: httpx is already how the app speaks HTTP, has one client for asyncio (the
registration, on the event loop) and for plain code (the KV read, while settings are built, before any
loop runs), while py-consul's asyncio flavour is an aiohttp extra classed alpha. Three endpoints are used,
and nothing else: `PUT /v1/agent/service/register`, `PUT /v1/agent/service/deregister/:id` and
`GET /v1/kv/:prefix?recurse`.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # settings.py reads the KV through this module
    from settings import Settings

log = logging.getLogger("douyin")

TOKEN_HEADER = "X-Consul-Token"
# Consul refuses a shorter DeregisterCriticalServiceAfter.
MIN_DEREGISTER_AFTER_SECONDS = 60


class ConsulError(Exception):
    """Consul did not answer, or answered with an error: the message names the endpoint and status only."""


def _headers(token: str) -> dict[str, str]:
    return {TOKEN_HEADER: token} if token else {}


def _base_url(address: str) -> str:
    """CONSUL_HTTP_ADDR as the Consul CLI takes it: `host:port` or a full `http(s)://host:port`."""
    address = address.rstrip("/")
    return address if "://" in address else f"http://{address}"


def read_kv(address: str, prefix: str, *, token: str = "", timeout: float = 3.0) -> dict[str, str]:
    """Every key under `prefix`, the prefix taken off, each value decoded from base64 as UTF-8 text.
    No key under the prefix (Consul answers 404) is an empty dict; folders (keys ending in /) and keys
    without a value are left out."""
    url = f"{_base_url(address)}/v1/kv/{prefix}"
    try:
        response = httpx.get(url, params={"recurse": "true"}, headers=_headers(token), timeout=timeout)
    except httpx.HTTPError as error:
        raise ConsulError(
            f"Consul KV at {_base_url(address)} is unreachable ({type(error).__name__})"
        ) from error
    if response.status_code == 404:
        return {}
    if response.status_code != 200:
        raise ConsulError(f"Consul KV read of {prefix!r} answered {response.status_code}")
    values: dict[str, str] = {}
    try:
        entries: list[dict[str, Any]] = response.json()
        for entry in entries:
            key = str(entry["Key"])
            name = key[len(prefix) :] if key.startswith(prefix) else key
            if not name or name.endswith("/") or entry.get("Value") is None:
                continue
            values[name] = base64.b64decode(entry["Value"], validate=True).decode()
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise ConsulError(f"Consul KV read of {prefix!r} answered something else than KV entries") from error
    return values


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """What one address of the service registers: one ID per `host:port`, so that every worker behind
    one address registers the same service (Consul's register replaces an existing ID: idempotent)."""

    name: str
    address: str
    port: int
    check_path: str = "/readyz"
    check_interval_seconds: int = 10
    check_timeout_seconds: int = 3
    deregister_after_seconds: int = MIN_DEREGISTER_AFTER_SECONDS

    @property
    def service_id(self) -> str:
        return f"{self.name}-{self.address}:{self.port}"

    def payload(self) -> dict[str, Any]:
        return {
            "ID": self.service_id,
            "Name": self.name,
            "Address": self.address,
            "Port": self.port,
            "Check": {
                "HTTP": f"http://{self.address}:{self.port}{self.check_path}",
                "Method": "GET",
                "Interval": f"{self.check_interval_seconds}s",
                "Timeout": f"{self.check_timeout_seconds}s",
                "DeregisterCriticalServiceAfter": (
                    f"{max(self.deregister_after_seconds, MIN_DEREGISTER_AFTER_SECONDS)}s"
                ),
            },
        }


class ServiceRegistration:
    """Registers one process's address with the local Consul agent, and takes it off again (once)."""

    def __init__(
        self,
        agent_address: str,
        definition: ServiceDefinition,
        *,
        token: str = "",
        required: bool = False,
        timeout: float = 3.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.definition = definition
        self.required = required
        self._client = httpx.AsyncClient(
            base_url=_base_url(agent_address), headers=_headers(token), timeout=timeout, transport=transport
        )
        self._registered = False

    async def _put(self, path: str, body: dict[str, Any] | None = None, *, gone_ok: bool = False) -> None:
        try:
            response = await self._client.put(path, json=body)
        except httpx.HTTPError as error:
            raise ConsulError(f"Consul agent unreachable on PUT {path} ({type(error).__name__})") from error
        # 404 on deregistration: another worker on this address took the service off first.
        if response.status_code == 404 and gone_ok:
            return
        if response.status_code != 200:
            raise ConsulError(f"Consul agent answered {response.status_code} to PUT {path}")

    async def register(self) -> bool:
        """True once registered. A failure raises when Consul is required, else it is logged and the
        process serves unregistered."""
        try:
            await self._put("/v1/agent/service/register", self.definition.payload())
        except ConsulError as error:
            if self.required:
                raise
            log.warning("not registered in Consul (CONSUL_REQUIRED=false): %s", error)
            return False
        self._registered = True
        log.info("registered in Consul as %s", self.definition.service_id)
        return True

    async def deregister(self) -> None:
        """Once per process, at the start of going away; a failure is logged (the agent drops the
        service anyway once its check has been critical for DeregisterCriticalServiceAfter)."""
        if not self._registered:
            return
        self._registered = False
        try:
            await self._put(f"/v1/agent/service/deregister/{self.definition.service_id}", gone_ok=True)
        except ConsulError as error:
            log.warning("Consul deregistration failed: %s", error)
            return
        log.info("deregistered %s from Consul", self.definition.service_id)

    async def close(self) -> None:
        await self._client.aclose()


def registration_from(settings: Settings) -> ServiceRegistration | None:
    """This process's registration, or None when Consul is off (no CONSUL_HTTP_ADDR)."""
    if not settings.consul_http_addr:
        return None
    definition = ServiceDefinition(
        name=settings.consul_service_name,
        address=settings.advertised_address,
        port=settings.port,
        check_interval_seconds=settings.consul_check_interval_seconds,
        deregister_after_seconds=settings.consul_deregister_after_seconds,
    )
    return ServiceRegistration(
        settings.consul_http_addr,
        definition,
        token=settings.consul_http_token,
        required=settings.consul_required,
    )
