"""Uploaded files: copied to a temporary file of our own with a size cap, never held whole in memory.

`spool_upload` serves both faces: Strawberry's `Upload` on ASGI and the REST route's form field are both
Starlette `UploadFile`s. `RequestBodyLimit` refuses an HTTP request whose declared length is far over the
cap before any of its body is read, so a 1 GB POST is not written to disk first only to be refused, and
stops reading a body without a declared length as soon as it passes the same limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import orjson
from starlette.datastructures import Headers, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers.errors import ErrorCode, bad_input

CHUNK_BYTES = 1024 * 1024
# Multipart framing and the other form fields on top of the file itself.
FORM_OVERHEAD_BYTES = 1024 * 1024


def too_large_message(max_bytes: int) -> str:
    return f"the file is larger than the {max_bytes / (1024 * 1024):g} MB limit"


def _copy_capped(source: BinaryIO, target: BinaryIO, max_bytes: int) -> int:
    """Copy chunk by chunk; stop as soon as the count passes the cap. Runs in a thread."""
    if source.seekable():
        source.seek(0)
    copied = 0
    while chunk := source.read(CHUNK_BYTES):
        copied += len(chunk)
        if copied > max_bytes:
            raise bad_input(too_large_message(max_bytes))
        target.write(chunk)
    target.flush()
    return copied


@contextlib.asynccontextmanager
async def scratch_directory(parent: Path, prefix: str) -> AsyncIterator[Path]:
    """A private temporary directory under `parent`, removed with its contents at the end; the file
    system work runs in a thread (removing a video-sized file is not free)."""
    await asyncio.to_thread(parent.mkdir, parents=True, exist_ok=True)
    path = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=prefix, dir=parent))
    try:
        yield path
    finally:
        await asyncio.to_thread(shutil.rmtree, path, ignore_errors=True)


@contextlib.asynccontextmanager
async def spool_upload(upload: UploadFile, max_bytes: int, directory: Path) -> AsyncIterator[Path]:
    """The upload as a file under `directory`, removed when the block ends. BAD_USER_INPUT over
    `max_bytes`, with nothing left behind."""
    if upload.size is not None and upload.size > max_bytes:
        raise bad_input(too_large_message(max_bytes))
    async with scratch_directory(directory, "upload-") as workdir:
        path = workdir / "upload"

        def _spool() -> None:
            with path.open("wb") as target:
                _copy_capped(upload.file, target, max_bytes)

        await asyncio.to_thread(_spool)
        yield path


class _BodyTooLargeError(Exception):
    """Raised from `receive` to stop the application reading an oversized body."""


class RequestBodyLimit:
    """ASGI wrapper: answer 413 with a GraphQL-shaped BAD_USER_INPUT error when a request body is over its
    limit: for a multipart upload one file at the cap plus the form around it, for anything else (a JSON
    operation, read whole into memory) `other_max_bytes`. At once when Content-Length says so, else as
    soon as the bytes received pass the limit (if the application has not started its answer yet)."""

    def __init__(self, app: ASGIApp, upload_max_bytes: int, other_max_bytes: int) -> None:
        self.app = app
        self.upload_max_bytes = upload_max_bytes
        self.other_max_bytes = other_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if headers.get("content-type", "").lower().startswith("multipart/"):
            max_body_bytes = self.upload_max_bytes + FORM_OVERHEAD_BYTES
            message = too_large_message(self.upload_max_bytes)
        else:
            max_body_bytes = self.other_max_bytes
            message = f"the request body is larger than the {self.other_max_bytes} byte limit"
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            await self._refuse(send, message)
            return
        received = 0
        answering = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body_bytes:
                    raise _BodyTooLargeError
            return message

        async def watching_send(message: Message) -> None:
            nonlocal answering
            answering = answering or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLargeError:
            if answering:
                raise
            await self._refuse(send, message)

    @staticmethod
    async def _refuse(send: Send, message: str) -> None:
        error = {"message": message, "extensions": {"code": ErrorCode.BAD_USER_INPUT}}
        body = orjson.dumps({"data": None, "errors": [error]})
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The unread body stays on the socket; the connection cannot be reused.
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
