"""Contract: sending messages and polling a conversation over REST, without duplicates."""

from __future__ import annotations

from typing import Any

import httpx

from storage.services import Services
from tests.support.factories import add_messages, expired_token
from tests.support.rest import check_message, fails, ok, register

T0 = 1_700_000_000_000


async def send(client: httpx.AsyncClient, token: str, to_user_id: int, content: str) -> None:
    params = {"token": token, "to_user_id": to_user_id, "action_type": 1, "content": content}
    await ok(client, "POST", "/message/action/", params)


async def chat(
    client: httpx.AsyncClient, token: str, peer: int, pre_msg_time: int | None = None
) -> list[dict[str, Any]]:
    params: dict[str, object] = {"token": token, "to_user_id": peer}
    if pre_msg_time is not None:
        params["pre_msg_time"] = pre_msg_time
    messages: list[dict[str, Any]] = (await ok(client, "GET", "/message/chat/", params))["message_list"]
    return messages


async def test_messages_need_no_friendship_and_both_sides_see_them(client: httpx.AsyncClient) -> None:
    alice, alice_token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    await send(client, alice_token, bob, "Send to UserB")
    await send(client, bob_token, alice, "回复 👋")
    for token, peer in ((alice_token, bob), (bob_token, alice)):
        messages = await chat(client, token, peer)
        for message in messages:
            check_message(message)
        assert [(m["from_user_id"], m["to_user_id"], m["content"]) for m in messages] == [
            (alice, bob, "Send to UserB"),
            (bob, alice, "回复 👋"),
        ]
        assert messages[0]["create_time"] < messages[1]["create_time"]


async def test_polling_with_the_newest_create_time_returns_only_new_messages(
    client: httpx.AsyncClient,
) -> None:
    alice, alice_token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    for index in range(3):
        await send(client, alice_token, bob, f"m{index}")
    first_load = await chat(client, bob_token, alice, 0)
    assert [m["content"] for m in first_load] == ["m0", "m1", "m2"]
    newest = first_load[-1]["create_time"]
    assert await chat(client, bob_token, alice, newest) == []
    assert await chat(client, bob_token, alice, newest) == []
    await send(client, alice_token, bob, "m3")
    fresh = await chat(client, bob_token, alice, newest)
    assert [m["content"] for m in fresh] == ["m3"]
    assert await chat(client, bob_token, alice, fresh[-1]["create_time"]) == []
    assert [m["content"] for m in await chat(client, bob_token, alice, first_load[0]["create_time"])] == [
        "m1",
        "m2",
        "m3",
    ]


async def test_messages_sent_in_the_same_millisecond_are_all_polled_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, alice_token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    for _ in range(5):
        await send(client, alice_token, bob, "burst")
    times = [m["create_time"] for m in await chat(client, bob_token, alice)]
    assert len(times) == len(set(times)) == 5
    seen: list[int] = []
    cursor = 0
    while batch := await chat(client, bob_token, alice, cursor):
        seen.extend(m["id"] for m in batch[:1])
        cursor = batch[0]["create_time"]
    assert len(seen) == len(set(seen)) == 5


async def test_whole_conversation_spans_many_pages(client: httpx.AsyncClient, services: Services) -> None:
    alice, alice_token = await register(client, "alice")
    bob, _ = await register(client, "bob")
    await add_messages(services, alice, bob, 130, start_ms=T0)
    await add_messages(services, bob, alice, 100, start_ms=T0 + 1000)
    messages = await chat(client, alice_token, bob)
    assert len(messages) == 230
    times = [m["create_time"] for m in messages]
    assert times == sorted(times)
    assert len(set(times)) == 230
    assert [m["create_time"] for m in await chat(client, alice_token, bob, T0 + 1049)] == list(
        range(T0 + 1050, T0 + 1100)
    )


async def test_message_failures_send_nothing(client: httpx.AsyncClient, services: Services) -> None:
    alice, token = await register(client, "alice")
    bob, bob_token = await register(client, "bob")
    base = {"token": token, "to_user_id": bob, "action_type": 1}
    cases: list[tuple[dict[str, Any], int]] = [
        ({**base, "content": "hi", "token": "forged"}, 1),
        ({**base, "content": "hi", "token": expired_token(services, alice)}, 1),
        ({"to_user_id": bob, "action_type": 1, "content": "hi"}, 1),
        ({**base, "content": ""}, 2),
        ({**base}, 2),
        ({**base, "content": "x" * 1001}, 2),
        ({**base, "content": "hi", "action_type": 2}, 2),
        ({**base, "content": "hi", "to_user_id": "bob"}, 2),
        ({**base, "content": "hi", "to_user_id": bob + 100}, 3),
    ]
    for params, status in cases:
        body = await fails(client, "POST", "/message/action/", params)
        assert body["status_code"] == status, (params, body)
    assert await chat(client, bob_token, alice) == []


async def test_chat_failures(client: httpx.AsyncClient) -> None:
    _, token = await register(client, "alice")
    bob, _ = await register(client, "bob")
    cases: list[tuple[dict[str, Any], int]] = [
        ({"to_user_id": bob}, 1),
        ({"token": "forged", "to_user_id": bob}, 1),
        ({"token": token}, 2),
        ({"token": token, "to_user_id": bob, "pre_msg_time": "yesterday"}, 2),
    ]
    for params, status in cases:
        body = await fails(client, "GET", "/message/chat/", params)
        assert (body["status_code"], body["message_list"]) == (status, [])
