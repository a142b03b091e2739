"""`make run`'s steps from a cold data directory: migrate, seed, serve on HOST:PORT."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import serving

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with serving(tmp_path / "var", steps=("migrate", "seed")) as base:
        yield base, tmp_path / "var"


def test_cold_start_serves_health_readiness_graphiql_and_demo_media(served: tuple[str, Path]) -> None:
    base, data_dir = served
    assert httpx.get(f"{base}/healthz").status_code == 200
    ready = httpx.get(f"{base}/readyz")
    assert ready.status_code == 200, ready.text
    page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert (data_dir / "douyin.db").is_file()
    stored = sorted(path for path in (data_dir / "media").rglob("*") if path.is_file())
    assert {path.suffix for path in stored} == {".mp4", ".jpg"}
    for path in stored:
        key = path.relative_to(data_dir / "media").as_posix()
        response = httpx.get(f"{base}/media/{key}")
        assert response.status_code == 200
        assert response.content == path.read_bytes()


def test_serve_caps_connections_and_drops_idle_ones(tmp_path: Path) -> None:
    """Past MAX_CONNECTIONS a request gets a clean 503 at once; a keep-alive connection left idle after
    its request is closed after KEEP_ALIVE_TIMEOUT_SECONDS, freeing its place."""
    # Three: the two idle connections below and the client that is then refused.
    overrides = {"SEED_DEMO": "false", "MAX_CONNECTIONS": "3", "KEEP_ALIVE_TIMEOUT_SECONDS": "1"}
    with serving(tmp_path / "var", overrides) as base, contextlib.ExitStack() as sockets:
        port = int(base.rsplit(":", 1)[1])
        idle = []
        for _ in range(2):  # one request each, then idle on the kept-alive connection
            connection = sockets.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            answer, chunk = b"", b"-"
            while chunk and not answer.endswith(b'{"status":"ok"}'):  # the whole answer, body included
                chunk = connection.recv(4096)
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200")
            assert answer.endswith(b'{"status":"ok"}')
            idle.append(connection)
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 503
        # The server closes the idle ones (recv gives b"" at the end of the stream), freeing the cap.
        for connection in idle:
            assert connection.recv(1) == b""
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("trusted", "separate"), [("127.0.0.1", True), ("10.0.0.1", False)], ids=["trusted", "untrusted"]
)
def test_behind_a_trusted_proxy_the_forwarded_client_address_is_rate_limited(
    tmp_path: Path, trusted: str, separate: bool
) -> None:
    """The proxy (here: the test, on loopback) names each client in X-Forwarded-For; the limits count
    those clients apart only when FORWARDED_ALLOW_IPS trusts the proxy (else anyone could name any)."""
    overrides = {
        "SEED_DEMO": "false",
        "RATE_LIMIT_OPERATIONS_PER_ADDRESS": "2/minute",
        "FORWARDED_ALLOW_IPS": trusted,
    }
    query = {"query": "{ viewer { id } }"}
    with serving(tmp_path / "var", overrides) as base, httpx.Client(base_url=base, timeout=30) as http:

        def status(client: str) -> int:
            return http.post("/graphql", json=query, headers={"X-Forwarded-For": client}).status_code

        assert [status("203.0.113.1") for _ in range(3)] == [200, 200, 429]
        assert status("203.0.113.2") == (200 if separate else 429)
