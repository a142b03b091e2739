"""Faults while serving: a part goes away and comes back. During the fault every answer is a clear one
(never a 500 with a traceback), the service recovers without a restart, and nothing acknowledged is lost.

Redis is a server of the test's own (stopped and started on the same port); the database is cut at a TCP
proxy between the app and MariaDB (every connection dropped, new ones refused, then let through again);
the object store is a moto server stopped and started again, empty, on the same port.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy.engine import make_url

from app import create_app
from resolvers.passwords import hash_password, verify_password
from storage.objects import ObjectStoreError
from storage.services import Services
from tests.conftest import Backend, S3Endpoint, free_port, open_services
from tests.support.graphql import gql
from tests.support.proxy import CuttableProxy
from tests.support.publishing import publish_multipart
from tests.support.realtime import ThrowawayRedis, throwaway_redis
from tests.support.rest import PASSWORD, ok, register

pytestmark = pytest.mark.services


@pytest.fixture
def redis_server() -> Iterator[ThrowawayRedis]:
    with throwaway_redis() as started:
        yield started


@pytest.fixture
async def redis_services(
    backend: Backend, redis_server: ThrowawayRedis, tmp_path: Path
) -> AsyncIterator[Services]:
    on_own_redis = Backend(backend.name, backend.database_url, redis_server.url)
    async with open_services(on_own_redis, tmp_path, cache_retry_seconds=0.2) as opened:
        yield opened


@pytest.fixture
async def redis_client(redis_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services=redis_services), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _until_ready(client: httpx.AsyncClient, within: float = 5.0) -> None:
    """Readiness serves a result for up to a second, so the recovery shows within a few."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        ready = await client.get("/readyz")
        assert ready.status_code in (200, 503), ready.text
        if ready.json()["status"] == "ok":
            return
        assert asyncio.get_running_loop().time() < deadline, ready.text
        await asyncio.sleep(0.2)


async def _login(client: httpx.AsyncClient, name: str) -> str:
    body = await ok(client, "POST", "/user/login/", {"username": name, "password": PASSWORD})
    token: str = body["token"]
    return token


async def test_sign_in_feed_and_writes_keep_working_while_redis_is_down(
    redis_client: httpx.AsyncClient, redis_server: ThrowawayRedis
) -> None:
    author_id, _ = await register(redis_client, "author")
    fan_id, _ = await register(redis_client, "fan")
    redis_server.stop()

    token = await _login(redis_client, "fan")
    feed = await ok(redis_client, "GET", "/feed/", {"token": token})
    assert feed["video_list"] == []
    await ok(
        redis_client, "POST", "/relation/action/", {"token": token, "to_user_id": author_id, "action_type": 1}
    )
    ready = await redis_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["cache"] == "degraded"
    assert ready.json()["status"] == "degraded"

    redis_server.start()
    await _until_ready(redis_client)
    token = await _login(redis_client, "fan")
    # The follow acknowledged during the outage is there.
    body = await ok(redis_client, "GET", "/relation/follow/list/", {"token": token, "user_id": fan_id})
    assert [user["id"] for user in body["user_list"]] == [author_id]


@pytest.fixture
def frozen_endpoint() -> Iterator[str]:
    """An S3 endpoint that accepts connections (the kernel completes them) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


async def test_a_frozen_object_store_holds_neither_sign_in_nor_readiness(
    backend: Backend, frozen_endpoint: str, tmp_path: Path
) -> None:
    overrides = {
        "s3_endpoint": frozen_endpoint,
        "s3_access_key": "testing",
        "s3_secret_key": "testing",
        "readiness_timeout_seconds": 1.0,
    }
    async with open_services(backend, tmp_path, **overrides) as services:
        transport = httpx.ASGITransport(app=create_app(services=services), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await register(client, "fan")
            loop = asyncio.get_running_loop()
            # Load balancers probe often; every probe finds the store frozen.
            started = loop.time()
            probes = await asyncio.gather(*(client.get("/readyz") for _ in range(20)))
            assert loop.time() - started < 3
            for probe in probes:
                assert probe.status_code == 200
                assert probe.json()["checks"]["objects"] == "degraded"
            started = loop.time()
            await asyncio.gather(*(_login(client, "fan") for _ in range(3)))
            assert loop.time() - started < 5
            started = loop.time()
            again = await client.get("/readyz")
            assert loop.time() - started < 2
            assert again.json()["checks"] == {"database": "ok", "cache": "ok", "objects": "degraded"}


async def test_calls_stuck_on_a_frozen_object_store_leave_password_checks_their_threads(
    backend: Backend, frozen_endpoint: str, tmp_path: Path
) -> None:
    overrides = {
        "s3_endpoint": frozen_endpoint,
        "s3_access_key": "testing",
        "s3_secret_key": "testing",
        "s3_read_timeout_seconds": 1.0,
    }
    async with open_services(backend, tmp_path, **overrides) as services:
        # More stuck calls than asyncio's default executor has threads (cores + 4).
        stuck = [asyncio.create_task(services.objects.exists(f"videos/{n}.mp4")) for n in range(12)]
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        digest = await asyncio.wait_for(hash_password("secret-password"), 10)
        assert loop.time() - started < 3
        assert await verify_password(digest, "secret-password")
        # The stuck calls end with an error of their own, bounded by the client's timeouts.
        results = await asyncio.gather(*stuck, return_exceptions=True)
        assert all(isinstance(result, ObjectStoreError) for result in results)


def _clear_error(response: httpx.Response) -> None:
    """An answer a client can act on: never a 500 page, never a traceback."""
    assert response.status_code in (200, 503), response.text
    assert "Traceback" not in response.text
    assert response.headers["content-type"].startswith("application/json")


@pytest.fixture
async def cuttable_db(mariadb_backend: Backend) -> AsyncIterator[tuple[CuttableProxy, Backend]]:
    parsed = make_url(mariadb_backend.database_url)
    proxy = CuttableProxy(parsed.host or "127.0.0.1", parsed.port or 3306)
    await proxy.start()
    through = Backend("mariadb", str(parsed.set(host="127.0.0.1", port=proxy.port)), "")
    try:
        yield proxy, through
    finally:
        await proxy.cut()


async def test_a_database_cut_gives_clear_errors_and_recovers_without_a_restart(
    cuttable_db: tuple[CuttableProxy, Backend], tmp_path: Path
) -> None:
    proxy, through = cuttable_db
    async with open_services(through, tmp_path, readiness_timeout_seconds=1.0) as services:
        transport = httpx.ASGITransport(app=create_app(services=services), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            author_id, _ = await register(client, "author")
            fan_id, token = await register(client, "fan")
            await ok(
                client,
                "POST",
                "/relation/action/",
                {"token": token, "to_user_id": author_id, "action_type": 1},
            )

            await proxy.cut()
            login = await client.post("/douyin/user/login/", params={"username": "fan", "password": PASSWORD})
            _clear_error(login)
            assert login.json()["status_code"] != 0
            assert login.json()["status_msg"]
            feed = await client.get("/douyin/feed/", params={"token": token})
            _clear_error(feed)
            assert feed.json()["status_code"] != 0
            follow = await client.post(
                "/douyin/relation/action/", params={"token": token, "to_user_id": author_id, "action_type": 2}
            )
            _clear_error(follow)
            assert follow.json()["status_code"] != 0
            viewer = await client.post(
                "/graphql",
                json={"query": "{ viewer { id followCount } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
            _clear_error(viewer)
            assert [error["extensions"]["code"] for error in viewer.json()["errors"]] == [
                "INTERNAL_SERVER_ERROR"
            ]
            loop = asyncio.get_running_loop()
            started = loop.time()
            ready = await client.get("/readyz")
            assert loop.time() - started < 3
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"] == "failed"

            await proxy.start()
            # The very next calls succeed: no stale pooled connection fails once.
            token = await _login(client, "fan")
            body = await ok(client, "GET", "/relation/follow/list/", {"token": token, "user_id": fan_id})
            # The follow acknowledged before the cut is there; the unfollow refused during it never happened.
            assert [user["id"] for user in body["user_list"]] == [author_id]
            data = await gql(client, "{ viewer { followCount } }", token=token)
            assert data == {"data": {"viewer": {"followCount": 1}}}
            await _until_ready(client)


async def test_an_object_store_down_and_back_empty_fails_uploads_clearly_then_takes_them_again(
    backend: Backend, tmp_path: Path, clip: bytes
) -> None:
    port = free_port()
    store = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    store.start()
    overrides = S3Endpoint("127.0.0.1", port).settings_overrides("faults")
    try:
        async with open_services(backend, tmp_path, readiness_timeout_seconds=1.0, **overrides) as services:
            transport = httpx.ASGITransport(app=create_app(services=services), raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                _, token = await register(client, "author")
                first = await publish_multipart(client, clip, title="before", token=token)
                assert "errors" not in first.json(), first.text

                await asyncio.to_thread(store.stop)
                during = await publish_multipart(client, clip, title="during", token=token)
                _clear_error(during)
                assert during.json()["errors"], during.text
                feed = await ok(client, "GET", "/feed/", {"token": token})
                assert [video["title"] for video in feed["video_list"]] == ["before"]
                ready = await client.get("/readyz")
                assert ready.status_code == 200
                assert ready.json()["checks"]["objects"] == "degraded"

                # Back, and empty: no bucket. The first publish makes it again.
                store = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
                store.start()
                after = await publish_multipart(client, clip, title="after", token=token)
                assert "errors" not in after.json(), after.text
                feed = await ok(client, "GET", "/feed/", {"token": token})
                assert [video["title"] for video in feed["video_list"]] == ["after", "before"]
                await _until_ready(client)
                # What was acknowledged after the store came back is in it.
                key = after.json()["data"]["publishVideo"]["playUrl"].split("/faults/", 1)[1]
                assert await services.objects.exists(key)
    finally:
        store.stop()
