"""Synthetic clips from ffmpeg's test sources: the demo data set's videos, and the tests' and benchmarks'."""

from __future__ import annotations

from pathlib import Path

from storage.media import MediaError, run_ffmpeg


def make_test_video(
    target: Path, seconds: float = 2, size: str = "640x360", pattern: str = "testsrc"
) -> None:
    """A real, playable H.264 MP4 (demo content and tests)."""
    result = run_ffmpeg(
        [
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"{pattern}=duration={seconds}:size={size}:rate=30",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            str(target),
        ]
    )
    if result.returncode != 0:
        raise MediaError(f"ffmpeg could not make a test video: {result.stderr.strip()[:200]}")
