"""Slow and idle clients are dropped by the real server (uvicorn through `manage.py serve`), over real
sockets: an idle connection and slow headers within HEADER_READ_TIMEOUT_SECONDS, a stalled body within
BODY_READ_TIMEOUT_SECONDS (408), and a body still trickling in does not keep the process alive after
SIGTERM beyond GRACEFUL_SHUTDOWN_SECONDS."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import free_port
from tests.support.servers import ROOT, embedded_environment, manage, serving

TIMEOUTS = {"HEADER_READ_TIMEOUT_SECONDS": "1", "BODY_READ_TIMEOUT_SECONDS": "1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    with serving(tmp_path_factory.mktemp("slow"), TIMEOUTS) as base:
        address = urlsplit(base)
        assert address.hostname is not None
        assert address.port is not None
        yield address.hostname, address.port


def _closed_within(connection: socket.socket, seconds: float) -> tuple[float, bytes]:
    """(how long until the server closed the connection, what it sent before closing)."""
    started = time.monotonic()
    connection.settimeout(seconds)
    received = b""
    try:
        while chunk := connection.recv(4096):
            received += chunk
    except TimeoutError:
        pytest.fail(f"still open after {seconds} s; received {received!r}")
    except ConnectionResetError:
        pass
    return time.monotonic() - started, received


def test_an_idle_connection_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as connection:
        elapsed, received = _closed_within(connection, 5)
    assert elapsed < 3
    assert received.startswith(b"HTTP/1.1 408")


def test_headers_sent_a_byte_at_a_time_are_cut_off(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as connection:
        started = time.monotonic()
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            while time.monotonic() - started < 5:
                connection.sendall(b"X")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        _closed_within(connection, 5)
        assert time.monotonic() - started < 4


def test_a_stalled_body_gets_a_408_and_the_connection_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as connection:
        head = (
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n"
        )
        connection.sendall(head + b'{"query": "{')
        elapsed, received = _closed_within(connection, 5)
    assert elapsed < 3
    assert received.startswith(b"HTTP/1.1 408"), received
    assert b"connection: close" in received.lower()


def test_prompt_clients_are_not_cut_off(server: tuple[str, int]) -> None:
    host, port = server
    with httpx.Client(base_url=f"http://{host}:{port}") as client:
        for _ in range(3):
            # Keep-alive: each request on the same connection, after a pause shorter than the timeouts.
            assert client.get("/healthz").status_code == 200
            time.sleep(0.5)
        body = b'{"query": "{ __typename }"}'
        response = client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 200
        assert response.json() == {"data": {"__typename": "Query"}}


def test_a_trickling_body_does_not_hold_the_process_after_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = embedded_environment(tmp_path, port, {"GRACEFUL_SHUTDOWN_SECONDS": "2", **TIMEOUTS})
    manage("migrate", env)
    process = subprocess.Popen([sys.executable, "manage.py", "serve"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
            # Each piece well within the body timeout, so only the shutdown bound can end it.
            for _ in range(3):
                connection.sendall(b" ")
                time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            try:
                while process.poll() is None and time.monotonic() - stopping < 15:
                    connection.sendall(b" ")
                    time.sleep(0.3)
            except (BrokenPipeError, ConnectionResetError):
                pass
            process.wait(timeout=15)
            assert time.monotonic() - stopping < 2 + 3
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
