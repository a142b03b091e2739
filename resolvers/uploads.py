"""Uploaded files: copied to a temporary file of our own with a size cap, never held whole in memory.

`spool_upload` serves both faces: Strawberry's `Upload` on ASGI and the REST route's form field are both
Starlette `UploadFile`s. The HTTP body limit in front of both faces (`core.body_limit`) has already refused a
body far over the cap before it was read; this is the exact check on the file itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from starlette.datastructures import UploadFile

from core.body_limit import upload_too_large
from resolvers.errors import bad_input

CHUNK_BYTES = 1024 * 1024


def _copy_capped(source: BinaryIO, target: BinaryIO, max_bytes: int) -> int:
    """Copy chunk by chunk; stop as soon as the count passes the cap. Runs in a thread."""
    if source.seekable():
        source.seek(0)
    copied = 0
    while chunk := source.read(CHUNK_BYTES):
        copied += len(chunk)
        if copied > max_bytes:
            raise bad_input(upload_too_large(max_bytes))
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
        raise bad_input(upload_too_large(max_bytes))
    async with scratch_directory(directory, "upload-") as workdir:
        path = workdir / "upload"

        def _spool() -> None:
            with path.open("wb") as target:
                _copy_capped(upload.file, target, max_bytes)

        await asyncio.to_thread(_spool)
        yield path
