"""Video tools on the ffmpeg binary that imageio-ffmpeg ships (it has no ffprobe: ffmpeg probes).

All functions block; callers on the event loop run them in a thread.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import imageio_ffmpeg

FFMPEG_TIMEOUT_SECONDS = 120
_DURATION = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_INPUT_FORMAT = re.compile(r"Input #0, ([\w,]+), from")
# Container formats accepted as videos; images and audio-only files are refused.
VIDEO_CONTAINERS = frozenset({"mov", "mp4", "matroska", "webm", "avi", "flv", "mpegts", "mpeg", "3gp"})
_VIDEO_STREAM = re.compile(r"Stream #\d+:\d+.*?: Video: .*?(\d{2,5})x(\d{2,5})")


class MediaError(Exception):
    """The file is not a usable video; the message says why, for the uploader."""


@dataclass(frozen=True, slots=True)
class VideoInfo:
    duration_ms: int
    width: int
    height: int


@cache
def ffmpeg_exe() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=FFMPEG_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise MediaError("the video took too long to process") from error


def probe(path: Path) -> VideoInfo:
    """Check that `path` holds a decodable video stream and read its duration and size."""
    if path.stat().st_size == 0:
        raise MediaError("the file is empty")
    header = _run(["-i", str(path)])  # exits 1 without an output; stderr describes the input
    stream = _VIDEO_STREAM.search(header.stderr)
    container = _INPUT_FORMAT.search(header.stderr)
    formats = set(container.group(1).split(",")) if container else set()
    if "Invalid data found" in header.stderr or stream is None or not formats & VIDEO_CONTAINERS:
        raise MediaError("the file is not a video")
    duration = _DURATION.search(header.stderr)
    duration_ms = 0
    if duration:
        hours, minutes, seconds = duration.groups()
        duration_ms = round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
    # Decode the video track without output: a truncated or corrupt file fails here.
    decoded = _run(["-v", "error", "-xerror", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"])
    if decoded.returncode != 0 or decoded.stderr.strip():
        raise MediaError("the video is damaged or truncated")
    return VideoInfo(duration_ms=duration_ms, width=int(stream.group(1)), height=int(stream.group(2)))


def extract_cover(video: Path, cover: Path) -> None:
    """Write a JPEG of a frame from the first second of `video`."""
    result = _run(
        ["-y", "-v", "error", "-ss", "0.5", "-i", str(video), "-frames:v", "1", "-q:v", "3", str(cover)]
    )
    if result.returncode != 0 or not cover.exists() or cover.stat().st_size == 0:
        # Shorter than half a second: take the very first frame.
        result = _run(["-y", "-v", "error", "-i", str(video), "-frames:v", "1", "-q:v", "3", str(cover)])
    if result.returncode != 0 or not cover.exists() or cover.stat().st_size == 0:
        raise MediaError("could not take a cover from the video")


def make_test_video(
    target: Path, seconds: float = 2, size: str = "640x360", pattern: str = "testsrc"
) -> None:
    """A real, playable H.264 MP4 (demo content and tests)."""
    result = _run(
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


def make_image(target: Path, color: str, size: str = "256x256") -> None:
    result = _run(
        ["-y", "-v", "error", "-f", "lavfi", "-i", f"color=c={color}:s={size}", "-frames:v", "1", str(target)]
    )
    if result.returncode != 0:
        raise MediaError(f"ffmpeg could not make an image: {result.stderr.strip()[:200]}")
