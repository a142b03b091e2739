"""Tokens and sign-in: the one module that knows about JWTs.

Tokens are HS256 JWTs (the algorithm is pinned on decode, so a token cannot choose `none` or a public
key algorithm) whose subject is the user id and which always expire.
"""

from __future__ import annotations

import re
import time
from functools import cache, lru_cache

from argon2 import PasswordHasher
from jose import JWTError, jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from core import pools
from resolvers import rate_limits, throttle
from resolvers.errors import DomainError, ErrorCode, bad_input, unauthenticated
from resolvers.passwords import hash_password, verify_password
from resolvers.rate_limits import Action, Client
from resolvers.validation import check_length, check_name, check_text, normalise_name
from settings import Settings
from storage.db import insert_row
from storage.models import User, table_of
from storage.services import Services

ALGORITHM = "HS256"
# Tokens whose signature was checked, kept so that a signed-in client's every request does not verify
# it again (decoding and the HMAC cost about as much as running a small operation).
VERIFIED_TOKENS_CACHED = 4096
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@cache
def _placeholder_hash() -> str:
    return PasswordHasher().hash("placeholder for names that do not exist")


def issue_token(settings: Settings, user_id: int, version: int = 0) -> str:
    """`version`: the user's token version now (a token of an older one is refused: resolvers/sessions)."""
    issued = int(time.time())
    claims = {"sub": str(user_id), "ver": version, "iat": issued, "exp": issued + settings.jwt_ttl_seconds}
    return str(jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM))


@lru_cache(maxsize=VERIFIED_TOKENS_CACHED)
def _verified(secret: str, token: str) -> tuple[int, tuple[int, int] | None]:
    """(expiry, (user id, token version) or None for claims that name no user) of a token that decodes
    and verifies; JWTError otherwise, which is not cached. Of its claims only the expiry changes meaning
    with time (a `nbf` already passed stays passed), so a cached answer is checked against it on each use."""
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require_exp": True})
    subject = claims.get("sub")
    version = claims.get("ver", 0)  # tokens issued before versions existed are of version 0
    if not isinstance(subject, str) or not subject.isdecimal():
        return int(claims["exp"]), None
    if type(version) is not int or version < 0:
        return int(claims["exp"]), None
    return int(claims["exp"]), (int(subject), version)


def token_claims(settings: Settings, token: str | None) -> tuple[int, int] | None:
    """(user id, token version) of a token, or None when it is missing, forged, expired or malformed.
    Whether that version is still the user's is resolvers/sessions.py's question."""
    if not token:
        return None
    try:
        expires, claims = _verified(settings.jwt_secret, token)
    except JWTError:
        return None
    # The decoder's own rule: expired once the current whole second is past `exp`.
    if expires < int(time.time()):
        return None
    return claims


def user_id_from_token(settings: Settings, token: str | None) -> int | None:
    """The user a well-signed, unexpired token names (revocation not checked: see resolvers/sessions)."""
    claims = token_claims(settings, token)
    return None if claims is None else claims[0]


def _check_sign_in_fields(settings: Settings, username: str, password: str) -> None:
    """What sign-in checks before the hash: both fields given, bounded, and text that can be hashed.

    The shape rules for new credentials (minimum lengths, spaces, control characters) are register's: they
    may have been tightened since an account was made, and a pair that breaks them is simply wrong.
    """
    for name, value, maximum in (
        ("username", username, settings.username_max),
        ("password", password, settings.password_max),
    ):
        check_length(name, value, 1, maximum)
        if _LONE_SURROGATE.search(value) is not None:
            # A JSON "\ud800" escape decodes to one; it cannot be encoded to hash or look up.
            raise bad_input(f"{name} is not valid Unicode text")


def _check_credentials_shape(settings: Settings, username: str, password: str) -> str:
    """The name to store (normalised); BAD_USER_INPUT for a name or password that may not be."""
    name = check_name("username", username, settings.username_min, settings.username_max)
    check_text("password", password, settings.password_min, settings.password_max)
    return name


async def register(
    services: Services, username: str, password: str, *, address: str | None = None
) -> tuple[User, str]:
    settings = services.settings
    username = _check_credentials_shape(settings, username, password)
    await rate_limits.enforce(services, Action.REGISTER, Client(address=address))
    password_hash = await hash_password(password)
    try:
        async with services.db.write() as session:
            # Every NOT NULL column without a server default is given, so the only possible
            # integrity error here is the unique name.
            user_id = await insert_row(
                session,
                table_of(User),
                name=username,
                password_hash=password_hash,
                avatar_key="",
                background_key="",
                signature="",
                created_at=services.clock.now_ms(),
            )
            user = (await session.execute(select(User).where(col(User.id) == user_id))).scalar_one()
    except IntegrityError as error:
        # The unique name constraint decides; a read-before-insert would race.
        raise DomainError(ErrorCode.CONFLICT, "That username is taken") from error
    return user, issue_token(settings, user_id)


async def login(
    services: Services, username: str, password: str, *, address: str | None = None
) -> tuple[User, str]:
    """`address` is the client's (see resolvers/throttle.py for how sign-ins are throttled by it)."""
    settings = services.settings
    _check_sign_in_fields(settings, username, password)
    username = normalise_name(username)
    await rate_limits.enforce(services, Action.SIGN_IN, Client(address=address))
    attempt = await throttle.admit(services, username, address)
    async with services.db.read() as session:
        user = (await session.execute(select(User).where(col(User.name) == username))).scalar_one_or_none()
    if user is None or user.id is None:
        # Spend the same time as for a wrong password, so response times do not tell which names exist.
        await verify_password(await pools.PASSWORDS.run(_placeholder_hash), password)
        raise unauthenticated("Wrong username or password")
    if not await verify_password(user.password_hash, password):
        raise unauthenticated("Wrong username or password")
    await throttle.succeeded(services, attempt)
    return user, issue_token(settings, user.id, user.token_version)
