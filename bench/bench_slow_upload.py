"""Disk held by anonymous slow uploads: four connections each send most of a 150 MiB publish body to
`POST /douyin/publish/action/` and then stall, as a client filling the disk would. While they stall, the
bytes under the server's scratch space (DATA_DIR/tmp) and its temporary directory (TMPDIR, where
Starlette's own form parser spools files) are counted.

Two shapes: the form's `token` (not a valid one) before the file part, and no token at all before it.
`BENCH_SOURCE=/path/to/a/checkout` runs that tree's server instead of this one (to compare versions).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 4
FILE_BYTES = 150 * 1024 * 1024
SENT_BYTES = FILE_BYTES - 1024 * 1024  # all but the last MiB, then the client stalls
BOUNDARY = "slowb0undary"
CHUNK = b"\0" * (256 * 1024)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bytes_held(pid: int, *roots: Path) -> int:
    """Bytes in files under `roots`: those listed there, and those the server holds open there without a
    name (Python's temporary files are unnamed on Linux, so only /proc shows them)."""
    sizes: dict[tuple[int, int], int] = {}
    for root in roots:
        for path in root.rglob("*") if root.exists() else ():
            if path.is_file():
                info = path.stat()
                sizes[(info.st_dev, info.st_ino)] = info.st_size
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target, info = os.readlink(descriptor), descriptor.stat()
        except OSError:
            continue
        if any(target.startswith(str(root)) for root in roots) and descriptor.is_file():
            sizes[(info.st_dev, info.st_ino)] = info.st_size
    return sum(sizes.values())


def _head(with_token: bool) -> bytes:
    token = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="token"\r\n\r\nnot-a-token\r\n'
    file_part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="data"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    )
    return ((token if with_token else "") + file_part).encode()


def _stalled_upload(port: int, head: bytes) -> socket.socket:
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(head) + FILE_BYTES + len(tail)
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(
        (
            f"POST /douyin/publish/action/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
        ).encode()
        + head
    )
    connection.settimeout(0.5)
    sent = 0
    try:
        while sent < SENT_BYTES:
            connection.sendall(CHUNK)
            sent += len(CHUNK)
    except (TimeoutError, OSError):  # the server stopped reading (it refused the upload)
        pass
    return connection


def _measure(source: Path, with_token: bool) -> tuple[int, int]:
    """(peak bytes held while stalled, bytes still held after the clients closed)."""
    with tempfile.TemporaryDirectory(prefix="bench-slow-upload-") as workdir:
        data_dir, tmp_dir = Path(workdir) / "var", Path(workdir) / "tmp"
        tmp_dir.mkdir()
        port = _free_port()
        env = os.environ | {
            "ENV": "production",
            "JWT_SECRET": secrets.token_hex(24),
            "DATA_DIR": str(data_dir),
            "TMPDIR": str(tmp_dir),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "warning",
            "DATABASE_URL": "",
            "REDIS_URL": "",
            "S3_ENDPOINT": "",
            "SEED_DEMO": "false",
        }
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate"], cwd=source, env=env, check=True, capture_output=True)
        server = subprocess.Popen([python, "manage.py", "serve"], cwd=source, env=env)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            connections = [_stalled_upload(port, _head(with_token)) for _ in range(CONNECTIONS)]
            time.sleep(2)
            held = _bytes_held(server.pid, data_dir / "tmp", tmp_dir)
            for connection in connections:
                connection.close()
            time.sleep(2)
            return held, _bytes_held(server.pid, data_dir / "tmp", tmp_dir)
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    source = Path(os.environ.get("BENCH_SOURCE", ROOT)).resolve()
    sent = SENT_BYTES // 2**20
    print(f"Anonymous slow uploads: {CONNECTIONS} connections, {sent} MiB sent each, then stalled")
    for with_token, shape in ((True, "bad token before the file"), (False, "no token before the file")):
        held, after = _measure(source, with_token)
        print(
            f"  {shape}: {held / 2**20:.1f} MiB held while stalled, {after / 2**20:.1f} MiB after they closed"
        )


if __name__ == "__main__":
    main()
