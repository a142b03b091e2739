"""Receiving an upload's body, for both faces: admitted (a slot, scratch space) before any of its file is
stored, then read as it arrives (`core.multipart`) straight into the scratch directory the slot holds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from starlette.datastructures import FormData
from starlette.requests import Request

from core.body_limit import declared_length
from core.multipart import read_multipart
from resolvers.uploads import form_limits, receiving_upload
from schema.context import Context
from storage.services import Services

UPLOAD_FILE_NAME = "upload"
# Told the fields before the file part; answers the context to admit the upload for (the REST form's
# token may be among those fields), or raises to refuse it before any of the file is stored.
Admit = Callable[[FormData], Awaitable[Context]]


@asynccontextmanager
async def received_form(request: Request, services: Services, admit: Admit) -> AsyncIterator[FormData]:
    """The request's multipart form, its file written into a scratch directory that is held (with its
    upload slot) until the block ends, then removed. Raises what `admit` raises; DomainError
    (RATE_LIMITED) when the client or the server has no room for another upload; `core.multipart`'s
    FormError for a malformed, oversized or too slow body."""
    async with AsyncExitStack() as held:

        async def place(fields: FormData, _name: str, _filename: str) -> Path:
            context = await admit(fields)
            receiving = receiving_upload(
                services, context.viewer_id, context.client_address, declared_length(request.scope)
            )
            return (await held.enter_async_context(receiving)) / UPLOAD_FILE_NAME

        form = await read_multipart(request.headers, request.stream(), form_limits(services.settings), place)
        try:
            yield form
        finally:
            await form.close()
