"""Every response names its request; an unexpected failure is masked for the client and logged under
that id, so a user's report can be matched to the server log."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from resolvers import live_counts
from resolvers import videos as video_resolvers


async def test_each_response_carries_a_fresh_request_id(client: httpx.AsyncClient) -> None:
    first = (await client.get("/healthz")).headers["x-request-id"]
    second = (await client.get("/douyin/feed/")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


async def test_a_plain_incoming_id_is_kept_and_an_unsafe_one_replaced(client: httpx.AsyncClient) -> None:
    kept = await client.get("/healthz", headers={"X-Request-ID": "edge-42.a:b"})
    assert kept.headers["x-request-id"] == "edge-42.a:b"
    replaced = await client.get("/healthz", headers={"X-Request-ID": "x" * 65})
    assert replaced.headers["x-request-id"] != "x" * 65


async def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("database exploded with secret details")


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(video_resolvers, "feed", _boom)
    monkeypatch.setattr(live_counts, "feed_counts", _boom)  # the REST feed's first read
    caplog.set_level(logging.ERROR)

    response = await client.post(
        "/graphql", json={"query": "{ feed { nodes { id } } }"}, headers={"X-Request-ID": "graphql-1"}
    )
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret" not in response.text

    rest = await client.get("/douyin/feed/", headers={"X-Request-ID": "rest-1"})
    body = rest.json()
    assert rest.status_code == 200
    assert body["status_code"] == 500
    assert body["video_list"] == []
    assert "secret" not in rest.text

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "graphql-1" in logged
    assert "rest-1" in logged


async def test_a_rest_failure_is_logged_once_with_its_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The schema masks and logs an unexpected error; the REST face must not log it again without the id."""
    monkeypatch.setattr(video_resolvers, "feed", _boom)
    monkeypatch.setattr(live_counts, "feed_counts", _boom)  # the REST feed's first read
    caplog.set_level(logging.ERROR)
    body = (await client.get("/douyin/feed/", headers={"X-Request-ID": "rest-2"})).json()
    assert body["status_code"] == 500
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "rest-2" in errors[0].getMessage()
