"""The scale-out harness: HAProxy (deploy/haproxy.cfg, as docker-compose.yml runs it) in front of two
`manage.py serve` processes on one MariaDB, one Redis and one S3 endpoint (moto), with `/readyz` as the
balancer's health check. Pieces a test can act on: each app process (SIGTERM, start again), the balancer's
view of its servers (its stats socket), and a TCP proxy between one process and MariaDB that can cut that
process's database connections.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.conftest import free_port, require_service
from tests.support.servers import SERVICE_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
# The balancer checks every CHECK_INTERVAL and marks a server down after two failed checks: a process
# going away says "not ready" for DRAIN_SECONDS first, so no request reaches it once it stops accepting.
CHECK_INTERVAL = "300ms"
DRAIN_SECONDS = 1.5


def _wait(check: object, within: float, what: str, pause: float = 0.05) -> None:
    assert callable(check)
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(pause)


class AppProcess:
    """`manage.py serve` on a fixed port, which can be stopped (SIGTERM) and started again."""

    def __init__(self, name: str, port: int, environment: Mapping[str, str], log_path: Path) -> None:
        self.name = name
        self.port = port
        self.environment = dict(environment)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve"],
                cwd=ROOT,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, within: float = 120) -> None:
        def started() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited during start-up; see {self.log_path}")
            return self.ready()

        _wait(started, within, f"{self.name} to be ready", pause=0.1)

    def sigterm(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait_exit(self, within: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout=within)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.sigterm()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def balancer_variables(servers: Mapping[str, str], bind: str, stats_socket: Path) -> dict[str, str]:
    """What deploy/haproxy.cfg reads from its environment (docker-compose.yml gives the same)."""
    return {
        "LB_BIND": bind,
        "LB_CHECK_INTERVAL": CHECK_INTERVAL,
        "HAPROXY_STATS_SOCKET": str(stats_socket),
        **{f"{name.upper()}_ADDR": address for name, address in servers.items()},
    }


class Balancer:
    """HAProxy in the foreground with deploy/haproxy.cfg; the addresses come in as its environment."""

    def __init__(self, servers: Mapping[str, str], directory: Path) -> None:
        binary = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
        require_service("HAProxy (apt-get install haproxy)", binary is not None)
        self.binary = str(binary)
        self.port = free_port()
        self.stats_socket = directory / "haproxy.sock"
        self.log_path = directory / "haproxy.log"
        self.environment = {
            **os.environ,
            **balancer_variables(servers, f"127.0.0.1:{self.port}", self.stats_socket),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-db", "-f", str(HAPROXY_CONFIG)],
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait(self.stats_socket.exists, 10, "HAProxy's stats socket")

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(5)
            connection.connect(str(self.stats_socket))
            connection.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def server_status(self) -> dict[str, str]:
        """The balancer's view of each app server: UP, DOWN, or a transition (`UP 1/2`, `DOWN 1/2`)."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: row["status"]
            for row in rows
            if row["pxname"] == "app" and row["svname"] not in ("BACKEND", "FRONTEND")
        }

    def wait_status(self, server: str, status: str, within: float = 30) -> None:
        _wait(lambda: self.server_status().get(server) == status, within, f"{server} to be {status}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class TcpProxy:
    """A TCP forwarder on a free loopback port, in a thread of its own; `cut()` drops every connection
    and refuses new ones (as a network partition between one process and its database would), until
    `restore()`."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, upstream_writer))
        try:
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        finally:
            self._writers.difference_update((writer, upstream_writer))

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def stop(self) -> None:
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


def app_environment(
    data_dir: Path, port: int, settings: Mapping[str, str], base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of one app process: this machine's, without any service variables it may
    carry, plus `settings`."""
    inherited = base if base is not None else os.environ
    env = {
        name: value
        for name, value in inherited.items()
        if name not in SERVICE_VARIABLES and not name.startswith(("CONSUL_", "OTEL_"))
    }
    env.update(
        {
            "ENV": "test",
            "DATA_DIR": str(data_dir),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "warning",
            "SEED_DEMO": "false",
        }
    )
    env.update(settings)
    return env
