"""Multipart form bodies read as they arrive, for the upload routes of both faces.

python-multipart's streaming parser (the one Starlette's own form parsing uses) turns the body into parts
chunk by chunk. The difference from `Request.form()`: a file part is written nowhere until `on_file` has
been called with the fields that came before it (the REST form's `token`) and has said where to write it,
so a refused upload costs no disk at all, and an accepted one is written once, straight to where it is
used (`StoredUpload.path`), instead of to a temporary file first. Everything is bounded: the number and
size of fields, the number of files and the bytes of each, and time, both between two chunks and for
the whole body (a client trickling bytes is dropped).

Imports nothing from the project's layers: every face uses it.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import python_multipart
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData, Headers, UploadFile

from core.body_limit import size_text, upload_too_large

if TYPE_CHECKING:  # defined for type checkers only
    from python_multipart.multipart import MultipartCallbacks


class FormError(Exception):
    """The body is malformed, over a limit, or too slow; `message` is for the client."""

    def __init__(self, message: str, *, timed_out: bool = False, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.timed_out = timed_out
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class FormLimits:
    max_file_bytes: int
    idle_timeout_seconds: float  # the longest wait for the next chunk
    total_timeout_seconds: float  # the longest the whole body may take
    max_files: int = 1
    max_fields: int = 32
    max_field_bytes: int = 1024 * 1024  # as Starlette's form parser: a GraphQL `operations` part fits


class StoredUpload(UploadFile):
    """An uploaded file, already written to `path` (open for reading from its start)."""

    def __init__(self, path: Path, file: BinaryIO, size: int, filename: str | None, headers: Headers) -> None:
        super().__init__(file, size=size, filename=filename, headers=headers)
        self.path = path


# Told the fields so far, the file part's field name and its file name; answers where to write it (or
# raises to refuse it, before any of its bytes is stored).
OnFile = Callable[[FormData, str, str], Awaitable[Path]]


@dataclass(slots=True)
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    disposition: bytes = b""
    name: str = ""
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _Events:
    """What the parser's (synchronous) callbacks saw during one `write`, handled afterwards with awaits."""

    def __init__(self) -> None:
        self.queue: list[tuple[str, _Part, bytes]] = []
        self.part = _Part()
        self._header_name = b""
        self._header_value = b""

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._begin,
            "on_part_data": self._data,
            "on_part_end": self._end,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }

    def _begin(self) -> None:
        self.part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        name = self._header_name.lower()
        if name == b"content-disposition":
            self.part.disposition = self._header_value
        self.part.headers.append((name, self._header_value))
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        self.queue.append(("headers", self.part, b""))

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.queue.append(("data", self.part, data[start:end]))

    def _end(self) -> None:
        self.queue.append(("end", self.part, b""))


def _boundary_and_charset(headers: Headers) -> tuple[bytes, str]:
    _, params = parse_options_header(headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise FormError("the multipart body has no boundary")
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        return boundary, codecs.lookup(charset).name
    except LookupError:
        return boundary, "utf-8"


class _Reader:
    def __init__(self, limits: FormLimits, on_file: OnFile, charset: str) -> None:
        self.limits = limits
        self.on_file = on_file
        self.charset = charset
        self.items: list[tuple[str, str | UploadFile]] = []
        self.fields = 0
        self.open_files: list[BinaryIO] = []
        # The file part being written: its target, path and size so far.
        self.target: tuple[BinaryIO, Path] | None = None
        self.size = 0

    def _decode(self, raw: bytes | bytearray) -> str:
        # Bytes that are not text stay visible as U+FFFD, which the parameter checks refuse.
        return bytes(raw).decode(self.charset, errors="replace")

    async def _start(self, part: _Part) -> None:
        _, options = parse_options_header(part.disposition)
        if b"name" not in options:
            raise FormError('a form part has no "name" in its Content-Disposition')
        part.name = self._decode(options[b"name"])
        if b"filename" not in options:
            self.fields += 1
            if self.fields > self.limits.max_fields:
                raise FormError(f"too many form fields: at most {self.limits.max_fields}")
            return
        part.filename = self._decode(options[b"filename"])
        if len(self.open_files) >= self.limits.max_files:
            raise FormError(f"too many files: at most {self.limits.max_files}")
        path = await self.on_file(FormData(self.items), part.name, part.filename)
        target = await asyncio.to_thread(path.open, "w+b")
        self.open_files.append(target)
        self.target, self.size = (target, path), 0

    async def _write(self, pieces: list[bytes]) -> None:
        assert self.target is not None
        self.size += sum(len(piece) for piece in pieces)
        if self.size > self.limits.max_file_bytes:
            raise FormError(upload_too_large(self.limits.max_file_bytes), too_large=True)
        await asyncio.to_thread(self.target[0].write, b"".join(pieces))

    async def _finish(self, part: _Part) -> None:
        if part.filename is None:
            self.items.append((part.name, self._decode(part.data)))
            return
        assert self.target is not None
        target, path = self.target
        await asyncio.to_thread(target.seek, 0)
        self.items.append(
            (part.name, StoredUpload(path, target, self.size, part.filename, Headers(raw=part.headers)))
        )
        self.target = None

    async def handle(self, events: _Events) -> None:
        pending: list[bytes] = []
        for kind, part, data in events.queue:
            if kind == "data" and part.filename is not None:
                pending.append(data)
                continue
            if pending:
                await self._write(pending)
                pending = []
            if kind == "headers":
                await self._start(part)
            elif kind == "data":
                if len(part.data) + len(data) > self.limits.max_field_bytes:
                    raise FormError(
                        f"a form field is too long: at most {size_text(self.limits.max_field_bytes)}"
                    )
                part.data.extend(data)
            else:
                await self._finish(part)
        if pending:
            await self._write(pending)
        events.queue.clear()

    def close(self) -> None:
        for target in self.open_files:
            target.close()


async def _chunks(stream: AsyncIterator[bytes], limits: FormLimits) -> AsyncGenerator[bytes, None]:
    """The body's chunks; FormError when the next one is later than the idle timeout or the whole
    body later than the total one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limits.total_timeout_seconds
    while True:
        wait = min(limits.idle_timeout_seconds, deadline - loop.time())
        try:
            yield await asyncio.wait_for(anext(stream), max(wait, 0))
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise FormError(
                "the upload was too slow: the server stopped waiting for it", timed_out=True
            ) from None


async def read_multipart(
    headers: Headers, stream: AsyncIterator[bytes], limits: FormLimits, on_file: OnFile
) -> FormData:
    """The whole form, each file part written where `on_file` said. On any failure the files opened so far
    are closed (removing them is the caller's: it chose where they went)."""
    boundary, charset = _boundary_and_charset(headers)
    reader = _Reader(limits, on_file, charset)
    events = _Events()
    parser = python_multipart.MultipartParser(boundary, events.callbacks())
    try:
        async with aclosing(_chunks(stream, limits)) as chunks:
            async for chunk in chunks:
                parser.write(chunk)
                await reader.handle(events)
        parser.finalize()
        await reader.handle(events)
    except FormParserError as error:
        reader.close()
        raise FormError("the multipart body is malformed") from error
    except BaseException:
        reader.close()
        raise
    return FormData(reader.items)
