"""`manage.py serve` in a process of its own, on the embedded default, for tests of the real server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
# Set on a developer's machine or in CI for other tests; a served embedded default must not see them.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "S3_ENDPOINT",
    "JWT_SECRET",
    "PUBLIC_BASE_URL",
    "OTEL_SERVICE_NAME",
)


def embedded_environment(data_dir: Path, port: int, overrides: Mapping[str, str]) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in SERVICE_VARIABLES}
    env.update(
        {
            "ENV": "development",
            "DATA_DIR": str(data_dir),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "warning",
        }
    )
    env.update(overrides)
    return env


def manage(step: str, env: Mapping[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", step], cwd=ROOT, env=env, check=True, timeout=120)


@contextmanager
def serving(
    data_dir: Path,
    overrides: Mapping[str, str] | None = None,
    *,
    steps: tuple[str, ...] = ("migrate",),
    output: IO[bytes] | None = None,
) -> Iterator[str]:
    """Runs `steps` (migrate, seed), then serves until the block ends; yields the base URL once
    `/healthz` answers. `output`: where the server's stdout and stderr go (else the test's own)."""
    port = free_port()
    env = embedded_environment(data_dir, port, overrides or {})
    for step in steps:
        manage(step, env)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve"], cwd=ROOT, env=env, stdout=output, stderr=output
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
