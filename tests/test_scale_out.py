"""Many processes, one behaviour: HAProxy in front of two `manage.py serve` processes (the first with two
workers) on one MariaDB, one Redis, one S3 endpoint (moto) and the Consul stand-in, as
docker-compose.yml runs them (tests/support/cluster.py). Through the balancer: the official e2e flows and a
mixed burst give what one process gives; sign-in throttling and rate limits (their limits read from
Consul's KV) hold across processes; a subscription on one process receives a message sent through the
other; a rolling restart fails no request; a process whose database is cut is drained and skipped.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from manage import migrate
from resolvers.demo import seed_demo_content
from storage.services import Services
from tests.conftest import (
    MARIADB_URL,
    REDIS_URL,
    TEST_JWT_SECRET,
    Backend,
    S3Endpoint,
    _ensure_mariadb_database,
    free_port,
    make_settings,
)
from tests.support.cluster import DRAIN_SECONDS, AppProcess, Balancer, TcpProxy, app_environment
from tests.support.consul_standin import ConsulStandIn, consul_standin
from tests.support.realtime import rest_send, subscribed

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[1]
KV_PREFIX = "douyin-graphql/config/"
LOGIN_MAX_FAILURES = 3
UPLOADS_PER_USER = 4  # a minute, from Consul's KV like the sign-in limit


@dataclass
class Cluster:
    balancer: Balancer
    apps: dict[str, AppProcess]
    db_proxy: TcpProxy
    consul: ConsulStandIn
    clip: bytes

    @property
    def url(self) -> str:
        return self.balancer.url

    def service_id(self, name: str) -> str:
        return f"douyin-graphql-{self.apps[name].address}"


def _cluster_database_url() -> str:
    """A database of its own next to the test database: the other tests clear theirs at will."""
    url = make_url(MARIADB_URL)
    return url.set(database=f"{url.database}_lb").render_as_string(hide_password=False)


async def _seed(database_url: str, s3: dict[str, Any], data_dir: Path) -> None:
    services = Services.open(make_settings(data_dir, database_url=database_url, **s3))
    try:
        await seed_demo_content(services)
    finally:
        await services.close()


@pytest.fixture(scope="module")
def cluster(
    mariadb_backend: Backend, s3_endpoint: S3Endpoint, clip: bytes, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp("cluster")
    database_url = _cluster_database_url()
    asyncio.run(_ensure_mariadb_database(database_url))
    migrate(make_settings(directory, database_url=database_url))
    s3 = s3_endpoint.settings_overrides(f"cluster-{uuid.uuid4().hex[:12]}")
    asyncio.run(_seed(database_url, s3, directory))

    db = make_url(database_url)
    db_proxy = TcpProxy(db.host or "127.0.0.1", db.port or 3306)
    db_proxy.start()
    proxied_url = db.set(host="127.0.0.1", port=db_proxy.port).render_as_string(hide_password=False)

    with consul_standin() as (consul, consul_address):
        consul.put_kv(f"{KV_PREFIX}LOGIN_MAX_FAILURES", str(LOGIN_MAX_FAILURES))
        consul.put_kv(f"{KV_PREFIX}RATE_LIMIT_UPLOAD_PER_USER", f"{UPLOADS_PER_USER}/minute")
        ports = {"app1": free_port(), "app2": free_port()}
        balancer = Balancer({name: f"127.0.0.1:{port}" for name, port in ports.items()}, directory)
        shared = {
            "JWT_SECRET": TEST_JWT_SECRET,
            "REDIS_URL": REDIS_URL,
            "CACHE_PREFIX": f"test:cluster:{uuid.uuid4().hex}:",
            "PUBLIC_BASE_URL": balancer.url,
            "SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS),
            "GRACEFUL_SHUTDOWN_SECONDS": "10",
            "CONSUL_HTTP_ADDR": consul_address,
            "CONSUL_REQUIRED": "true",
            # The client loops of the rolling restart send as fast as answers come, for over a minute:
            # they measure the restart, not the message and request limits.
            "RATE_LIMIT_MESSAGE_PER_USER": "100000/minute",
            "RATE_LIMIT_MESSAGE_PER_ADDRESS": "100000/minute",
            "RATE_LIMIT_OPERATIONS_PER_USER": "100000/minute",
            "RATE_LIMIT_OPERATIONS_PER_ADDRESS": "100000/minute",
            **{name.upper(): str(value) for name, value in s3.items()},
        }
        apps = {
            # Two workers behind one address: one Consul registration, one balancer server.
            "app1": {"DATABASE_URL": database_url, "WORKERS": "2"},
            # Its database through the proxy that can cut it.
            "app2": {"DATABASE_URL": proxied_url, "WORKERS": "1"},
        }
        processes = {
            name: AppProcess(
                name,
                ports[name],
                app_environment(directory / name, ports[name], {**shared, **own}),
                directory / f"{name}.log",
            )
            for name, own in apps.items()
        }
        try:
            for process in processes.values():
                process.start()
            for process in processes.values():
                process.wait_ready()
            balancer.start()
            for name in processes:
                balancer.wait_status(name, "UP")
            yield Cluster(balancer, processes, db_proxy, consul, clip)
        finally:
            balancer.stop()
            for process in processes.values():
                process.stop()
            db_proxy.stop()


# Helpers ------------------------------------------------------------------------------------------------


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status_code"] == 0, body
    return body


async def _register(http: httpx.AsyncClient, name: str) -> tuple[int, str]:
    body = _ok(await http.post("/douyin/user/register/", params={"username": name, "password": name + "-pw"}))
    return int(body["user_id"]), str(body["token"])


def _tag() -> str:
    return uuid.uuid4().hex[:10]


# The balancer -------------------------------------------------------------------------------------------


def test_the_balancer_checks_readyz_and_uses_both_processes(cluster: Cluster) -> None:
    assert cluster.balancer.server_status() == {"app1": "UP", "app2": "UP"}
    served = set()
    with httpx.Client(base_url=cluster.url, timeout=30) as http:
        for _ in range(12):
            response = http.get("/douyin/feed/")
            _ok(response)
            served.add(response.headers["x-served-by"])
    assert served == {"app1", "app2"}


def test_each_address_is_registered_once_in_consul_with_a_readyz_check(cluster: Cluster) -> None:
    services = cluster.consul.services
    assert set(services) == {cluster.service_id("app1"), cluster.service_id("app2")}
    app1 = services[cluster.service_id("app1")]
    assert app1["Name"] == "douyin-graphql"
    assert (app1["Address"], app1["Port"]) == ("127.0.0.1", cluster.apps["app1"].port)
    assert app1["Check"]["HTTP"] == f"{cluster.apps['app1'].url}/readyz"
    assert app1["Check"]["DeregisterCriticalServiceAfter"] == "60s"
    # Both workers of app1 registered the same ID: one service.
    assert cluster.consul.registrations[cluster.service_id("app1")] == 2


# Same results as one process ----------------------------------------------------------------------------


def test_the_official_e2e_flows_pass_through_the_balancer(cluster: Cluster) -> None:
    """tests/compat/test_official_e2e.py as is, pointed at the balancer (its DOUYIN_BASE_URL)."""
    env = {**os.environ, "DOUYIN_BASE_URL": cluster.url}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/compat/test_official_e2e.py",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "14 passed" in result.stdout, result.stdout[-2000:]


async def _mixed_burst(base_url: str, clip: bytes) -> dict[str, Any]:
    """Concurrent writes and reads by eight users around one new video; the outcome with ids and times
    taken out: each request's status code in the order they were issued, and the counts after."""
    tag = _tag()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        users = await asyncio.gather(*(_register(http, f"burst{tag}{n}") for n in range(8)))
        (author_id, author_token), fans = users[0], users[1:]
        published = await http.post(
            "/douyin/publish/action/",
            files={"data": ("clip.mp4", clip, "video/mp4")},
            data={"token": author_token, "title": f"burst {tag}"},
        )
        _ok(published)
        listed = _ok(
            await http.get("/douyin/publish/list/", params={"user_id": author_id, "token": author_token})
        )
        video_id = listed["video_list"][0]["id"]

        calls: list[tuple[str, str, dict[str, Any]]] = []
        for fan_id, token in fans:
            calls += [
                (
                    "POST",
                    "/douyin/favorite/action/",
                    {"token": token, "video_id": video_id, "action_type": 1},
                ),
                (
                    "POST",
                    "/douyin/favorite/action/",
                    {"token": token, "video_id": video_id, "action_type": 1},
                ),
                (
                    "POST",
                    "/douyin/comment/action/",
                    {
                        "token": token,
                        "video_id": video_id,
                        "action_type": 1,
                        "comment_text": f"hi from {fan_id}",
                    },
                ),
                (
                    "POST",
                    "/douyin/relation/action/",
                    {"token": token, "to_user_id": author_id, "action_type": 1},
                ),
                (
                    "POST",
                    "/douyin/message/action/",
                    {"token": token, "to_user_id": author_id, "action_type": 1, "content": "hello"},
                ),
                ("GET", "/douyin/feed/", {"token": token}),
                ("GET", "/douyin/user/", {"token": token, "user_id": author_id}),
            ]
        calls.append(
            ("POST", "/douyin/favorite/action/", {"token": "forged", "video_id": video_id, "action_type": 1})
        )
        responses = await asyncio.gather(
            *(http.request(method, path, params=params) for method, path, params in calls)
        )
        statuses = [(response.status_code, response.json()["status_code"]) for response in responses]

        video = _ok(
            await http.get("/douyin/publish/list/", params={"user_id": author_id, "token": author_token})
        )
        author = _ok(await http.get("/douyin/user/", params={"token": author_token, "user_id": author_id}))[
            "user"
        ]
        comments = _ok(
            await http.get("/douyin/comment/list/", params={"token": author_token, "video_id": video_id})
        )
        followers = _ok(
            await http.get(
                "/douyin/relation/follower/list/", params={"token": author_token, "user_id": author_id}
            )
        )
        chats = [
            _ok(await http.get("/douyin/message/chat/", params={"token": author_token, "to_user_id": fan_id}))
            for fan_id, _ in fans
        ]
        return {
            "statuses": statuses,
            "favorite_count": video["video_list"][0]["favorite_count"],
            "comment_count": video["video_list"][0]["comment_count"],
            "follower_count": author["follower_count"],
            "total_favorited": author["total_favorited"],
            "comments": sorted(comment["content"].split()[0] for comment in comments["comment_list"]),
            "followers": len(followers["user_list"]),
            "messages": [[message["content"] for message in chat["message_list"]] for chat in chats],
        }


async def test_a_mixed_burst_through_the_balancer_matches_one_process(cluster: Cluster) -> None:
    through_balancer = await _mixed_burst(cluster.url, cluster.clip)
    one_process = await _mixed_burst(cluster.apps["app2"].url, cluster.clip)
    assert through_balancer == one_process
    assert through_balancer["favorite_count"] == 7
    assert through_balancer["follower_count"] == 7
    assert through_balancer["statuses"][-1][1] != 0  # the forged token is refused on both


# Shared state -------------------------------------------------------------------------------------------


async def test_sign_in_throttling_holds_across_processes(cluster: Cluster) -> None:
    """LOGIN_MAX_FAILURES comes from Consul's KV (3); failures on either process count together."""
    name = f"throttled{_tag()}"
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        await _register(http, name)
    clients = [httpx.AsyncClient(base_url=app.url, timeout=30) for app in cluster.apps.values()]
    try:
        answers = []
        for attempt in range(LOGIN_MAX_FAILURES + 2):
            http = clients[attempt % 2]
            response = await http.post(
                "/douyin/user/login/", params={"username": name, "password": "wrong-pw"}
            )
            answers.append(response.json()["status_msg"])
        # Even the right password now waits out the window, on both processes.
        right = [
            (
                await http.post("/douyin/user/login/", params={"username": name, "password": name + "-pw"})
            ).json()
            for http in clients
        ]
    finally:
        for http in clients:
            await http.aclose()
    assert all("Wrong username or password" in answer for answer in answers[:LOGIN_MAX_FAILURES]), answers
    assert all("Too many failed sign-ins" in answer for answer in answers[LOGIN_MAX_FAILURES:]), answers
    assert all(body["status_code"] != 0 and "Too many" in body["status_msg"] for body in right), right


async def test_request_rate_limits_hold_across_processes(cluster: Cluster) -> None:
    """RATE_LIMIT_UPLOAD_PER_USER (from Consul's KV) counts a user's uploads on both processes together:
    after the limit's worth, sent alternately to app1 and app2, the next is refused on either."""
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        _, token = await _register(http, f"uploader{_tag()}")
    clients = [httpx.AsyncClient(base_url=app.url, timeout=30) for app in cluster.apps.values()]
    try:
        answers = []
        for attempt in range(UPLOADS_PER_USER + 2):
            # Not a video: each attempt is counted, then refused for what it is (no ffmpeg run needed).
            response = await clients[attempt % 2].post(
                "/douyin/publish/action/",
                data={"token": token, "title": "not a video"},
                files={"data": ("x.mp4", b"not a video at all", "video/mp4")},
            )
            answers.append(response.json())
    finally:
        for http in clients:
            await http.aclose()
    assert all(answer["status_code"] == 2 for answer in answers[:UPLOADS_PER_USER]), answers
    refused = answers[UPLOADS_PER_USER:]
    assert all(
        answer["status_code"] == 6 and "Too many uploads" in answer["status_msg"] for answer in refused
    )


async def test_a_subscription_on_one_process_receives_a_message_sent_through_the_other(
    cluster: Cluster,
) -> None:
    tag = _tag()
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        (alice_id, alice_token), (_, bob_token) = [
            await _register(http, f"{who}{tag}") for who in ("alice", "bob")
        ]
    socket = await subscribed(f"ws://{cluster.apps['app1'].address}/graphql", alice_token)
    try:
        async with httpx.AsyncClient(base_url=cluster.apps["app2"].url, timeout=30) as app2:
            await rest_send(app2, bob_token, alice_id, f"across processes {tag}")
        message = await socket.next_message(within=10)
        assert message["content"] == f"across processes {tag}"
    finally:
        await socket.close()


# Taking processes out -----------------------------------------------------------------------------------


class ClientLoop:
    """Requests through the balancer, one after another on two connections each, until stopped: feed
    reads, user reads and message sends. Every answer that is not a 200 with status_code 0 is a failure."""

    def __init__(self, base_url: str, token: str, user_id: int, to_user_id: int) -> None:
        self.base_url = base_url
        self.token = token
        self.user_id = user_id
        self.to_user_id = to_user_id
        self.sent = 0
        self.failures: list[str] = []
        self.served: dict[str, int] = {}
        self._stop = asyncio.Event()

    async def _one(self, http: httpx.AsyncClient, n: int) -> None:
        kind = n % 3
        try:
            if kind == 0:
                response = await http.get("/douyin/feed/", params={"token": self.token})
            elif kind == 1:
                response = await http.get(
                    "/douyin/user/", params={"token": self.token, "user_id": self.user_id}
                )
            else:
                params: dict[str, str | int] = {
                    "token": self.token,
                    "to_user_id": self.to_user_id,
                    "action_type": 1,
                    "content": f"m{n}",
                }
                response = await http.post("/douyin/message/action/", params=params)
        except httpx.HTTPError as error:
            self.failures.append(f"{type(error).__name__}: {error}")
            return
        self.sent += 1
        server = response.headers.get("x-served-by", "?")
        self.served[server] = self.served.get(server, 0) + 1
        if response.status_code != 200 or response.json().get("status_code") != 0:
            self.failures.append(f"{response.status_code} from {server}: {response.text[:200]}")

    async def _run(self, lane: int) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as http:
            n = lane
            while not self._stop.is_set():
                await self._one(http, n)
                n += 2

    async def run_while(self, work: Any) -> None:
        lanes = [asyncio.create_task(self._run(lane)) for lane in range(2)]
        try:
            await work
        finally:
            self._stop.set()
            await asyncio.gather(*lanes)


def _restart(cluster: Cluster, name: str) -> None:
    """SIGTERM, until it has exited; start again, until the balancer has it back."""
    app = cluster.apps[name]
    app.sigterm()
    # Deregistered at once, before the process stops accepting.
    deadline = time.monotonic() + DRAIN_SECONDS
    while cluster.service_id(name) in cluster.consul.services:
        assert time.monotonic() < deadline, f"{name} still registered in Consul"
        time.sleep(0.05)
    # uvicorn re-raises the SIGTERM once it has shut down cleanly, so the process ends by that signal.
    assert app.wait_exit(within=60) in (0, -signal.SIGTERM)
    app.start()
    app.wait_ready()
    cluster.balancer.wait_status(name, "UP")
    assert cluster.service_id(name) in cluster.consul.services


async def test_a_rolling_restart_fails_no_request(cluster: Cluster) -> None:
    tag = _tag()
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        (alice_id, alice_token), (bob_id, _) = [
            await _register(http, f"{who}{tag}") for who in ("roll", "ing")
        ]
    loop = ClientLoop(cluster.url, alice_token, alice_id, bob_id)
    closes: list[tuple[int | None, str | None]] = []

    async def roll() -> None:
        for name in ("app1", "app2"):
            socket = await subscribed(f"ws://{cluster.apps[name].address}/graphql", alice_token)
            closing = asyncio.create_task(socket.close_reason(within=60))
            await asyncio.to_thread(_restart, cluster, name)
            closes.append(await closing)
        await asyncio.sleep(0.5)

    await loop.run_while(roll())
    assert loop.failures == [], loop.failures[:5]
    assert loop.sent > 50
    assert set(loop.served) == {"app1", "app2"}
    # Each process closed its subscriptions as going away (1001), not with uvicorn's 1012.
    assert [code for code, _ in closes] == [1001, 1001]


async def test_a_process_whose_database_is_cut_is_drained_and_skipped(cluster: Cluster) -> None:
    balancer, app2 = cluster.balancer, cluster.apps["app2"]
    cluster.db_proxy.cut()
    try:
        await asyncio.to_thread(balancer.wait_status, "app2", "DOWN")
        async with httpx.AsyncClient(timeout=30) as http:
            readiness = await http.get(f"{app2.url}/readyz")
            assert readiness.status_code == 503
            assert readiness.json()["failed"] == ["database"]
            served = set()
            for _ in range(20):
                response = await http.get(f"{cluster.url}/douyin/feed/")
                _ok(response)
                served.add(response.headers["x-served-by"])
        assert served == {"app1"}
    finally:
        cluster.db_proxy.restore()
    await asyncio.to_thread(balancer.wait_status, "app2", "UP")
    async with httpx.AsyncClient(base_url=cluster.url, timeout=30) as http:
        served_after = {(await http.get("/douyin/feed/")).headers["x-served-by"] for _ in range(6)}
    assert served_after == {"app1", "app2"}
