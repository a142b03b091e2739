"""Upload a ~100 MB video through `publishVideo` to a real server and report time and server memory.

The server runs as it does in production (`manage.py serve`: uvicorn, one worker) on a free loopback port
with SQLite and local disk in a temporary DATA_DIR. Its peak resident memory (VmHWM) is read from /proc
before and after the upload: streaming the upload to disk must keep it far below the file's size. ffmpeg
runs in child processes of its own and is not counted. The test video is made once and cached.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from storage import media

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(tempfile.gettempdir()) / "douyin-bench"
VIDEO_SECONDS = 8
VIDEO_BITRATE = "100M"  # 8 s at 100 Mbit/s: about 100 MB
STARTUP_TIMEOUT_SECONDS = 20
UPLOADS = 3  # per storage, one after another on the same server
PUBLISH = (
    "mutation($title: String!, $file: Upload!) { publishVideo(title: $title, file: $file) { id playUrl } }"
)
REGISTER = "mutation($u: String!, $p: String!) { register(username: $u, password: $p) { token } }"


def test_video() -> Path:
    """A real, decodable ~100 MB H.264 MP4 with sound, its index at the end as phones record (the server
    then also moves the index to the front); made once (about a second) and reused."""
    target = CACHE_DIR / f"upload-{VIDEO_SECONDS}s-{VIDEO_BITRATE}-index-last.mp4"
    if target.exists():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.mp4")
    source = f"testsrc2=duration={VIDEO_SECONDS}:size=1280x720:rate=30"
    subprocess.run(
        [
            media.ffmpeg_exe(), "-v", "error", "-y",
            "-f", "lavfi", "-i", source, "-f", "lavfi", "-i", f"sine=duration={VIDEO_SECONDS}",
            "-c:v", "libx264", "-preset", "ultrafast", "-b:v", VIDEO_BITRATE, "-maxrate", VIDEO_BITRATE,
            "-bufsize", "50M", "-x264-params", "nal-hrd=cbr", "-pix_fmt", "yuv420p", "-c:a", "aac",
            str(partial),
        ],
        check=True,
    )  # fmt: skip
    partial.rename(target)
    return target


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def memory_mib(pid: int, field: str) -> float:
    """`VmHWM` (peak resident memory) or `VmRSS` (resident now) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc status")


def reset_peak(pid: int) -> bool:
    """Restart VmHWM from the current RSS (Linux `clear_refs` 5), so sign-up's argon2 peak is not counted."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@contextmanager
def running_server(data_dir: Path, storage_env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = os.environ | {
        "ENV": "production",
        "RATE_LIMITS_ENABLED": "false",
        "JWT_SECRET": secrets.token_hex(24),
        "DATA_DIR": str(data_dir),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "warning",
        "PUBLIC_BASE_URL": "",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "S3_ENDPOINT": "",
    }
    env |= storage_env
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    server = subprocess.Popen([*manage, "serve"], env=env, cwd=ROOT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            try:
                if httpx.get(f"{base_url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield base_url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def moto_s3() -> Iterator[dict[str, str]]:
    """An S3 endpoint for the server: moto's server in this process (it holds the objects in memory)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield {
            "S3_ENDPOINT": f"http://127.0.0.1:{port}",
            "S3_ACCESS_KEY": "bench",
            "S3_SECRET_KEY": "bench-secret",
            "S3_BUCKET": "bench",
        }
    finally:
        server.stop()


def publish_once(client: httpx.Client, video: Path, token: str) -> tuple[float, str]:
    """One multipart publishVideo; returns the wall time and the stored video's URL."""
    operations = {"query": PUBLISH, "variables": {"title": "100 MB", "file": None}}
    with video.open("rb") as upload:
        started = time.perf_counter()
        response = client.post(
            "/graphql",
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
            files={"0": (video.name, upload, "video/mp4")},
            headers={"Authorization": f"Bearer {token}"},
        )
        elapsed = time.perf_counter() - started
    body = response.json()
    if "errors" in body:
        raise RuntimeError(f"publishVideo failed: {body['errors']}")
    return elapsed, str(body["data"]["publishVideo"]["playUrl"])


def bench_upload(video: Path, storage: str, storage_env: dict[str, str]) -> None:
    size_mib = video.stat().st_size / (1024 * 1024)
    with (
        tempfile.TemporaryDirectory(prefix="bench-upload-") as data_dir,
        running_server(Path(data_dir), storage_env) as (base_url, pid),
        httpx.Client(base_url=base_url, timeout=120) as client,
    ):
        credentials = {"u": f"bench{secrets.token_hex(3)}", "p": "bench-password"}
        registered = client.post("/graphql", json={"query": REGISTER, "variables": credentials}).json()
        token = registered["data"]["register"]["token"]
        peak_at_start = memory_mib(pid, "VmHWM")
        was_reset = reset_peak(pid)
        before = memory_mib(pid, "VmHWM")
        times = []
        for _ in range(UPLOADS):
            elapsed, play_url = publish_once(client, video, token)
            times.append(elapsed)
        after = memory_mib(pid, "VmHWM")
        stored = httpx.head(play_url)

    median = statistics.median(times)
    print(f"upload to {storage}: {UPLOADS} x {size_mib:.1f} MiB through publishVideo (multipart), uvicorn")
    print(f"  wall time      median {median:.2f} s ({size_mib / median:.0f} MiB/s); each: ", end="")
    print(", ".join(f"{seconds:.2f} s" for seconds in times))
    print(f"  server VmHWM   {before:.0f} MiB before, {after:.0f} MiB after (+{after - before:.0f} MiB)")
    if was_reset:
        note = f"peak reset before the uploads; {peak_at_start:.0f} MiB after start-up and sign-up"
        print(f"                 ({note})")
    print(f"  stored video   {int(stored.headers['content-length']) / (1024 * 1024):.1f} MiB served back")


def main() -> None:
    video = test_video()
    bench_upload(video, "local disk", {})
    with moto_s3() as s3_env:
        bench_upload(video, "S3 (moto server)", s3_env)


if __name__ == "__main__":
    main()
