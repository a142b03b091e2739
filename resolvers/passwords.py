"""Password hashing with argon2id (argon2-cffi's defaults, tuned by its maintainers)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core import pools

_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    # Hashing is deliberately slow: off the event loop, in a small pool of its own, so that a burst of
    # sign-ins queues there instead of taking every thread.
    return await pools.PASSWORDS.run(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await pools.PASSWORDS.run(_verify)
