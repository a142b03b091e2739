"""The sign-in throttle: per (name, address) and per address, counted before the password is checked,
with backoff instead of a lock on the name."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from resolvers import auth
from resolvers.errors import DomainError, ErrorCode
from resolvers.passwords import verify_password
from storage.services import Services
from tests.support.clients import client_at
from tests.support.graphql import data_of, error_codes, gql

REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"
LOGIN = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { id name } } }"
STRANGER, OWNER = "203.0.113.7", "198.51.100.20"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # A first wait far longer than any test, so that no backoff runs out while one is running.
    return {"login_max_failures": 5, "login_max_failures_per_address": 12, "login_backoff_base_seconds": 600}


async def _fail(client: httpx.AsyncClient, name: str, times: int) -> list[str]:
    codes: list[str] = []
    for _ in range(times):
        codes += await error_codes(client, LOGIN, {"u": name, "p": "wrong-guess"})
    return codes


async def test_a_strangers_wrong_guesses_do_not_lock_the_owner_out(
    client: httpx.AsyncClient, services: Services
) -> None:
    await data_of(client, REGISTER, {"u": "victim", "p": "secret1"})
    async with client_at(services, STRANGER) as stranger, client_at(services, OWNER) as owner:
        assert await _fail(stranger, "victim", 7) == ["UNAUTHENTICATED"] * 5 + ["RATE_LIMITED"] * 2
        # The stranger must wait even with the right password; the owner, elsewhere, does not.
        assert await error_codes(stranger, LOGIN, {"u": "victim", "p": "secret1"}) == ["RATE_LIMITED"]
        assert (await data_of(owner, LOGIN, {"u": "victim", "p": "secret1"}))["login"]["user"][
            "name"
        ] == "victim"


async def test_a_refusal_says_how_long_to_wait(client: httpx.AsyncClient, services: Services) -> None:
    async with client_at(services, STRANGER) as stranger:
        await _fail(stranger, "someone", 5)
        body = await gql(stranger, LOGIN, {"u": "someone", "p": "secret1"})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 590 <= error["extensions"]["retryAfter"] <= 600
    assert (
        error["message"]
        == f"Too many failed sign-ins for this name; try again in {error['extensions']['retryAfter']} seconds"
    )


async def test_one_address_guessing_many_names_is_slowed_down(
    client: httpx.AsyncClient, services: Services
) -> None:
    await data_of(client, REGISTER, {"u": "bystander", "p": "secret1"})
    async with client_at(services, STRANGER) as stranger, client_at(services, OWNER) as owner:
        codes: list[str] = []
        for n in range(4):
            codes += await _fail(stranger, f"name-{n}", 3)
        assert codes == ["UNAUTHENTICATED"] * 12
        assert await _fail(stranger, "name-new", 1) == ["RATE_LIMITED"]
        assert (await data_of(owner, LOGIN, {"u": "bystander", "p": "secret1"}))["login"]["user"]


async def test_concurrent_wrong_guesses_get_no_more_password_checks_than_the_limit(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await data_of(client, REGISTER, {"u": "victim", "p": "secret1"})
    checks = 0

    async def counting_verify(password_hash: str, password: str) -> bool:
        nonlocal checks
        checks += 1
        return await verify_password(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    guesses = 64
    answers = await asyncio.gather(
        *(error_codes(client, LOGIN, {"u": "victim", "p": f"guess-{n}"}) for n in range(guesses))
    )
    limit = services.settings.login_max_failures
    assert checks == limit
    assert sorted(code for codes in answers for code in codes) == sorted(
        ["UNAUTHENTICATED"] * limit + ["RATE_LIMITED"] * (guesses - limit)
    )
    assert await error_codes(client, LOGIN, {"u": "victim", "p": "secret1"}) == ["RATE_LIMITED"]
    assert checks == limit


async def test_a_success_forgets_the_names_failures(client: httpx.AsyncClient, services: Services) -> None:
    await data_of(client, REGISTER, {"u": "regular", "p": "secret1"})
    limit = services.settings.login_max_failures
    for _ in range(2):
        assert await _fail(client, "regular", limit - 1) == ["UNAUTHENTICATED"] * (limit - 1)
        assert (await data_of(client, LOGIN, {"u": "regular", "p": "secret1"}))["login"]["user"]


@pytest.mark.parametrize(
    "settings_overrides",
    [{"login_max_failures": 2, "login_backoff_base_seconds": 1.0, "login_backoff_max_seconds": 2.0}],
)
async def test_each_wait_is_twice_the_one_before_up_to_the_maximum(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def wrong(password_hash: str, password: str) -> bool:
        return False

    monkeypatch.setattr(auth, "verify_password", wrong)

    async def outcome() -> ErrorCode:
        with pytest.raises(DomainError) as refused:
            await auth.login(services, "someone", "guess", address=STRANGER)
        return refused.value.code

    async def waits_about(seconds: float) -> None:
        assert await outcome() is ErrorCode.RATE_LIMITED
        await asyncio.sleep(seconds / 2)
        assert await outcome() is ErrorCode.RATE_LIMITED  # refusals do not extend the wait
        await asyncio.sleep(seconds / 2 + 0.3)
        assert await outcome() is ErrorCode.UNAUTHENTICATED

    assert [await outcome(), await outcome()] == [ErrorCode.UNAUTHENTICATED] * 2
    await waits_about(1.0)
    await waits_about(2.0)
    await waits_about(2.0)


@pytest.mark.parametrize(
    "settings_overrides", [{"login_max_failures": 3, "login_max_failures_per_address": 1000}]
)
async def test_a_victims_count_survives_guesses_at_many_other_names(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def wrong(password_hash: str, password: str) -> bool:
        return False

    monkeypatch.setattr(auth, "verify_password", wrong)
    for _ in range(3):
        with pytest.raises(DomainError) as refused:
            await auth.login(services, "victim", "guess-1", address=STRANGER)
        assert refused.value.code is ErrorCode.UNAUTHENTICATED
    for n in range(300):
        with pytest.raises(DomainError):
            await auth.login(services, f"other-{n}", "guess-1", address=STRANGER)
    with pytest.raises(DomainError) as refused:
        await auth.login(services, "victim", "guess-2", address=STRANGER)
    assert refused.value.code is ErrorCode.RATE_LIMITED
