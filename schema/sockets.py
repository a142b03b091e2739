"""GraphQL over WebSocket on `/graphql`: `graphql-transport-ws` and the legacy `graphql-ws`.

Sign-in happens once per connection, at `connection_init`: the token comes from its payload
(`{"Authorization": "Bearer <token>"}`, since browsers cannot set headers on a WebSocket) or else from the
handshake's `Authorization` header. A connection without a valid token is refused with the same codes on
both protocols, and the reason `UNAUTHENTICATED`:

- 4401 when no token came at all (retrying cannot help; the graphql-ws client gives up on 4401);
- 4403 when a token came but is forged, malformed or expired (a client may retry with a fresh one).

On the legacy protocol a `connection_error` carrying the coded error precedes the close. A client that
does not send `connection_init` within `WS_INIT_TIMEOUT_SECONDS` is closed with 4408 (Strawberry does this
for graphql-transport-ws; the legacy handler here does the same). Keep-alive: uvicorn sends protocol pings
on both (`WS_PING_INTERVAL_SECONDS`); the legacy protocol also gets its `ka` messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, fields

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyInitMessage

from resolvers.errors import ErrorCode
from resolvers.loaders import Loaders
from resolvers.sessions import signed_in_user
from schema.context import Context

NO_TOKEN = 4401
BAD_TOKEN = 4403
INIT_TIMEOUT = 4408
REFUSED_REASON = ErrorCode.UNAUTHENTICATED.value
_BEARER = "bearer "


@dataclass(slots=True)
class SocketContext(Context):
    """The context of one WebSocket connection, shared by every operation it runs."""

    # Set by Strawberry from the `connection_init` payload.
    connection_params: dict[str, object] | None = None
    # The handshake's bearer token, if any (the payload's takes precedence).
    handshake_token: str | None = None

    @classmethod
    def of(cls, context: Context, handshake_token: str | None) -> SocketContext:
        values = {item.name: getattr(context, item.name) for item in fields(Context)}
        return cls(**values, handshake_token=handshake_token)


class SocketRefusedError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def connection_error(self) -> dict[str, object]:
        return {"message": self.message, "extensions": {"code": REFUSED_REASON}}


def _payload_authorization(params: Mapping[str, object] | None) -> object:
    for key, value in (params or {}).items():
        if key.lower() == "authorization":
            return value
    return None


def _token_given(context: SocketContext) -> tuple[bool, str | None]:
    """(whether any credential came, the bare token when it is a well-formed bearer credential)."""
    value = _payload_authorization(context.connection_params)
    if value is None or value == "":
        return context.handshake_token is not None, context.handshake_token
    if not isinstance(value, str) or value[: len(_BEARER)].lower() != _BEARER:
        return True, None
    return True, value[len(_BEARER) :].strip() or None


async def authenticate(context: SocketContext) -> None:
    """Signs the connection in, or raises `SocketRefusedError` with the close code."""
    given, token = _token_given(context)
    if not given:
        raise SocketRefusedError(NO_TOKEN, "Sign in first: send a token in connection_init")
    services = context.services
    viewer_id = await signed_in_user(services, token)
    if viewer_id is None:
        raise SocketRefusedError(BAD_TOKEN, "The token is invalid or expired")
    context.viewer_id = viewer_id
    context.loaders = Loaders.for_request(services.db, viewer_id)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketRefusedError as refusal:
            self.context.services.fanout.metrics.sockets_refused.inc()
            await self.websocket.close(code=refusal.code, reason=REFUSED_REASON)

    async def handle_connection_init_timeout(self) -> None:
        await super().handle_connection_init_timeout()
        if self.connection_timed_out:
            self.context.services.fanout.metrics.sockets_refused.inc()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """Strawberry's graphql-ws handler with the init timeout it lacks, and coded refusals."""

    _init_timer: asyncio.Task[None] | None = None

    async def handle(self) -> None:
        self._init_timer = asyncio.create_task(self._close_unless_initialised())
        try:
            await super().handle()
        finally:
            self._init_timer.cancel()
            with suppress(asyncio.CancelledError):
                await self._init_timer

    async def _close_unless_initialised(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        if not self.connection_acknowledged:
            self.context.services.fanout.metrics.sockets_refused.inc()
            with suppress(Exception):
                await self.websocket.close(code=INIT_TIMEOUT, reason="Connection initialisation timeout")

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        if self._init_timer is not None:
            self._init_timer.cancel()
        try:
            await super().handle_connection_init(message)
        except SocketRefusedError as refusal:
            self.context.services.fanout.metrics.sockets_refused.inc()
            await self.send_message({"type": "connection_error", "payload": refusal.connection_error()})
            await self.websocket.close(code=refusal.code, reason=REFUSED_REASON)
