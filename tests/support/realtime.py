"""Helpers for the subscription and fan-out tests: a GraphQL WebSocket client for both protocols, the app
served by uvicorn in this event loop or in processes of its own, and a throwaway Redis server that a test
may stop and start again (the shared Redis is never touched)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from starlette.types import ASGIApp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import TEST_JWT_SECRET, free_port, require_service

ROOT = Path(__file__).resolve().parents[2]
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
PROTOCOLS = (TRANSPORT_WS, LEGACY_WS)
MESSAGE_RECEIVED = "subscription { messageReceived { id content createdAt sender { id } recipient { id } } }"


async def until(check: Callable[[], bool], within: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class GraphQLSocket:
    """One client connection, speaking `graphql-transport-ws` or the legacy `graphql-ws`."""

    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol

    @classmethod
    async def open(
        cls,
        url: str,
        protocol: str = TRANSPORT_WS,
        *,
        headers: dict[str, str] | None = None,
        origin: str | None = None,
    ) -> GraphQLSocket:
        connection = await connect(
            url,
            subprotocols=[protocol],  # type: ignore[list-item]
            additional_headers=headers,
            origin=origin,  # type: ignore[arg-type]
            open_timeout=10,
            ping_interval=None,
            max_queue=None,
        )
        return cls(connection, protocol)

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(message).decode())

    async def receive(self, within: float = 5.0) -> dict[str, Any]:
        """The next protocol message, keep-alives skipped (and pings answered)."""
        while True:
            raw = await asyncio.wait_for(self.connection.recv(), within)
            # Text frames: a browser's graphql-ws client cannot read binary ones.
            assert isinstance(raw, str), "the server sent a binary frame"
            message: dict[str, Any] = orjson.loads(raw)
            if message["type"] == "ka":
                continue
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def init(self, token: str | None = None, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        if payload is None:
            payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, query: str = MESSAGE_RECEIVED, operation_id: str = "1") -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send({"type": kind, "id": operation_id, "payload": {"query": query}})

    async def next_payload(self, within: float = 5.0) -> dict[str, Any]:
        """The next result (`next` / `data`) payload; fails on anything else."""
        message = await self.receive(within)
        assert message["type"] in ("next", "data"), message
        payload: dict[str, Any] = message["payload"]
        return payload

    async def next_message(self, within: float = 5.0) -> dict[str, Any]:
        payload = await self.next_payload(within)
        assert "errors" not in payload, payload
        message: dict[str, Any] = payload["data"]["messageReceived"]
        return message

    async def messages(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        received: list[dict[str, Any]] = []
        while len(received) < count:
            received.append(await self.next_message(max(0.01, deadline - time.monotonic())))
        return received

    async def nothing_more(self, seconds: float = 0.3) -> None:
        with pytest.raises(TimeoutError):
            extra = await self.receive(seconds)
            raise AssertionError(f"unexpected message {extra}")

    async def close_reason(self, within: float = 5.0) -> tuple[int | None, str | None]:
        """Waits for the server to close the connection; its close code and reason."""
        try:
            while True:
                await asyncio.wait_for(self.connection.recv(), within)
        except ConnectionClosed as closed:
            return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, None)

    async def close(self) -> None:
        await self.connection.close()

    def vanish(self) -> None:
        """Gone without a close frame, as a phone that loses its network."""
        self.connection.transport.abort()


async def subscribed(url: str, token: str, protocol: str = TRANSPORT_WS) -> GraphQLSocket:
    socket = await GraphQLSocket.open(url, protocol)
    ack = await socket.init(token)
    assert ack["type"] == "connection_ack", ack
    await socket.subscribe()
    return socket


async def handshake_refused(url: str, origin: str) -> int:
    """The HTTP status of a refused WebSocket handshake."""
    with pytest.raises(InvalidStatus) as refused:
        await GraphQLSocket.open(url, origin=origin)
    return int(refused.value.response.status_code)


@asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """The app behind a real uvicorn server in this event loop; yields `host:port`. The app's services
    belong to the caller (no lifespan)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started or task.done(), 10, "uvicorn to start")
        if task.done():
            task.result()
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def rest_send(http: httpx.AsyncClient, token: str, to_user_id: int, content: str) -> None:
    """`message/action` on the client's server; fails unless it succeeded."""
    params: dict[str, str | int] = {
        "token": token,
        "to_user_id": to_user_id,
        "action_type": 1,
        "content": content,
    }
    response = await http.post("/douyin/message/action/", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["status_code"] == 0, response.text


@contextmanager
def app_process(tmp_path: Path, environment: dict[str, str]) -> Iterator[str]:
    """`manage.py serve` (uvicorn, one worker) in a process of its own; yields `host:port`."""
    port = free_port()
    env = {
        **os.environ,
        "ENV": "test",
        "JWT_SECRET": TEST_JWT_SECRET,
        "DATA_DIR": str(tmp_path / f"var-{port}"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "SEED_DEMO": "false",
        "PUBLIC_BASE_URL": "http://testserver",
        **environment,
    }
    process = subprocess.Popen([sys.executable, "manage.py", "serve"], cwd=ROOT, env=env)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://{address}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app process did not start")
            time.sleep(0.05)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class ThrowawayRedis:
    """A redis-server of the test's own on a free port, without persistence, that can be stopped and
    started again on the same port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        require_service("redis-server binary", binary is not None)
        self.binary = str(binary)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
