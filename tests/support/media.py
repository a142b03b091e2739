"""Media files for tests: ffmpeg runs, pictures, and files that only look like videos."""

from __future__ import annotations

import subprocess
from pathlib import Path

from storage import media


def ffmpeg(*args: str) -> None:
    subprocess.run([media.ffmpeg_exe(), "-v", "error", "-y", *args], check=True, capture_output=True)


def make_image(target: Path, color: str, size: str = "256x256") -> None:
    result = media.run_ffmpeg(
        ["-y", "-v", "error", "-f", "lavfi", "-i", f"color=c={color}:s={size}", "-frames:v", "1", str(target)]
    )
    if result.returncode != 0:
        raise media.MediaError(f"ffmpeg could not make an image: {result.stderr.strip()[:200]}")


def make_not_a_video(target: Path, kind: str) -> None:
    if kind == "empty":
        target.write_bytes(b"")
    elif kind == "text":
        target.write_text("this is not a video\n" * 100)
    else:  # a picture renamed to .mp4
        picture = target.with_suffix(".png")
        make_image(picture, "red")
        picture.rename(target)
