"""Schemathesis against `/douyin/openapi.json` on a real server with demo content: generated requests for
every route, valid and invalid, anonymous and signed in. No answer is a server error or a `status_code` 500,
every answer is valid against the document, and a request the document does not allow is refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.core import NotSet
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection

from compat.params import Kind
from compat.routes import ROUTES
from tests.support.rest import PASSWORD
from tests.support.servers import serving

EXAMPLES_PER_ROUTE = 10
LABELS = [f"{method} /douyin{route.path}" for route in ROUTES for method in route.methods]
# The feed takes any `latest_time` (unusable means now) and any token (invalid means anonymous): no input
# of its is refused, so "invalid input is refused" cannot apply to it.
LENIENT = {
    f"{method} /douyin{route.path}"
    for route in ROUTES
    for method in route.methods
    if any(param.kind is Kind.LATEST_TIME for param in route.params)
}


@dataclass(frozen=True)
class FuzzTarget:
    schema: Any
    token: str
    base: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    # Generous limits: the fuzzer is one client sending as fast as it can, which is not what they guard.
    overrides = {"LOG_LEVEL": "error"}
    with serving(tmp_path_factory.mktemp("fuzz"), overrides, steps=("migrate", "seed")) as base:
        registered = httpx.post(
            f"{base}/douyin/user/register/", params={"username": "fuzz-user", "password": PASSWORD}
        ).json()
        assert registered["status_code"] == 0, registered
        schema = schemathesis.openapi.from_url(f"{base}/douyin/openapi.json")
        yield FuzzTarget(schema, registered["token"], base)


def sign_in(case: Case[Any], token: str) -> None:
    """Put a valid token wherever the route takes one, so generated input reaches past authentication."""
    if case.query is not None and "token" in case.query:
        case.query["token"] = token
    if isinstance(case.body, dict) and "token" in case.body:
        case.body["token"] = token


def no_internal_status(response: httpx.Response | Any) -> None:
    body = response.json()
    assert body["status_code"] != 500, body


def only_the_query_is_invalid(case: Case[Any]) -> bool:
    """Parameters are read from the query string first and the form second: with a body present, a valid
    value there can rightly stand in for an invalid one in the query, and an invalid form field is ignored
    when the query has the value. So refusal is required only of an invalid query with no body."""
    if case.meta is None or not case.meta.is_negative_at(ParameterLocation.QUERY):
        return False
    return isinstance(case.body, NotSet) or case.body is None


# Valid input anonymous and signed in (to reach past authentication); invalid input anonymous only, since a
# token put in would replace whichever part was generated invalid.
VARIANTS = [
    pytest.param(GenerationMode.POSITIVE, False, id="valid-anonymous"),
    pytest.param(GenerationMode.POSITIVE, True, id="valid-signed-in"),
    pytest.param(GenerationMode.NEGATIVE, False, id="invalid-anonymous"),
]


@pytest.mark.parametrize(("mode", "signed_in"), VARIANTS)
@pytest.mark.parametrize("label", LABELS)
def test_generated_requests(target: FuzzTarget, label: str, mode: GenerationMode, signed_in: bool) -> None:
    operation = target.schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is missing from the OpenAPI document"

    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # Shrinking re-sends a failing request many times; the first failing one is reported as it is.
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case[Any]) -> None:
        if signed_in:
            sign_in(case, target.token)
        # The douyin contract answers every request with HTTP 200 and says in `status_code` what went
        # wrong, so the check that wants a 4xx for invalid input is replaced by the envelope check below.
        response = case.call_and_validate(excluded_checks=[negative_data_rejection])
        no_internal_status(response)
        if mode is GenerationMode.NEGATIVE and label not in LENIENT and only_the_query_is_invalid(case):
            assert response.json()["status_code"] != 0, (case.as_curl_command(), response.text)

    run()
