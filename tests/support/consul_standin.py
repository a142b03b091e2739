"""A STAND-IN for a Consul agent: exactly the three HTTP endpoints the app uses, written from Consul's
HTTP API documentation (no Consul agent can be installed on the machines the tests run on). It is not
Consul: it runs no health checks, has no catalog, ACLs beyond one token, blocking queries or datacenters.

- `PUT /v1/agent/service/register`: a JSON service definition; `Name` is required; an ID already
  registered is replaced (idempotent); an HTTP check needs an `Interval`; DeregisterCriticalServiceAfter
  below the one-minute minimum is raised to it, as Consul does. 200 with an empty body; 400 on a bad
  definition.
- `PUT /v1/agent/service/deregister/:service_id`: 200; 404 for an ID that is not registered.
- `GET /v1/kv/:key` (`?recurse`: every key with that prefix): a JSON array of entries (`Key`, `Value`
  base64-encoded or null, `Flags`, `CreateIndex`, `ModifyIndex`, `LockIndex`); 404 when no key matches.

With a token set, a request without the same `X-Consul-Token` gets 403 ("Permission denied"), as with
ACLs on. Every request is recorded (method, path), for the tests to assert on.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.conftest import free_port

_DURATION = re.compile(r"^(\d+)(ms|s|m|h)$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
MIN_DEREGISTER_AFTER = 60.0


def duration_seconds(text: str) -> float:
    """A Go duration as Consul's definitions carry them (`10s`, `1m`, `250ms`)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"invalid duration {text!r}")
    return int(match.group(1)) * _SECONDS[match.group(2)]


@dataclass
class ConsulStandIn:
    token: str = ""
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    kv: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Registrations received per service ID (every worker of one address registers the same ID).
    registrations: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _index: int = 1

    def put_kv(self, key: str, value: str) -> None:
        with self.lock:
            self.kv[key] = value.encode()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/agent/service/register", self._register, methods=["PUT"]),
                Route("/v1/agent/service/deregister/{service_id:path}", self._deregister, methods=["PUT"]),
                Route("/v1/kv/{key:path}", self._read_kv, methods=["GET"]),
            ]
        )

    def _refused(self, request: Request) -> Response | None:
        with self.lock:
            self.requests.append((request.method, request.url.path))
        if self.token and request.headers.get("x-consul-token") != self.token:
            return PlainTextResponse("Permission denied", status_code=403)
        return None

    async def _register(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        try:
            definition = await request.json()
        except ValueError:
            return PlainTextResponse("Request decode failed", status_code=400)
        if not isinstance(definition, dict) or not definition.get("Name"):
            return PlainTextResponse("Missing service name", status_code=400)
        check = definition.get("Check")
        if isinstance(check, dict):
            if check.get("HTTP") and not check.get("Interval"):
                return PlainTextResponse("Interval must be > 0 for Script, HTTP, or TCP checks", 400)
            try:
                if check.get("Interval"):
                    duration_seconds(str(check["Interval"]))
                after = check.get("DeregisterCriticalServiceAfter")
                if after and duration_seconds(str(after)) < MIN_DEREGISTER_AFTER:
                    check["DeregisterCriticalServiceAfter"] = "1m"
            except ValueError as error:
                return PlainTextResponse(str(error), status_code=400)
        service_id = str(definition.get("ID") or definition["Name"])
        with self.lock:
            self.services[service_id] = definition
            self.registrations[service_id] = self.registrations.get(service_id, 0) + 1
        return Response(status_code=200)

    async def _deregister(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        service_id = request.path_params["service_id"]
        with self.lock:
            if self.services.pop(service_id, None) is None:
                return PlainTextResponse(f'Unknown service ID "{service_id}"', status_code=404)
        return Response(status_code=200)

    async def _read_kv(self, request: Request) -> Response:
        if refused := self._refused(request):
            return refused
        key = request.path_params["key"]
        recurse = "recurse" in request.query_params
        with self.lock:
            keys = sorted(name for name in self.kv if (name.startswith(key) if recurse else name == key))
            entries = [
                {
                    "Key": name,
                    "Value": base64.b64encode(self.kv[name]).decode() if self.kv[name] else None,
                    "Flags": 0,
                    "CreateIndex": self._index,
                    "ModifyIndex": self._index,
                    "LockIndex": 0,
                }
                for name in keys
            ]
        if not entries:
            return Response(status_code=404)
        return JSONResponse(entries)


@contextmanager
def consul_standin(token: str = "") -> Iterator[tuple[ConsulStandIn, str]]:
    """The stand-in served by uvicorn in a thread on a free loopback port; yields it and `host:port`."""
    standin = ConsulStandIn(token=token)
    port = free_port()
    config = uvicorn.Config(standin.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="consul-standin", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the Consul stand-in did not start")
        time.sleep(0.02)
    try:
        yield standin, f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
