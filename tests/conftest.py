"""Shared fixtures.

Backends: every test that takes `services` runs on the embedded default (SQLite, in-process cache, local
disk) and on the real servers (MariaDB + Redis) when TEST_DATABASE_URL and TEST_REDIS_URL are set. The S3
endpoint is moto's server, started once per session on a free loopback port and used through the minio
SDK. With REQUIRE_SERVICES=1 a missing service fails the run instead of skipping it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from app import create_app
from manage import migrate
from settings import Settings
from storage import clips
from storage.db import create_engine
from storage.models import metadata
from storage.services import Services

TEST_JWT_SECRET = "test-secret-0123456789abcdef0123456789"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _own_database_url(url: str, worker: str) -> str:
    """Under pytest-xdist each worker process clears and fills a database of its own (`<name>_gw1`)."""
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


def _own_redis_url(url: str, worker: str) -> str:
    """…and a Redis database of its own, counted down from the one given (15: gw0 15, gw1 14)."""
    if not url or not worker:
        return url
    index = int(worker.removeprefix("gw"))
    head, _, number = url.rstrip("/").rpartition("/")
    if not number.isdigit():  # no database named: database 0 is the first worker's
        return f"{url.rstrip('/')}/{index}"
    if index > int(number):
        raise RuntimeError(f"{url}: too few Redis databases below it for pytest-xdist worker {worker}")
    return f"{head}/{int(number) - index}"


XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
MARIADB_URL = _own_database_url(os.environ.get("TEST_DATABASE_URL", ""), XDIST_WORKER)
REDIS_URL = _own_redis_url(os.environ.get("TEST_REDIS_URL", ""), XDIST_WORKER)


def require_service(name: str, configured: bool) -> None:
    if configured:
        return
    message = f"{name} is not configured"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}, and REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "jwt_secret": TEST_JWT_SECRET,
        "data_dir": data_dir,
        "seed_demo": False,
        "public_base_url": "http://testserver",
    }
    values.update(overrides)
    return Settings(**values)


async def _ensure_mariadb_database(url: str) -> None:
    parsed = make_url(url)
    server = create_engine(str(parsed.set(database="")), make_settings(Path("/tmp")))
    async with server.begin() as connection:
        await connection.execute(
            text(
                f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )
        )
    await server.dispose()
    engine = create_engine(url, make_settings(Path("/tmp")))
    async with engine.begin() as connection:
        await connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        names = [table.name for table in reversed(metadata.sorted_tables)]
        for name in [*names, "alembic_version"]:
            await connection.execute(text(f"DROP TABLE IF EXISTS `{name}`"))
    await engine.dispose()


@dataclass
class Backend:
    name: str
    database_url: str
    redis_url: str = ""


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    path = tmp_path_factory.mktemp("db") / "test.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate(make_settings(path.parent, database_url=url))
    return Backend("sqlite", url)


@pytest.fixture(scope="session")
def mariadb_backend() -> Backend:
    require_service("MariaDB (TEST_DATABASE_URL)", bool(MARIADB_URL))
    require_service("Redis (TEST_REDIS_URL)", bool(REDIS_URL))
    asyncio.run(_ensure_mariadb_database(MARIADB_URL))
    migrate(make_settings(Path("/tmp"), database_url=MARIADB_URL))
    return Backend("mariadb", MARIADB_URL, REDIS_URL)


@pytest.fixture(params=["sqlite", "mariadb"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "mariadb":
        request.applymarker(pytest.mark.services)
    fixture: Backend = request.getfixturevalue(f"{request.param}_backend")
    return fixture


async def clear_tables(services: Services) -> None:
    async with services.db.write() as session:
        for table in reversed(metadata.sorted_tables):
            await session.execute(table.delete())


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to change settings for its `services`."""
    return {}


@asynccontextmanager
async def open_services(backend: Backend, data_dir: Path, **overrides: Any) -> AsyncIterator[Services]:
    """Services on `backend` with empty tables, closed at the end."""
    settings = make_settings(
        data_dir,
        database_url=backend.database_url,
        redis_url=backend.redis_url,
        # Each test its own keys in the shared Redis, so counters never leak between tests or runs.
        cache_prefix=f"test:{uuid.uuid4().hex}:",
        **overrides,
    )
    opened = Services.open(settings)
    await clear_tables(opened)
    if backend.redis_url:
        await opened.cache.ping()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def services(
    backend: Backend, tmp_path: Path, settings_overrides: dict[str, Any]
) -> AsyncIterator[Services]:
    async with open_services(backend, tmp_path, **settings_overrides) as opened:
        yield opened


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services=services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass
class StatementCounter:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def sql_counter(services: Services) -> Iterator[StatementCounter]:
    """Counts SQL statements sent by `services` (the query-count tests)."""
    counter = StatementCounter()
    engines = services.db.sync_engines

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE")):
            counter.statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", _count)
    try:
        yield counter
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", _count)


@dataclass
class S3Endpoint:
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def settings_overrides(self, bucket: str) -> dict[str, Any]:
        return {
            "s3_endpoint": f"http://{self.address}",
            "s3_access_key": "testing",
            "s3_secret_key": "testing",
            "s3_bucket": bucket,
        }


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """A real S3 endpoint: moto's server on a free loopback port."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:  # pragma: no cover - the dev extras install it
        require_service("S3 (moto server)", False)
        raise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Endpoint("127.0.0.1", port)
    finally:
        server.stop()


BucketNamer = Callable[[], str]


@pytest.fixture
def bucket_name(request: pytest.FixtureRequest) -> str:
    """A bucket of its own for each test (S3 names: lowercase, 3-63 characters)."""
    digest = abs(hash(request.node.nodeid)) % 10**12
    return f"test-{digest}"


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real 2-second H.264 MP4, 320x240."""
    path = tmp_path_factory.mktemp("clips") / "bear.mp4"
    clips.make_test_video(path, seconds=2, size="320x240")
    return path.read_bytes()
