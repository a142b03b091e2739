"""`messageReceived` over WebSocket: who receives what, in which order, who is refused, and what is left
behind when clients vanish or the server stops.

In-process tests serve the app with uvicorn in the test's event loop, on each backend (SQLite with the
in-process fan-out; MariaDB with Redis). The multi-process tests run two `manage.py serve` processes on one
MariaDB and one Redis.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import aclosing, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as redis_asyncio
from jose import jwt

from app import create_app
from resolvers import chat, live_chat
from storage.fanout import LISTENER_TASK_NAME, RedisFanout
from storage.services import Services
from tests.conftest import (
    TEST_JWT_SECRET,
    Backend,
    StatementCounter,
    open_services,
)
from tests.support.factories import Account, add_users
from tests.support.graphql import data_of
from tests.support.realtime import (
    LEGACY_WS,
    PROTOCOLS,
    TRANSPORT_WS,
    GraphQLSocket,
    app_process,
    handshake_refused,
    rest_send,
    serving,
    subscribed,
    throwaway_redis,
    until,
)

SEND_MESSAGE = "mutation($to: ID!, $c: String!) { sendMessage(toUserId: $to, content: $c) { id createdAt } }"
CONVERSATION = "query($with: ID!) { conversation(withUserId: $with) { id content } }"


@pytest.fixture
async def live(services: Services) -> AsyncIterator[str]:
    """The WebSocket URL of the app served by uvicorn on `services`."""
    async with serving(create_app(services=services)) as address:
        yield f"ws://{address}/graphql"


async def open_subscriptions(
    services: Services, url: str, sessions: list[tuple[Account, str]]
) -> list[GraphQLSocket]:
    """One subscribed connection per (account, protocol), returned once the server holds all of them."""
    before = services.fanout.inbox_count
    sockets = [await subscribed(url, account.token, protocol) for account, protocol in sessions]
    await until(lambda: services.fanout.inbox_count == before + len(sessions), what="subscriptions")
    return sockets


def ms(iso: str) -> int:
    assert iso.endswith("Z"), iso
    assert len(iso) == len("2026-12-01T02:40:00.123Z"), iso
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)


# Delivery


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_rest_message_reaches_the_recipient_and_the_senders_other_session(
    services: Services, live: str, client: httpx.AsyncClient, protocol: str
) -> None:
    alice, bob = await add_users(services, 2)
    to_alice, bob_elsewhere = await open_subscriptions(services, live, [(alice, protocol), (bob, protocol)])

    started = time.monotonic()
    await rest_send(client, bob.token, alice.id, "你好 👋")
    received = [await to_alice.next_message(), await bob_elsewhere.next_message()]
    assert time.monotonic() - started < 1.0
    assert received[0] == received[1]
    message = received[0]
    assert message["content"] == "你好 👋"
    assert message["sender"] == {"id": bob.gid}
    assert message["recipient"] == {"id": alice.gid}

    # The same message, the same millisecond, as the REST poll and the conversation query see it.
    poll = (
        await client.get("/douyin/message/chat/", params={"token": alice.token, "to_user_id": bob.id})
    ).json()
    assert [(str(m["id"]), m["create_time"]) for m in poll["message_list"]] == [
        (message["id"], ms(message["createdAt"]))
    ]
    await to_alice.nothing_more()
    await bob_elsewhere.nothing_more(0.05)


async def test_a_send_message_mutation_is_delivered_to_every_session_of_both_users(
    services: Services, live: str, client: httpx.AsyncClient
) -> None:
    alice, bob, carol = await add_users(services, 3)
    sockets = await open_subscriptions(
        services,
        live,
        [(alice, TRANSPORT_WS), (alice, LEGACY_WS), (bob, TRANSPORT_WS), (carol, TRANSPORT_WS)],
    )
    sent = (await data_of(client, SEND_MESSAGE, {"to": alice.gid, "c": "hi"}, token=bob.token))["sendMessage"]
    for socket in sockets[:3]:
        message = await socket.next_message()
        assert (message["id"], message["createdAt"], message["content"]) == (
            sent["id"],
            sent["createdAt"],
            "hi",
        )
    await sockets[3].nothing_more()


async def test_each_conversation_arrives_in_commit_order_exactly_once(
    services: Services, live: str, client: httpx.AsyncClient
) -> None:
    alice, bob, carol = await add_users(services, 3)
    (to_alice,) = await open_subscriptions(services, live, [(alice, TRANSPORT_WS)])
    # Both directions of two conversations at once.
    sends = [
        rest_send(client, sender.token, recipient.id, f"{sender.name}->{recipient.name} {index}")
        for index in range(8)
        for sender, recipient in ((bob, alice), (alice, bob), (carol, alice))
    ]
    await asyncio.gather(*sends)
    received = await to_alice.messages(len(sends))
    await to_alice.nothing_more()
    assert len({message["id"] for message in received}) == len(sends)
    for peer in (bob, carol):
        stored = (await data_of(client, CONVERSATION, {"with": peer.gid}, token=alice.token))["conversation"]
        delivered = [
            {"id": message["id"], "content": message["content"]}
            for message in received
            if peer.gid in (message["sender"]["id"], message["recipient"]["id"])
        ]
        assert delivered == stored  # the conversation's order: commit order
        assert [int(m["id"]) for m in delivered] == sorted(int(m["id"]) for m in delivered)


async def test_a_delivery_costs_no_query_of_its_own(
    services: Services, live: str, sql_counter: StatementCounter
) -> None:
    alice, bob = await add_users(services, 2)
    to_alice, to_bob = await open_subscriptions(services, live, [(alice, TRANSPORT_WS), (bob, LEGACY_WS)])
    sql_counter.reset()
    await chat.send_message(services, bob.id, alice.id, "cheap")
    after_send = sql_counter.count
    for socket in (to_alice, to_bob):
        message = await socket.next_message()
        assert (message["sender"], message["recipient"]) == ({"id": bob.gid}, {"id": alice.gid})
    # The users were read once, in the send's transaction, and handed to both subscriptions.
    assert sql_counter.count == after_send


async def test_a_message_committed_before_the_subscription_is_not_replayed(
    services: Services, live: str, client: httpx.AsyncClient
) -> None:
    alice, bob = await add_users(services, 2)
    await rest_send(client, bob.token, alice.id, "history")
    (to_alice,) = await open_subscriptions(services, live, [(alice, TRANSPORT_WS)])
    await rest_send(client, bob.token, alice.id, "news")
    assert [m["content"] for m in await to_alice.messages(1)] == ["news"]
    await to_alice.nothing_more()


# Slow consumers


@pytest.mark.parametrize("settings_overrides", [{"subscription_queue_size": 3}])
async def test_a_subscriber_that_falls_behind_is_caught_up_from_the_database_without_slowing_others(
    services: Services,
) -> None:
    alice, bob, carol = await add_users(services, 3)
    async with (
        aclosing(live_chat.message_feed(services, alice.id)) as slow,
        aclosing(live_chat.message_feed(services, carol.id)) as fast,
    ):
        first_slow = asyncio.ensure_future(anext(slow))
        first_fast = asyncio.ensure_future(anext(fast))
        await until(lambda: services.fanout.inbox_count == 2, what="both inboxes")
        sent = []
        for index in range(40):
            # The fast reader is given each message as it is sent; the slow one reads nothing meanwhile.
            row = await chat.send_message(services, bob.id, alice.id, f"to alice {index}")
            sent.append(row.id)
            await chat.send_message(services, bob.id, carol.id, f"to carol {index}")
            fast_row = await asyncio.wait_for(first_fast if index == 0 else anext(fast), 1)
            assert fast_row.message.content == f"to carol {index}"
            inbox = next(iter(services.fanout._inboxes[alice.id]))
            assert len(inbox) <= inbox.capacity
        assert services.fanout.metrics.queue_overflows.value > 0
        caught_up_before = services.fanout.metrics.messages_caught_up.value
        slow_ids = [(await first_slow).message.id]
        while len(slow_ids) < len(sent):
            slow_ids.append((await asyncio.wait_for(anext(slow), 1)).message.id)
        assert slow_ids == sent
        assert services.fanout.metrics.messages_caught_up.value > caught_up_before
        # Nothing more: the catch-ups gave every message once.
        extra = asyncio.ensure_future(anext(slow))
        await asyncio.sleep(0.2)
        assert not extra.done()
        extra.cancel()
        with suppress(asyncio.CancelledError):
            await extra
    assert services.fanout.inbox_count == 0


# Refusals


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_handshakes_without_a_valid_token_are_refused_with_their_codes(
    services: Services, live: str, protocol: str
) -> None:
    (alice,) = await add_users(services, 1)
    later = int(time.time()) + 600
    expired = jwt.encode({"sub": str(alice.id), "exp": int(time.time()) - 60}, TEST_JWT_SECRET, "HS256")
    forged = jwt.encode({"sub": str(alice.id), "exp": later}, "another-secret-0123456789", "HS256")
    cases: list[tuple[dict[str, Any], int]] = [
        ({}, 4401),
        ({"Authorization": ""}, 4401),
        ({"Authorization": "Bearer forged.token.value"}, 4403),
        ({"Authorization": f"Bearer {forged}"}, 4403),
        ({"Authorization": f"Bearer {expired}"}, 4403),
        ({"Authorization": alice.token}, 4403),  # not a bearer credential
    ]
    for payload, code in cases:
        socket = await GraphQLSocket.open(live, protocol)
        await socket.send({"type": "connection_init", "payload": payload})
        if protocol == LEGACY_WS:
            error = await socket.receive()
            assert error["type"] == "connection_error"
            assert error["payload"]["extensions"] == {"code": "UNAUTHENTICATED"}
        assert await socket.close_reason() == (code, "UNAUTHENTICATED"), payload
    assert services.fanout.metrics.sockets_refused.value == len(cases)
    assert services.fanout.inbox_count == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_handshake_header_signs_in_and_a_payload_token_takes_precedence(
    services: Services, live: str, client: httpx.AsyncClient, protocol: str
) -> None:
    alice, bob = await add_users(services, 2)
    by_header = await GraphQLSocket.open(live, protocol, headers={"Authorization": f"Bearer {alice.token}"})
    assert (await by_header.init())["type"] == "connection_ack"
    await by_header.subscribe()
    await until(lambda: services.fanout.inbox_count == 1)
    await rest_send(client, bob.token, alice.id, "hello")
    assert (await by_header.next_message())["content"] == "hello"

    overridden = await GraphQLSocket.open(live, protocol, headers={"Authorization": f"Bearer {alice.token}"})
    await overridden.send({"type": "connection_init", "payload": {"Authorization": "Bearer forged"}})
    if protocol == LEGACY_WS:
        assert (await overridden.receive())["type"] == "connection_error"
    assert await overridden.close_reason() == (4403, "UNAUTHENTICATED")


@pytest.mark.parametrize("settings_overrides", [{"ws_init_timeout_seconds": 0.3}])
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_connection_that_never_sends_connection_init_is_closed(live: str, protocol: str) -> None:
    socket = await GraphQLSocket.open(live, protocol)
    started = time.monotonic()
    code, _reason = await socket.close_reason()
    assert code == 4408
    assert 0.25 < time.monotonic() - started < 3


@pytest.mark.parametrize("settings_overrides", [{"subscriptions_per_user": 2}])
async def test_a_user_holds_at_most_the_configured_number_of_subscriptions(
    services: Services, live: str, client: httpx.AsyncClient
) -> None:
    alice, bob = await add_users(services, 2)
    first, second = await open_subscriptions(services, live, [(alice, TRANSPORT_WS), (alice, LEGACY_WS)])
    third = await subscribed(live, alice.token)
    refused = await third.next_payload()
    assert refused["data"] is None
    assert [error["extensions"]["code"] for error in refused["errors"]] == ["RATE_LIMITED"]
    assert (await third.receive())["type"] == "complete"
    assert services.fanout.metrics.subscriptions_refused.value == 1
    # Others are not limited by her subscriptions, and closing one frees its place.
    (to_bob,) = await open_subscriptions(services, live, [(bob, TRANSPORT_WS)])
    await first.close()
    await until(lambda: services.fanout.inbox_count == 2)
    await third.subscribe(operation_id="2")
    await until(lambda: services.fanout.inbox_count == 3)
    await rest_send(client, bob.token, alice.id, "fits")
    for socket in (second, third, to_bob):
        assert (await socket.next_message())["content"] == "fits"


@pytest.mark.parametrize("settings_overrides", [{"cors_origins": "https://app.example.com"}])
async def test_browsers_connect_only_from_allowed_origins(services: Services, live: str) -> None:
    (alice,) = await add_users(services, 1)
    assert await handshake_refused(live, "https://evil.example.com") == 403
    socket = await GraphQLSocket.open(live, origin="https://app.example.com")
    assert (await socket.init(alice.token))["type"] == "connection_ack"
    # Same-origin pages and clients that send no Origin (apps, servers) need no entry.
    host = live.removeprefix("ws://").removesuffix("/graphql")
    for origin in (f"http://{host}", None):
        other = await GraphQLSocket.open(live, origin=origin)
        assert (await other.init(alice.token))["type"] == "connection_ack"


async def test_without_cors_origins_a_cross_origin_handshake_is_refused(live: str) -> None:
    assert await handshake_refused(live, "https://app.example.com") == 403


# Teardown


def _tasks() -> set[asyncio.Task[Any]]:
    """Running tasks, except the worker's one Redis listener (started by its first subscription)."""
    return {task for task in asyncio.all_tasks() if not task.done() and task.get_name() != LISTENER_TASK_NAME}


async def _redis_subscribers(services: Services) -> int | None:
    fanout = services.fanout
    if not isinstance(fanout, RedisFanout):
        return None
    client = redis_asyncio.Redis.from_url(services.settings.redis_url)
    try:
        counts = await client.pubsub_numsub(fanout.channel)
    finally:
        await client.aclose()
    return int(counts[0][1])


# Fifty handshakes at once queue for the database pool (each subscription's start reads it); this test
# is about what vanishing clients leave behind, not about the pool's short wait under a burst.
@pytest.mark.parametrize("settings_overrides", [{"db_pool_timeout_seconds": 30}])
async def test_two_hundred_clients_vanishing_at_once_leave_nothing_behind(services: Services) -> None:
    accounts = await add_users(services, 20)
    sessions = [(accounts[index % 20], PROTOCOLS[index % 2]) for index in range(200)]
    async with serving(create_app(services=services)) as address:
        url = f"ws://{address}/graphql"
        await asyncio.sleep(0.1)
        tasks_before = _tasks()
        sockets = []
        for start in range(0, 200, 50):
            sockets += await asyncio.gather(
                *(subscribed(url, a.token, p) for a, p in sessions[start : start + 50])
            )
        await until(lambda: services.fanout.inbox_count == 200, what="200 subscriptions")
        assert services.fanout.metrics.subscriptions_open.value == 200
        assert services.fanout.metrics.sockets_open.value == 200
        assert await _redis_subscribers(services) in (None, 1)  # one pub/sub connection for the worker

        for socket in sockets:
            socket.vanish()
        await until(lambda: services.fanout.metrics.sockets_open.value == 0, 10, "the sockets to close")
        assert services.fanout.inbox_count == 0
        assert services.fanout._inboxes == {}
        assert services.fanout.metrics.subscriptions_open.value == 0
        await until(lambda: _tasks() <= tasks_before, 10, "the connections' tasks to end")
        assert await _redis_subscribers(services) in (None, 1)

        # The worker still delivers to whoever comes next.
        (to_alice,) = await open_subscriptions(services, url, [(accounts[0], TRANSPORT_WS)])
        await chat.send_message(services, accounts[1].id, accounts[0].id, "still here")
        assert (await to_alice.next_message())["content"] == "still here"
    await services.fanout.close()
    assert await _redis_subscribers(services) in (None, 0)


async def test_shutting_down_closes_every_subscription_and_the_redis_listener(services: Services) -> None:
    alice, bob = await add_users(services, 2)
    tasks_before = _tasks()
    async with serving(create_app(services=services)) as address:
        url = f"ws://{address}/graphql"
        sockets = await open_subscriptions(
            services, url, [(alice, TRANSPORT_WS), (alice, LEGACY_WS), (bob, TRANSPORT_WS)]
        )
    for socket in sockets:
        code, _reason = await socket.close_reason()
        assert code == 1012  # service restart: reconnect elsewhere
    assert services.fanout.inbox_count == 0
    assert services.fanout.metrics.sockets_open.value == 0
    await services.fanout.close()
    assert await _redis_subscribers(services) in (None, 0)
    await until(lambda: _tasks() <= tasks_before, 5, "every task to end")


async def test_a_peer_that_stops_reading_is_dropped_by_the_servers_pings(
    services: Services, tmp_path: Path
) -> None:
    """`manage.py serve` sends protocol pings (WS_PING_*): a client that reads nothing (a frozen tab, a dead
    network path) is closed with a reason instead of holding its subscription for ever."""
    (alice,) = await add_users(services, 1)
    environment = {
        **_environment(services),
        "WS_PING_INTERVAL_SECONDS": "0.2",
        "WS_PING_TIMEOUT_SECONDS": "0.3",
    }
    with app_process(tmp_path, environment) as address:
        socket = await subscribed(f"ws://{address}/graphql", alice.token)
        socket.connection.transport.pause_reading()
        await asyncio.sleep(1.5)
        socket.connection.transport.resume_reading()
        assert await socket.close_reason() == (1011, "keepalive ping timeout")


# Two processes on one MariaDB and one Redis


@pytest.fixture
async def shared_services(mariadb_backend: Backend, tmp_path: Path) -> AsyncIterator[Services]:
    """MariaDB + Redis services for tests whose servers run in processes of their own."""
    async with open_services(mariadb_backend, tmp_path) as opened:
        yield opened


def _environment(services: Services, redis_url: str | None = None) -> dict[str, str]:
    settings = services.settings
    return {
        "DATABASE_URL": settings.effective_database_url,
        "REDIS_URL": redis_url or settings.redis_url,
        "CACHE_PREFIX": settings.cache_prefix,
    }


async def _until_live(
    http: httpx.AsyncClient, prober: Account, sockets: list[tuple[GraphQLSocket, Account]]
) -> None:
    """A subscription starts when its server has registered it, a moment after `subscribe`: probe each one
    until a probe arrives (the tests then skip the prober's messages)."""
    for socket, account in sockets:
        for attempt in range(100):
            await rest_send(http, prober.token, account.id, f"probe {attempt}")
            try:
                await socket.next_message(0.2)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("the subscription never started")


@pytest.mark.services
async def test_a_message_sent_through_one_process_reaches_subscribers_on_another_within_a_second(
    shared_services: Services, tmp_path: Path
) -> None:
    alice, bob, prober = await add_users(shared_services, 3)
    environment = _environment(shared_services)
    with app_process(tmp_path, environment) as a, app_process(tmp_path, environment) as b:
        async with httpx.AsyncClient(base_url=f"http://{b}", timeout=10) as via_b:
            to_alice = await subscribed(f"ws://{a}/graphql", alice.token)
            bob_on_a = await subscribed(f"ws://{a}/graphql", bob.token, LEGACY_WS)
            bob_on_b = await subscribed(f"ws://{b}/graphql", bob.token)
            await _until_live(via_b, prober, [(to_alice, alice), (bob_on_a, bob), (bob_on_b, bob)])

            for index in range(3):
                started = time.monotonic()
                await rest_send(via_b, bob.token, alice.id, f"over there {index}")
                for socket in (to_alice, bob_on_a, bob_on_b):
                    message = await _next_from(socket, bob)
                    assert message["content"] == f"over there {index}"
                    assert (message["sender"]["id"], message["recipient"]["id"]) == (bob.gid, alice.gid)
                assert time.monotonic() - started < 1.0

            # Refused on these processes as on any: no token, a forged one.
            for payload, code in (({}, 4401), ({"Authorization": "Bearer forged"}, 4403)):
                socket = await GraphQLSocket.open(f"ws://{a}/graphql")
                await socket.send({"type": "connection_init", "payload": payload})
                assert await socket.close_reason() == (code, "UNAUTHENTICATED")


async def _next_from(socket: GraphQLSocket, sender: Account, within: float = 1.0) -> dict[str, Any]:
    """The next message `sender` wrote (late probes are skipped)."""
    deadline = time.monotonic() + within
    while True:
        message = await socket.next_message(max(0.01, deadline - time.monotonic()))
        if message["sender"]["id"] == sender.gid:
            return message


@pytest.mark.services
async def test_every_message_sent_while_redis_restarts_arrives_exactly_once(
    shared_services: Services, tmp_path: Path
) -> None:
    alice, bob, prober = await add_users(shared_services, 3)
    with throwaway_redis() as redis_server:
        environment = _environment(shared_services, redis_server.url)
        with app_process(tmp_path, environment) as a, app_process(tmp_path, environment) as b:
            async with httpx.AsyncClient(base_url=f"http://{b}", timeout=10) as via_b:
                to_alice = await subscribed(f"ws://{a}/graphql", alice.token)
                bob_on_b = await subscribed(f"ws://{b}/graphql", bob.token)
                await _until_live(via_b, prober, [(to_alice, alice), (bob_on_b, bob)])

                sent = []

                async def send(label: str, count: int) -> None:
                    for index in range(count):
                        content = f"{label} {index}"
                        await rest_send(via_b, bob.token, alice.id, content)
                        sent.append(content)

                await send("before", 3)
                redis_server.stop()
                await send("while down", 5)
                redis_server.start()
                await send("after", 5)
                await asyncio.sleep(0.5)
                await send("later", 2)

                for socket in (to_alice, bob_on_b):
                    received: list[dict[str, Any]] = []
                    while len(received) < len(sent):
                        message = await _next_from(socket, bob, within=15)
                        received.append(message)
                    assert [m["content"] for m in received] == sent
                    ids = [int(m["id"]) for m in received]
                    assert ids == sorted(set(ids))
                    with pytest.raises(TimeoutError):
                        await _next_from(socket, bob, within=1.0)
