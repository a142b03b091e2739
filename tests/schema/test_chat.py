"""Messages: sending, the conversation, and its time window."""

from __future__ import annotations

import httpx

from storage.services import Services
from tests.support.clocks import ScriptedClock
from tests.support.factories import add_users
from tests.support.graphql import data_of, error_codes

SEND = """
mutation($to: ID!, $c: String!) {
  sendMessage(toUserId: $to, content: $c) { id content createdAt sender { id } recipient { id } }
}"""
CONVERSATION = """
query($with: ID!, $after: DateTime, $first: Int) {
  conversation(withUserId: $with, after: $after, first: $first) { id content createdAt sender { id } }
}"""


async def test_send_needs_no_friendship_and_conversation_has_both_directions(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, bob, carol = await add_users(services, 3)
    sent = (await data_of(client, SEND, {"to": bob.gid, "c": "hi bob 👋"}, token=alice.token))["sendMessage"]
    assert sent["sender"] == {"id": alice.gid}
    assert sent["recipient"] == {"id": bob.gid}
    await data_of(client, SEND, {"to": alice.gid, "c": "hi alice"}, token=bob.token)
    await data_of(client, SEND, {"to": carol.gid, "c": "elsewhere"}, token=alice.token)

    for viewer, other in ((alice, bob), (bob, alice)):
        messages = (await data_of(client, CONVERSATION, {"with": other.gid}, token=viewer.token))[
            "conversation"
        ]
        assert [m["content"] for m in messages] == ["hi bob 👋", "hi alice"]
        assert messages[0]["createdAt"] < messages[1]["createdAt"]

    first_at = sent["createdAt"]
    newer = (await data_of(client, CONVERSATION, {"with": bob.gid, "after": first_at}, token=alice.token))[
        "conversation"
    ]
    assert [m["content"] for m in newer] == ["hi alice"]
    limited = (await data_of(client, CONVERSATION, {"with": bob.gid, "first": 1}, token=alice.token))[
        "conversation"
    ]
    assert [m["content"] for m in limited] == ["hi bob 👋"]


async def test_messages_in_the_same_millisecond_get_distinct_times(
    client: httpx.AsyncClient, services: Services
) -> None:
    alice, bob = await add_users(services, 2)
    services.clock = ScriptedClock([1_796_092_800_000])
    times = []
    for index in range(3):
        sent = await data_of(client, SEND, {"to": bob.gid, "c": f"m{index}"}, token=alice.token)
        times.append(sent["sendMessage"]["createdAt"])
    assert times == ["2026-12-01T02:40:00.000Z", "2026-12-01T02:40:00.001Z", "2026-12-01T02:40:00.002Z"]
    # Polling after the first one returns exactly the other two.
    newer = (await data_of(client, CONVERSATION, {"with": alice.gid, "after": times[0]}, token=bob.token))[
        "conversation"
    ]
    assert [m["content"] for m in newer] == ["m1", "m2"]


async def test_chat_errors(client: httpx.AsyncClient, services: Services) -> None:
    alice, bob = await add_users(services, 2)
    assert await error_codes(client, SEND, {"to": bob.gid, "c": "x"}) == ["UNAUTHENTICATED"]
    assert await error_codes(client, CONVERSATION, {"with": bob.gid}) == ["UNAUTHENTICATED"]
    assert await error_codes(client, SEND, {"to": alice.gid, "c": "me"}, token=alice.token) == [
        "BAD_USER_INPUT"
    ]
    assert await error_codes(client, SEND, {"to": "99999", "c": "x"}, token=alice.token) == ["NOT_FOUND"]
    assert await error_codes(client, CONVERSATION, {"with": "99999"}, token=alice.token) == ["NOT_FOUND"]
    assert await error_codes(client, SEND, {"to": bob.gid, "c": ""}, token=alice.token) == ["BAD_USER_INPUT"]
    assert await error_codes(client, SEND, {"to": bob.gid, "c": "é" * 1001}, token=alice.token) == [
        "BAD_USER_INPUT"
    ]
    assert await error_codes(client, CONVERSATION, {"with": bob.gid, "first": 101}, token=alice.token) == [
        "QUERY_TOO_COMPLEX"
    ]
    assert await error_codes(client, CONVERSATION, {"with": bob.gid, "first": -1}, token=alice.token) == [
        "BAD_USER_INPUT"
    ]
    long_message = (await data_of(client, SEND, {"to": bob.gid, "c": "é" * 1000}, token=alice.token))[
        "sendMessage"
    ]
    assert len(long_message["content"]) == 1000


async def test_message_times_keep_growing_when_the_clock_steps_back(
    client: httpx.AsyncClient, services: Services
) -> None:
    """A second server whose clock is behind (or an NTP step back) must not give a later message an
    earlier time: a client polling with the newest time it saw would never see that message."""
    alice, bob = await add_users(services, 2)
    services.clock = ScriptedClock([1_796_092_800_500, 1_796_092_800_000, 1_796_092_800_001])
    times = []
    for index in range(3):
        sent = await data_of(client, SEND, {"to": bob.gid, "c": f"m{index}"}, token=alice.token)
        times.append(sent["sendMessage"]["createdAt"])
    assert times == ["2026-12-01T02:40:00.500Z", "2026-12-01T02:40:00.501Z", "2026-12-01T02:40:00.502Z"]
    newer = (await data_of(client, CONVERSATION, {"with": alice.gid, "after": times[0]}, token=bob.token))[
        "conversation"
    ]
    assert [m["content"] for m in newer] == ["m1", "m2"]
