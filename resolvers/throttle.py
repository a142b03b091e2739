"""The sign-in throttle: password guessing slowed per (name, client address) and per client address.

Throttling the name alone let anyone lock its owner out by guessing wrong; here a stranger's guesses use
up the stranger's own allowance (their address, and the name from their address), never the owner's from
the owner's address. Every attempt is counted before its password is checked, atomically in the limit
store (`storage.rate_limits`), so concurrent guesses can never all pass a check made before any of them
failed: at most LOGIN_MAX_FAILURES passwords are checked per name and address, however many guesses
arrive at once. Past that each further attempt waits twice as long as the one before, up to
LOGIN_BACKOFF_MAX_SECONDS; a success forgets its name's count and gives its address one attempt back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from resolvers.errors import rate_limited
from resolvers.rate_limits import address_key
from settings import Settings
from storage.rate_limits import Backoff
from storage.services import Services

# The address of a sign-in made without one (from inside the process).
UNKNOWN_ADDRESS = "unknown"


def _digest(*parts: str) -> str:
    # Hashed so that the store never holds a raw name an attacker typed (which may be a password).
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """An attempt admitted by `admit`: report its success with `succeeded`."""

    name_key: str
    address_key: str


def _backoff(settings: Settings, free: int) -> Backoff:
    return Backoff(
        free=free,
        base_seconds=settings.login_backoff_base_seconds,
        max_seconds=settings.login_backoff_max_seconds,
        window_seconds=settings.login_failure_window_seconds,
    )


async def admit(services: Services, name: str, address: str | None) -> SignInAttempt:
    """Count one sign-in attempt for `name` from `address`; RATE_LIMITED while either must wait."""
    settings = services.settings
    where = address_key(address) if address else UNKNOWN_ADDRESS
    attempt = SignInAttempt(
        name_key="sign-in:name:" + _digest(name, where), address_key="sign-in:address:" + _digest(where)
    )
    per_address = _backoff(settings, settings.login_max_failures_per_address)
    wait = await services.limits.attempt(attempt.address_key, per_address)
    if wait > 0:
        raise rate_limited("Too many failed sign-ins from this address", wait)
    wait = await services.limits.attempt(attempt.name_key, _backoff(settings, settings.login_max_failures))
    if wait > 0:
        # Refused before any check: the address gets this attempt back.
        await services.limits.forgive(attempt.address_key, per_address)
        raise rate_limited("Too many failed sign-ins for this name", wait)
    return attempt


async def succeeded(services: Services, attempt: SignInAttempt) -> None:
    settings = services.settings
    await services.limits.reset(attempt.name_key)
    await services.limits.forgive(
        attempt.address_key, _backoff(settings, settings.login_max_failures_per_address)
    )
