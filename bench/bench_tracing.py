"""What tracing costs on the signed-in REST feed (`GET /douyin/feed/?token=...`, 30 videos), in-process.

Three builds of the same app over the same SQLite data, measured in interleaved rounds so that a busy
machine slows all three alike (the figures that matter are the ratios within one run):

- off: no OTEL_* variable set (the default): metrics and request line on, no spans;
- on: tracing with 100% sampling (`always_on`), exported over OTLP/HTTP in batches to a receiver on
  loopback (spans are really serialized and sent);
- compiled out: the app built without the observation (`create_app(..., observed=False)`: no tracing
  middleware, no request metrics or line, operations run without their span and metrics hooks);
- SDK alone: no request at all, only the spans one request makes (captured from a real one: names,
  kinds, nesting and attributes) made again through the same provider, processor and exporter. Its CPU
  over compiled out's is what the OpenTelemetry SDK by itself costs such a request: a floor that no
  change to the app's own code can go below.

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
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
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
MODES = ("off", "on", "compiled out", "SDK alone")
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


class _Capture(SpanProcessor):
    """Keeps the spans that end while `capturing` is set (one request's, to replay)."""

    def __init__(self) -> None:
        self.capturing = False
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        if self.capturing:
            self.spans.append(span)


@dataclass
class _Shape:
    """A captured span to make again: what it was called and carried, and its children."""

    name: str
    kind: trace.SpanKind
    attributes: dict[str, object]
    children: list[_Shape]


def _shapes(spans: list[ReadableSpan]) -> list[_Shape]:
    """The captured spans as trees, roots first, children in the order they started."""
    by_id = {span.context.span_id: span for span in spans if span.context is not None}
    made = {
        span_id: _Shape(span.name, span.kind, dict(span.attributes or {}), [])
        for span_id, span in by_id.items()
    }
    roots: list[_Shape] = []
    for span_id, span in sorted(by_id.items(), key=lambda item: item[1].start_time or 0):
        parent = span.parent.span_id if span.parent is not None else None
        (made[parent].children if parent in made else roots).append(made[span_id])
    return roots


def _replay(tracer: trace.Tracer, shape: _Shape) -> None:
    """`shape` made as the app makes it: a span with children is made current, a leaf is not."""
    if shape.children:
        with tracer.start_as_current_span(shape.name, kind=shape.kind, attributes=shape.attributes):  # type: ignore[arg-type]
            for child in shape.children:
                _replay(tracer, child)
    else:
        tracer.start_span(shape.name, kind=shape.kind, attributes=shape.attributes).end()  # type: ignore[arg-type]


async def _sdk_round(provider: TracerProvider, shapes: list[_Shape], count: int) -> tuple[float, float]:
    """Per request: `count` requests' spans made and exported, and nothing else."""
    tracer = provider.get_tracer("douyin")
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(count):
        for shape in shapes:
            _replay(tracer, shape)
    await asyncio.to_thread(provider.force_flush)
    return (time.perf_counter() - started) / count, (time.process_time() - cpu_started) / count


async def _capture(mode: Mode, capture: _Capture, token: str) -> list[_Shape]:
    """The spans one signed-in feed request makes, as shapes."""
    capture.capturing = True
    try:
        await _round(mode, token, 1)
    finally:
        capture.capturing = False
    return _shapes(capture.spans)


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
    assert provider is not None
    traced = Services.open(settings)
    on = Mode("on", create_app(services=traced), traced, provider)
    telemetry.uninstall()
    return [off, on, out]


async def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-tracing-") as directory, receiver_process() as receiver:
        settings = _settings(Path(directory))
        await asyncio.to_thread(migrate, settings)
        modes = await _open_modes(settings, receiver)
        on = modes[1]
        provider: TracerProvider = on.provider  # type: ignore[assignment]
        capture = _Capture()
        provider.add_span_processor(capture)
        try:
            viewer = await _fill(modes[0].services)
            for mode in modes:
                await _round(mode, viewer.token, WARM_UP)
            shapes = await _capture(on, capture, viewer.token)
            await _sdk_round(provider, shapes, WARM_UP)
            gc.collect()
            gc.freeze()
            timings: dict[str, list[tuple[float, float]]] = {name: [] for name in MODES}
            for index in range(ROUNDS):
                order: list[Mode | None] = [*modes, None]  # None: the SDK alone
                for each in order[index % 4 :] + order[: index % 4]:  # a different order each round
                    if each is None:
                        telemetry.uninstall()
                        measured = await _sdk_round(provider, shapes, REQUESTS_PER_ROUND)
                        timings["SDK alone"].append(measured)
                    else:
                        timings[each.name].append(await _round(each, viewer.token, REQUESTS_PER_ROUND))
        finally:
            gc.unfreeze()
            telemetry.uninstall()
            for mode in modes:
                if mode.provider is not None:
                    telemetry.shutdown(mode.provider)  # type: ignore[arg-type]
            for mode in modes:
                await mode.services.close()
        spans, batches = _received(receiver)
    _print(timings, spans, batches, shapes)
    return {name: statistics.median(cpu for _, cpu in values) for name, values in timings.items()}


def _ratios(timings: dict[str, list[tuple[float, float]]], name: str) -> list[float]:
    """CPU per request of `name` over compiled out's, round by round (the two measured back to back)."""
    pairs = zip(timings[name], timings["compiled out"], strict=True)
    return [cpu / base_cpu for (_, cpu), (_, base_cpu) in pairs]


def _count(shapes: list[_Shape]) -> int:
    return sum(1 + _count(shape.children) for shape in shapes)


def _print(
    timings: dict[str, list[tuple[float, float]]], spans: int, batches: int, shapes: list[_Shape]
) -> None:
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
    names = ", ".join(f"{shape.name!r}" for shape in _walk(shapes))
    print(f"a request's spans (replayed by 'SDK alone'): {_count(shapes)}: {names}")
    floor = statistics.median(_ratios(timings, "SDK alone"))
    print(f"the SDK by itself, for those spans: {floor:.1%} of the compiled-out request's CPU")
    print("\n".join(verdicts))


def _walk(shapes: list[_Shape]) -> Iterator[_Shape]:
    for shape in shapes:
        yield shape
        yield from _walk(shape.children)


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
