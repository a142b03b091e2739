"""The per-request context every resolver receives, and how it is built from a token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from starlette.requests import Request
from strawberry.types import Info as StrawberryInfo

from resolvers.loaders import Loaders
from resolvers.sessions import signed_in_user
from storage.services import Services


@dataclass(slots=True)
class Context:
    services: Services
    request: Request | None
    viewer_id: int | None
    base_url: str
    loaders: Loaders
    request_id: str
    # The client's address (the proxy's X-Forwarded-For when it is trusted: FORWARDED_ALLOW_IPS), for
    # rate limits; None outside HTTP.
    client_address: str | None = None


Info = StrawberryInfo[Context, None]


def _base_url(services: Services, request: Request | None) -> str:
    configured = services.settings.public_base_url
    if configured:
        return configured.rstrip("/")
    if request is None:
        return ""
    return f"{request.url.scheme}://{request.url.netloc}"


async def build_context(services: Services, *, request: Request | None, token: str | None) -> Context:
    """`token` is the bare JWT. A missing, invalid, expired or revoked one means anonymous. Checking
    that a token is not revoked reads its user's token version, from the cache in the common case."""
    viewer_id = await signed_in_user(services, token)
    # Set by the app's request-id middleware; a context built outside HTTP gets its own.
    state = request.scope.get("state") if request is not None else None
    request_id = str((state or {}).get("request_id") or uuid.uuid4().hex)
    if state is not None:
        state["viewer_id"] = viewer_id  # for the request line
    return Context(
        services=services,
        request=request,
        viewer_id=viewer_id,
        base_url=_base_url(services, request),
        loaders=Loaders.for_request(services.db, viewer_id),
        request_id=request_id,
        client_address=request.client.host if request is not None and request.client is not None else None,
    )
