"""Rate limits per client address and per signed-in user, checked here, in behaviour, so `/graphql` and
the douyin routes share them. Each limit is a setting (`RATE_LIMIT_<ACTION>_PER_ADDRESS` / `_PER_USER`,
in the `limits` notation); the counters live in `storage.rate_limits` (Redis when configured)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from limits import RateLimitItem, parse_many

from resolvers.errors import rate_limited
from settings import Settings
from storage.services import Services


class Action(StrEnum):
    OPERATION = "operations"  # any request to /graphql or a douyin route
    REGISTER = "register"
    SIGN_IN = "sign_in"
    COMMENT = "comment"
    MESSAGE = "message"
    SOCIAL = "social"  # likes and follows, and undoing them
    UPLOAD = "upload"


_REFUSALS = {
    Action.OPERATION: "Too many requests",
    Action.REGISTER: "Too many new accounts from this address",
    Action.SIGN_IN: "Too many sign-ins from this address",
    Action.COMMENT: "Too many comments",
    Action.MESSAGE: "Too many messages",
    Action.SOCIAL: "Too many likes and follows",
    Action.UPLOAD: "Too many uploads",
}


@dataclass(frozen=True, slots=True)
class Client:
    """Who is acting: the signed-in user (None: anonymous) and the client address (None: unknown, e.g.
    a call from inside the process)."""

    user_id: int | None = None
    address: str | None = None


@lru_cache(maxsize=64)
def _items(notation: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(notation)) if notation.strip() else ()


def address_key(address: str) -> str:
    """IPv6 clients are counted by /64 (one subscriber's usual allocation, where every address is
    theirs to pick); IPv4 ones by address."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def _limits_of(settings: Settings, action: Action, client: Client) -> list[tuple[str, str, str]]:
    """(limit notation, scope, who) for each limit that applies to this client."""
    found: list[tuple[str, str, str]] = []
    per_user = getattr(settings, f"rate_limit_{action.value}_per_user", "")
    per_address = getattr(settings, f"rate_limit_{action.value}_per_address", "")
    if client.user_id is not None and per_user:
        found.append((per_user, "user", str(client.user_id)))
    if client.address and per_address:
        found.append((per_address, "address", address_key(client.address)))
    return found


async def enforce(services: Services, action: Action, client: Client) -> None:
    """Count one `action` by `client`; RATE_LIMITED (with the seconds to wait) when that is one too many.
    The first limit refusing stops the count, so a refused request uses up no other limit."""
    settings = services.settings
    if not settings.rate_limits_enabled:
        return
    for notation, scope, who in _limits_of(settings, action, client):
        for item in _items(notation):
            wait = await services.limits.hit(item, action.value, scope, who)
            if wait > 0:
                raise rate_limited(_REFUSALS[action], wait)
