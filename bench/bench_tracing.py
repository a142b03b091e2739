"""What tracing costs on the signed-in REST feed (`GET /douyin/feed/?token=...`, 30 videos), in-process.

Three builds of the same app over the same SQLite data, measured in interleaved rounds so that a busy
machine slows all three alike (the figures that matter are the ratios within one run):

- off: no OTEL_* variable set (the default): metrics and request line on, no spans;
- on: tracing with 100% sampling (`always_on`), exported over OTLP/HTTP in batches to a receiver on
  loopback (spans are really serialized and sent);
- compiled out: the app built without the observation (`create_app(..., observed=False)`: no tracing
  middleware, no request metrics or line, operations run without their span and metrics hooks).

Fairness: the three builds serve the same data (one SQLite file) from one process, each with services
of its own; each round runs them back to back (rotating which goes first), and each mode's CPU
includes every thread's (the span exporter's encoding and sending on its own thread too; the receiver
decodes in a process of its own). After the warm-up,
`gc.freeze()` moves the start-up heap (three apps, the schema, the seeded rows) out of the collector's
reach: a full collection of it takes about 200 ms and lands in whichever round happens to trigger it,
which swung single rounds by a third; collections of what requests allocate still count.

Run: `python -m bench.bench_tracing` (or `make bench`, which runs every benchmark).
"""

from __future__ import annotations

import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette

from app import create_app
from core import telemetry
from core.telemetry import TracingConfig
from manage import migrate
from settings import Settings
from storage.services import Services
from tests.support.factories import Account, add_follows, add_users, add_videos

ROOT = Path(__file__).resolve().parent.parent

SECRET = "bench-secret-0123456789abcdef0123"
USERS, VIDEOS_PER_USER = 20, 10
ROUNDS = 30
# A round's spans fill one export batch (the batch processor's default of 512 spans, at the feed's four
# a request: HTTP, operation, cache, SQL), so each round pays for one batch's encoding and sending, as
# a busy server does, rather than for a flush of a fraction of one.
REQUESTS_PER_ROUND = 128
WARM_UP = 30
MODES = ("off", "on", "compiled out")
ON_LIMIT, OFF_LIMIT = 0.10, 0.02


@dataclass
class Mode:
    name: str
    app: Starlette
    services: Services
    provider: object | None = None


def _settings(data_dir: Path) -> Settings:
    return Settings(
        env="test",
        jwt_secret=SECRET,
        data_dir=data_dir,
        seed_demo=False,
        public_base_url="http://bench",
        metrics_access="off",
        rate_limits_enabled=False,
    )


async def _fill(services: Services) -> Account:
    users = await add_users(services, USERS)
    for author in users[1:]:
        await add_videos(services, author, VIDEOS_PER_USER)
    await add_follows(services, [(users[0], author) for author in users[1::2]])
    return users[0]


def _use(mode: Mode) -> None:
    """Tracing as the mode needs it: installed for `on`, off for the others (one process, one state)."""
    if mode.name == "on":
        assert mode.provider is not None
        telemetry.install(mode.provider)  # type: ignore[arg-type]
    else:
        telemetry.uninstall()


async def _round(mode: Mode, token: str, count: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process, all its threads: the exporter's and SQLite's too) per
    request over `count` sequential requests, the spans they made exported."""
    _use(mode)
    transport = httpx.ASGITransport(app=mode.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(count):
            response = await client.get("/douyin/feed/", params={"token": token})
            if response.json()["status_code"] != 0:
                raise RuntimeError(response.text)
        if mode.provider is not None:
            # The batch exporter's work for these spans belongs to this round.
            await asyncio.to_thread(mode.provider.force_flush)  # type: ignore[attr-defined]
        wall = (time.perf_counter() - started) / count
        return wall, (time.process_time() - cpu_started) / count


@contextmanager
def receiver_process() -> Iterator[str]:
    """The OTLP receiver in a process of its own (its decoding is the collector's cost, not the app's)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.otlp"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def _received(url: str) -> tuple[int, int]:
    counts = json.loads(httpx.get(f"{url}/received", timeout=10).text)
    return int(counts["spans"]), int(counts["requests"])


async def _open_modes(settings: Settings, receiver_url: str) -> list[Mode]:
    telemetry.uninstall()
    # Each mode its own services (engine, pool, cache): two modes sharing one would find it warmer in
    # the CPU's caches than the third finds its own.
    plain, bare = Services.open(settings), Services.open(settings)
    off = Mode("off", create_app(services=plain), plain)
    out = Mode("compiled out", create_app(services=bare, observed=False), bare)
    config = TracingConfig(
        service_name="douyin-bench", exporter="otlp", endpoint=receiver_url, sampler="always_on"
    )
    provider = telemetry.configure(config)  # installed now, so the engine opened next is instrumented
    traced = Services.open(settings)
    on = Mode("on", create_app(services=traced), traced, provider)
    telemetry.uninstall()
    return [off, on, out]


async def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-tracing-") as directory, receiver_process() as receiver:
        settings = _settings(Path(directory))
        await asyncio.to_thread(migrate, settings)
        modes = await _open_modes(settings, receiver)
        try:
            viewer = await _fill(modes[0].services)
            for mode in modes:
                await _round(mode, viewer.token, WARM_UP)
            gc.collect()
            gc.freeze()
            timings: dict[str, list[tuple[float, float]]] = {mode.name: [] for mode in modes}
            for index in range(ROUNDS):
                for mode in modes[index % 3 :] + modes[: index % 3]:  # a different order each round
                    timings[mode.name].append(await _round(mode, viewer.token, REQUESTS_PER_ROUND))
        finally:
            gc.unfreeze()
            telemetry.uninstall()
            for mode in modes:
                if mode.provider is not None:
                    telemetry.shutdown(mode.provider)  # type: ignore[arg-type]
            for mode in modes:
                await mode.services.close()
        spans, batches = _received(receiver)
    _print(timings, spans, batches)
    return {name: statistics.median(cpu for _, cpu in values) for name, values in timings.items()}


def _ratios(timings: dict[str, list[tuple[float, float]]], name: str) -> list[float]:
    """CPU per request of `name` over compiled out's, round by round (the two measured back to back)."""
    pairs = zip(timings[name], timings["compiled out"], strict=True)
    return [cpu / base_cpu for (_, cpu), (_, base_cpu) in pairs]


def _print(timings: dict[str, list[tuple[float, float]]], spans: int, batches: int) -> None:
    print("\nTracing overhead: signed-in REST feed (30 videos), in-process, SQLite")
    print(f"{ROUNDS} rounds of {REQUESTS_PER_ROUND} sequential requests per mode, the modes back to back")
    print("in each round (rotating order), start-up heap frozen. CPU is this process's, all threads (the")
    print("exporter's too; the receiver runs in its own process); the ratio is each round's CPU over")
    print("compiled out's in the same round, the median over rounds (quartiles beside it), since other")
    print("processes on a busy machine inflate time at random.")
    print(f"{'mode':<14}{'wall ms/req':>12}{'CPU ms/req':>12}{'CPU vs compiled out':>22}{'quartiles':>16}")
    verdicts = []
    for name in MODES:
        wall = statistics.median(value[0] for value in timings[name]) * 1000
        cpu = statistics.median(value[1] for value in timings[name]) * 1000
        ratios = _ratios(timings, name)
        ratio = statistics.median(ratios)
        low, _, high = statistics.quantiles(ratios, n=4)
        print(f"{name:<14}{wall:>12.3f}{cpu:>12.3f}{ratio:>21.3f}x{low:>8.3f}-{high:.3f}")
        limit = {"on": ON_LIMIT, "off": OFF_LIMIT}.get(name)
        if limit is not None:
            verdict = "ok" if ratio - 1 <= limit else "OVER"
            verdicts.append(f"overhead {name}: {ratio - 1:+.1%} (limit {limit:.0%}: {verdict})")
    print(f"spans received by the OTLP receiver: {spans} in {batches} batches")
    print("\n".join(verdicts))


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
