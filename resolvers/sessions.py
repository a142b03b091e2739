"""Revocable tokens: each user has a token version; signing out or changing the password adds one, and a
token of any other version is refused on every face (GraphQL `Authorization`, REST `token`, WebSocket).

The check runs on every authenticated request, so the version is read from the shared cache (one GET) and
from the database only on a miss. A miss fills the cache with `add` (set only where nothing is), and a
change stores the new version after its commit with `set`, so a slow reader can never put back a version
older than the change it raced with. While Redis is unreachable each worker caches versions in-process
for at most CACHE_DEGRADED_TTL_SECONDS (a sign-out on another worker reaches this one within that).
"""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from resolvers.auth import issue_token, token_claims
from resolvers.errors import unauthenticated
from resolvers.passwords import hash_password, verify_password
from resolvers.validation import check_text
from storage.models import User
from storage.services import Services

log = logging.getLogger("douyin")

VERSION_TTL_SECONDS = 600


def _key(user_id: int) -> str:
    return f"token-version:{user_id}"


_VERSION_OF = select(col(User.token_version)).where(col(User.id) == bindparam("user_id"))


async def _stored_version(services: Services, user_id: int) -> int | None:
    # A small read of its own (inline on SQLite): a burst of sign-ins, thousands of WebSockets
    # connecting at once, must not queue for pooled connections.
    rows = await services.db.rows(_VERSION_OF, {"user_id": user_id})
    return int(rows[0][0]) if rows else None


async def token_version(services: Services, user_id: int) -> int | None:
    """The user's current token version; None when there is no such user."""
    cached = await services.cache.get(_key(user_id))
    if cached is not None:
        return int(cached)
    version = await _stored_version(services, user_id)
    if version is not None:
        await services.cache.add(_key(user_id), str(version).encode(), VERSION_TTL_SECONDS)
    return version


async def remember_version(services: Services, user: User) -> None:
    """After a sign-in: the requests that follow find the user's version in the cache."""
    if user.id is not None:
        await services.cache.add(_key(user.id), str(user.token_version).encode(), VERSION_TTL_SECONDS)


async def signed_in_user(services: Services, token: str | None) -> int | None:
    """The user a token signs in, or None when it is missing, forged, expired or revoked."""
    claims = token_claims(services.settings, token)
    if claims is None:
        return None
    user_id, version = claims
    try:
        current = await token_version(services, user_id)
    except (DBAPIError, OSError) as error:
        # The database is unreachable and the version not cached: everything this request would read
        # or write fails on its own, with a clear error; refusing the token here would tell the client
        # to sign in again, for an outage.
        log.warning("token version unavailable (%s); the token's own claims are used", type(error).__name__)
        return user_id
    return user_id if current == version else None


async def _next_version(services: Services, user_id: int, **changes: str) -> int:
    """Adds one to the user's token version (with `changes` to the row, in the same statement)."""
    async with services.db.write() as session:
        await session.execute(
            update(User)
            .where(col(User.id) == user_id)
            .values(token_version=col(User.token_version) + 1, **changes)
        )
        found = await session.execute(select(col(User.token_version)).where(col(User.id) == user_id))
        version = int(found.scalar_one())
    await services.cache.set(_key(user_id), str(version).encode(), VERSION_TTL_SECONDS)
    return version


async def logout(services: Services, user_id: int) -> None:
    """Revokes every token of the user (each of their devices signs in again)."""
    await _next_version(services, user_id)


async def change_password(
    services: Services, user_id: int, current_password: str, new_password: str
) -> tuple[User, str]:
    """Sets a new password and revokes every older token; answers the user and a new token."""
    settings = services.settings
    check_text("newPassword", new_password, settings.password_min, settings.password_max)
    async with services.db.read() as session:
        user = (await session.execute(select(User).where(col(User.id) == user_id))).scalar_one_or_none()
    if user is None or not await verify_password(user.password_hash, current_password[:1024]):
        raise unauthenticated("Wrong password")
    version = await _next_version(services, user_id, password_hash=await hash_password(new_password))
    user.token_version = version
    return user, issue_token(settings, user_id, version)
