"""The WebSocket connections a process has accepted, so that it can close them itself when it goes away.

An ASGI middleware records each accepted connection's `send`; `close_all` sends a close frame (1001,
going away) on each, after which anything the app still sends on that connection is dropped (the app
finishes when the client answers the close, as on any close).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

GOING_AWAY = 1001
GOING_AWAY_REASON = "server going away"


class _Connection:
    __slots__ = ("accepted", "closed", "send")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.accepted = False
        self.closed = False


class OpenSockets:
    def __init__(self) -> None:
        self._connections: set[_Connection] = set()

    def __len__(self) -> int:
        return sum(1 for connection in self._connections if connection.accepted and not connection.closed)

    async def close_all(self, code: int = GOING_AWAY, reason: str = GOING_AWAY_REASON) -> int:
        """Closes every accepted, still open connection; how many."""
        closed = 0
        for connection in list(self._connections):
            if connection.accepted and not connection.closed:
                connection.closed = True
                try:
                    await connection.send({"type": "websocket.close", "code": code, "reason": reason})
                except Exception:  # already gone; nothing to close
                    continue
                closed += 1
        return closed

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        connection = _Connection(send)

        async def tracked_send(message: Message) -> None:
            if connection.closed:
                return
            if message["type"] == "websocket.accept":
                connection.accepted = True
            elif message["type"] == "websocket.close":
                connection.closed = True
            await send(message)

        self._connections.add(connection)
        try:
            await app(scope, receive, tracked_send)
        finally:
            self._connections.discard(connection)


class OpenSocketsMiddleware:
    def __init__(self, app: ASGIApp, sockets: OpenSockets) -> None:
        self.app = app
        self.sockets = sockets

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        await self.sockets.serve(self.app, scope, receive, send)
