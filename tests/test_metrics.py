"""GET /metrics: Prometheus text that parses, counters that move with requests, access as configured, and
the same with two workers (multiprocess mode)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from storage.services import Services
from tests.support.factories import add_users, add_videos
from tests.support.servers import serving

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples(text).items() if n == name and wanted <= have)


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_parse_and_count_requests_operations_loaders_and_cache(
    client: httpx.AsyncClient, services: Services
) -> None:
    viewer, author = await add_users(services, 2)
    await add_videos(services, author, 3)
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/douyin/feed/", params={"token": viewer.token})).json()["status_code"] == 0
    await client.post("/douyin/user/login/", data={"username": "nobody", "password": "wrong-password"})
    await client.post("/graphql", json={"query": "{ nosuchfield }"})
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("douyin_http_requests_total", route="/douyin/feed/", status="200", outcome="ok") == 3
    assert moved("douyin_http_requests_total", route="/douyin/user/login/", outcome="UNAUTHENTICATED") == 1
    assert moved("douyin_graphql_operations_total", operation="Feed", type="query", outcome="ok") == 3
    assert moved("douyin_http_request_duration_seconds_count", route="/douyin/feed/") == 3
    assert moved("douyin_graphql_operation_duration_seconds_count", operation="Feed") == 3
    assert moved("douyin_graphql_errors_total", code="UNAUTHENTICATED") == 1
    assert moved("douyin_graphql_errors_total", code="BAD_USER_INPUT") == 1
    # The feed's unchanging part, looked up per video: run by the first request, kept for the next two.
    assert moved("douyin_cache_lookups_total", backend="result-local", result="miss") == 3
    assert moved("douyin_cache_lookups_total", backend="result-local", result="hit") == 6
    # Each signed-in request also looks up its token version, cached as a sign-in leaves it.
    assert moved("douyin_cache_lookups_total", backend=services.cache.name, result="hit") == 3
    # (With Redis, the feed's unchanging part missed locally is looked for there too, under its name.)
    shared_misses = 3 if services.settings.redis_url else 0
    assert moved("douyin_cache_lookups_total", backend=services.cache.name, result="miss") == shared_misses
    assert moved("douyin_http_requests_total", route="/graphql", outcome="BAD_USER_INPUT") == 1
    # No connection stays checked out between requests.
    assert value(after, "douyin_db_pool_connections_in_use") == value(
        before, "douyin_db_pool_connections_in_use"
    )
    families = {family.name for family in text_string_to_metric_families(after)}
    assert {"douyin_uploads", "douyin_upload_bytes", "douyin_ffmpeg_jobs_running"} <= families
    assert "douyin_graphql_subscriptions_open" in families


async def test_metric_labels_come_from_allow_lists(client: httpx.AsyncClient) -> None:
    await client.get("/douyin/feed")  # the other spelling of the same route
    await client.get("/no/such/path/12345")
    await client.post("/graphql", json={"query": "query Secret987 { viewer { id } }"})
    await client.post("/graphql", json={"query": "{ viewer { id } }"})
    text = await scrape(client)
    # Label values only: a sample's value (a sum of durations) may contain any digits.
    label_values = {value for _, labels in samples(text) for _, value in labels}
    for raw in ("12345", "Secret987", "viewer"):
        assert not [value for value in label_values if raw in value], raw
    assert value(text, "douyin_http_requests_total", route="/douyin/feed/") >= 1
    assert value(text, "douyin_http_requests_total", route="other") >= 1
    assert value(text, "douyin_graphql_operations_total", operation="other") >= 1
    assert value(text, "douyin_graphql_operations_total", operation="anonymous") >= 1


async def test_cache_reads_are_counted_as_hits_and_misses(services: Services) -> None:
    text_before = await _render()
    await services.cache.set("metrics-test", b"1", 60)
    assert await services.cache.get("metrics-test") == b"1"
    assert await services.cache.get("metrics-test-missing") is None
    text_after = await _render()
    backend = services.cache.name
    for result in ("hit", "miss"):
        name = "douyin_cache_lookups_total"
        moved = value(text_after, name, backend=backend, result=result) - value(
            text_before, name, backend=backend, result=result
        )
        assert moved == 1


async def _render() -> str:
    from core import metrics

    return metrics.render("").decode()


@pytest.fixture
async def remote_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """A client that is not on loopback."""
    transport = httpx.ASGITransport(app=create_app(services=services), client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_loopback_access_refuses_other_clients(
    client: httpx.AsyncClient, remote_client: httpx.AsyncClient
) -> None:
    assert (await client.get("/metrics")).status_code == 200
    assert (await remote_client.get("/metrics")).status_code == 403


@pytest.mark.parametrize("settings_overrides", [{"metrics_access": "off"}])
async def test_access_off_hides_the_page(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404


@pytest.mark.parametrize("settings_overrides", [{"metrics_access": "token", "metrics_token": TOKEN}])
async def test_token_access_needs_the_bearer_token(remote_client: httpx.AsyncClient) -> None:
    assert (await remote_client.get("/metrics")).status_code == 403
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert (await remote_client.get("/metrics", headers=wrong)).status_code == 403
    right = {"Authorization": f"Bearer {TOKEN}"}
    response = await remote_client.get("/metrics", headers=right)
    assert response.status_code == 200
    assert "douyin_http_requests_total" in response.text


# Two workers ---------------------------------------------------------------------------------------------


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path, int]]:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left over from an earlier run")
    workers = int(request.param)
    overrides = {"WORKERS": str(workers), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with serving(tmp_path / "var", overrides) as base:
        yield base, metrics_dir, workers


def _worker_pids(metrics_dir: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("*.db")}


def test_every_scrape_reports_the_sum_over_the_workers(served: tuple[str, Path, int]) -> None:
    base, metrics_dir, workers = served
    assert "999999" not in _worker_pids(metrics_dir)  # the directory was emptied at start
    requests = 40
    # New connections each time, so the kernel spreads them over both workers.
    deadline = time.monotonic() + 60
    while True:
        for _ in range(requests):
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        if len(_worker_pids(metrics_dir)) >= workers or time.monotonic() > deadline:
            break
    assert len(_worker_pids(metrics_dir)) >= workers, "every worker should have served requests"
    made = value(httpx.get(f"{base}/metrics", timeout=5).text, "douyin_http_requests_total", route="/healthz")
    assert made >= requests
    for _ in range(6):
        text = httpx.get(f"{base}/metrics", timeout=5).text
        assert value(text, "douyin_http_requests_total", route="/healthz") == made
        assert value(text, "douyin_db_pool_connections_in_use") == 0
    for _ in range(5):
        httpx.get(f"{base}/healthz", timeout=5)
    text = httpx.get(f"{base}/metrics", timeout=5).text
    assert value(text, "douyin_http_requests_total", route="/healthz") == made + 5


async def test_uploads_are_counted_with_their_bytes_and_no_ffmpeg_job_is_left_running(
    client: httpx.AsyncClient, services: Services, clip: bytes
) -> None:
    [author] = await add_users(services, 1)
    before = await scrape(client)
    files = {"data": ("bear.mp4", clip, "video/mp4")}
    body = (
        await client.post(
            "/douyin/publish/action/", data={"token": author.token, "title": "bear"}, files=files
        )
    ).json()
    assert body["status_code"] == 0, body
    not_a_video = {"data": ("notes.mp4", b"not a video at all", "video/mp4")}
    data = {"token": author.token, "title": "notes"}
    assert (await client.post("/douyin/publish/action/", data=data, files=not_a_video)).json()[
        "status_code"
    ] != 0
    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("douyin_uploads_total", outcome="ok") == 1
    assert moved("douyin_uploads_total", outcome="BAD_USER_INPUT") == 1
    assert moved("douyin_upload_bytes_total") == len(clip) + len(b"not a video at all")
    assert value(after, "douyin_ffmpeg_jobs_running") == 0
