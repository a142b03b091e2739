"""uvicorn's HTTP protocol with a header read timeout, which uvicorn lacks.

uvicorn closes a keep-alive connection that stays idle after a response, but not one that never sends a
request, nor one that sends its request line and headers a byte at a time: those stay open for as long as
the client likes. Here a connection must complete each request's headers within HEADER_READ_TIMEOUT_SECONDS
of connecting or of the previous response ending; otherwise it gets a 408 and is closed. The clock stops
once the headers are in (the body has its own timeout: core/read_timeouts.py) and when the connection is
upgraded to a WebSocket.

`manage.py serve` names the class to uvicorn (`http=PROTOCOL`); the timeout is read from the settings in
each worker, as uvicorn builds protocol instances itself and passes them only its own configuration.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Fast
except ImportError:  # pragma: no cover - httptools comes with uvicorn[standard]
    _Fast = None  # type: ignore[assignment,misc]

from settings import Settings

TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class HeaderDeadline:
    """Mixed into a uvicorn HTTP protocol (both keep `transport`, `cycle` and `loop`)."""

    # Read from the settings on first use, in each worker process.
    header_timeout_seconds: float | None = None
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any

    def _arm(self) -> None:
        self._disarm()
        self._waiting_since_cycle = self.cycle
        self._header_timer: asyncio.TimerHandle | None = self.loop.call_later(
            self._timeout(), self._headers_timed_out
        )

    @classmethod
    def _timeout(cls) -> float:
        if cls.header_timeout_seconds is None:
            cls.header_timeout_seconds = Settings().header_read_timeout_seconds
        return cls.header_timeout_seconds

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _owns_transport(self) -> bool:
        """False once an upgrade has handed the transport to a WebSocket protocol."""
        protocol: object = self.transport.get_protocol()
        return protocol is self

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing() and self._owns_transport():
            self.transport.write(TIMED_OUT)
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if getattr(self, "_header_timer", None) is None:
            return
        # A new request cycle starts once its headers are parsed; an upgrade hands the transport over.
        if self.cycle is not self._waiting_since_cycle or not self._owns_transport():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


class H11WithHeaderDeadline(HeaderDeadline, H11Protocol):
    pass


if _Fast is not None:

    class HttpToolsWithHeaderDeadline(HeaderDeadline, _Fast):
        pass

    # What uvicorn's `auto` would pick (httptools when installed), as an import string: each worker
    # process imports it itself.
    PROTOCOL = "core.server_protocol:HttpToolsWithHeaderDeadline"
else:  # pragma: no cover
    PROTOCOL = "core.server_protocol:H11WithHeaderDeadline"
