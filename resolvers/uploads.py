"""Uploaded files: received into scratch space of our own with a size cap, never held whole in memory.

`receiving_upload` admits one upload before any of its file is stored: a slot of the user's and the
address's (UPLOAD_MAX_CONCURRENT_PER_*) and room in the scratch space (UPLOAD_SCRATCH_MAX_MIB), held
until the upload is published or refused. The faces then read the body with `core.multipart`, which
writes the file part straight into the directory it was given (a `StoredUpload`), so `spool_upload`
uses it where it is. Any other `UploadFile` (a test's, or a form read some other way) is copied into
scratch space with the cap. The HTTP body limit in front of both faces (`core.body_limit`) has already
refused a body far over the cap before it was read; this is the exact check on the file itself.
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

from core.body_limit import FORM_ALLOWANCE_BYTES, MIB, upload_too_large
from core.multipart import FormLimits, StoredUpload
from resolvers.errors import bad_input, rate_limited
from resolvers.rate_limits import address_key
from settings import Settings
from storage.services import Services
from storage.upload_slots import SlotLimits, UploadSlotRefusedError

CHUNK_BYTES = 1024 * 1024
# How long a client refused a slot is told to wait: about the time an upload in progress needs.
SLOT_RETRY_SECONDS = 10
_SLOT_REFUSALS = {
    "user": "You have too many uploads in progress",
    "address": "Too many uploads in progress from this address",
    "anonymous": "Too many uploads in progress from this address; send the token before the file",
    "space": "The server is receiving too many uploads",
}


def scratch_root(services: Services) -> Path:
    """Where uploads and intermediate files live while a video is published."""
    return services.settings.data_dir / "tmp"


def form_limits(settings: Settings) -> FormLimits:
    return FormLimits(
        max_file_bytes=settings.upload_max_bytes,
        idle_timeout_seconds=settings.upload_idle_timeout_seconds,
        total_timeout_seconds=settings.upload_read_timeout_seconds,
    )


@contextlib.asynccontextmanager
async def receiving_upload(
    services: Services, user_id: int | None, address: str | None, declared_bytes: int | None
) -> AsyncIterator[Path]:
    """A scratch directory for one upload being received, with its slot held until the block ends;
    RATE_LIMITED (nothing stored) when the user, the address or the scratch space has no room for it."""
    settings = services.settings
    limits = SlotLimits(
        per_user=settings.upload_max_concurrent_per_user,
        per_address=settings.upload_max_concurrent_per_address,
        anonymous_per_address=settings.upload_max_concurrent_anonymous_per_address,
        max_reserved_bytes=settings.upload_scratch_max_mib * MIB,
    )
    ceiling = settings.upload_max_bytes + FORM_ALLOWANCE_BYTES
    reserve = min(declared_bytes, ceiling) if declared_bytes is not None else ceiling
    user = str(user_id) if user_id is not None else None
    where = address_key(address) if address else None
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(services.uploads.hold(limits, user=user, address=where, reserve_bytes=reserve))
        except UploadSlotRefusedError as refused:
            raise rate_limited(_SLOT_REFUSALS[refused.reason], SLOT_RETRY_SECONDS) from None
        async with scratch_directory(scratch_root(services), "upload-") as workdir:
            yield workdir


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
    `max_bytes`, with nothing left behind. A `StoredUpload` is already in scratch space: used where it is
    (its receiver removes it)."""
    if upload.size is not None and upload.size > max_bytes:
        raise bad_input(upload_too_large(max_bytes))
    if isinstance(upload, StoredUpload):
        yield upload.path
        return
    async with scratch_directory(directory, "upload-") as workdir:
        path = workdir / "upload"

        def _spool() -> None:
            with path.open("wb") as target:
                _copy_capped(upload.file, target, max_bytes)

        await asyncio.to_thread(_spool)
        yield path
