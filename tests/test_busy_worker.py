"""A worker busy with every request it can take still lets new clients in: a phone connecting to it is
answered within a few rounds of the connections already open, not after one round per connection
ahead of it (uvloop's accepting on a saturated loop, hence SERVER_LOOP's default)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.servers import serving

BUSY_CONNECTIONS = 16
NEWCOMERS = 16
REQUEST = b"GET /douyin/feed/ HTTP/1.1\r\nHost: test\r\n\r\n"


async def _answer(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)


async def _rounds_newcomers_waited(port: int) -> list[float]:
    """For each newcomer: how many requests per busy connection were answered between its connecting and
    its own first answer."""
    answered = 0
    stop, saturated = asyncio.Event(), asyncio.Event()

    async def busy() -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not stop.is_set():
            writer.write(REQUEST)
            await _answer(reader)
            answered += 1
            if answered >= 20 * BUSY_CONNECTIONS:  # the worker saturated, every busy client served a while
                saturated.set()
        writer.close()

    async def newcomer() -> float:
        before = answered
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        await _answer(reader)
        writer.close()
        return (answered - before) / BUSY_CONNECTIONS

    clients = [asyncio.create_task(busy()) for _ in range(BUSY_CONNECTIONS)]
    await saturated.wait()
    waited = await asyncio.gather(*(newcomer() for _ in range(NEWCOMERS)))
    stop.set()
    await asyncio.gather(*clients)
    return list(waited)


async def test_new_connections_to_a_saturated_worker_are_answered_within_a_few_rounds(tmp_path: Path) -> None:
    with serving(tmp_path / "var", steps=("migrate", "seed")) as base:
        port = urlsplit(base).port
        assert port is not None
        waited = await _rounds_newcomers_waited(port)
    # Accepted together on the next turn of the loop, each newcomer waits about two rounds; taken one
    # per turn, the last of them waited about NEWCOMERS rounds.
    assert max(waited) <= NEWCOMERS / 3, waited
