"""A body read timeout, which uvicorn lacks: a request whose body stops arriving is answered 408 and its
connection closed, instead of holding a worker's memory, scratch space and a connection for as long as
the client likes.

Each wait for the next piece of the body is bounded (as nginx's `client_body_timeout`: the time between
two reads, not the whole transfer, so a large upload on a slow but steady link is not cut). When a wait
runs out the application is told the client went away (`http.disconnect`, which every reader of the body
already handles), whatever it then sends is dropped, and the client gets the 408.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TIMED_OUT_BODY = orjson.dumps({"error": "the request body did not arrive in time"})


class BodyReadTimeout:
    def __init__(self, app: ASGIApp, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reading = True
        timed_out = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal reading, timed_out
            if timed_out:
                return {"type": "http.disconnect"}
            if not reading:  # the body is in: what is left is waiting for a disconnect
                return await receive()
            try:
                # A deadline on this task, not `wait_for`'s new task per read.
                async with asyncio.timeout(self.timeout_seconds):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                reading = False
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out and not started:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except Exception:
            if not timed_out:
                raise
        if timed_out and not started:
            await send(
                {
                    "type": "http.response.start",
                    "status": 408,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(TIMED_OUT_BODY)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": TIMED_OUT_BODY})
