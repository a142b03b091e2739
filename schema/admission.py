"""The request-wide rate limit (RATE_LIMIT_OPERATIONS_PER_ADDRESS / _PER_USER), for both faces: every
HTTP request to `/graphql` and every douyin route is counted once, before any of it runs."""

from __future__ import annotations

from resolvers import rate_limits
from resolvers.rate_limits import Action, Client
from schema.context import Context


async def admit(context: Context) -> None:
    """RATE_LIMITED (a `DomainError` with `retry_after`) when this request is one too many."""
    client = Client(context.viewer_id, context.client_address)
    await rate_limits.enforce(context.services, Action.OPERATION, client)
