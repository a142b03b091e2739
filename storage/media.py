"""Video tools on the ffmpeg binary that imageio-ffmpeg ships (it has no ffprobe: ffmpeg probes).

All functions block; callers on the event loop run them in a thread.

Checking an upload costs three short ffmpeg runs: the header (container, streams, duration), a pass that
demuxes every packet of the video track without decoding it (about 0.03 s for 100 MB, where a full decode
of phone footage takes seconds), and decoding the first frames for the cover, which proves the track is
decodable. ffmpeg stops quietly at the end of a cut file, even when decoding everything, so truncation is
caught by comparing: the MP4/MOV box sizes with the file size, and the span of packets read with the
duration the header promises.
"""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import imageio_ffmpeg

from core import metrics, telemetry

FFMPEG_TIMEOUT_SECONDS = 120
COVER_AT_SECONDS = 0.5
# Covers are thumbnails in a feed: wider frames are scaled down to this width (height keeps the ratio).
COVER_MAX_WIDTH = 720

_DURATION = re.compile(r"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_INPUT_FORMAT = re.compile(r"Input #0, ([\w,]+), from")
_MAJOR_BRAND = re.compile(r"major_brand\s*:\s*(\S+)")
_STREAM = re.compile(r"^\s*Stream #0:\d+\S*: (Video|Audio): (\w+)(.*)$", re.MULTILINE)
_FRAME_SIZE = re.compile(r", (\d{1,5})x(\d{1,5})\b")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_OUT_TIME = re.compile(r"^out_time_us=(\d+)$", re.MULTILINE)
_FRAMES = re.compile(r"^frame=(\d+)$", re.MULTILINE)
# How far the packets read may fall short of the header's duration (audio may outlast the video a little).
_SHORTFALL_MS = 1000


class MediaError(Exception):
    """The file is not a usable video; the message says why, for the uploader."""


@dataclass(frozen=True, slots=True)
class Container:
    """How a stored video is named and served."""

    extension: str
    content_type: str


MP4 = Container("mp4", "video/mp4")
MOV = Container("mov", "video/quicktime")
THREE_GP = Container("3gp", "video/3gpp")
WEBM = Container("webm", "video/webm")
MATROSKA = Container("mkv", "video/x-matroska")
# Demuxer names (as ffmpeg prints them) of the other accepted containers. Images (png_pipe, image2, gif)
# and audio files are not in the list, so they are refused.
_SIMPLE_CONTAINERS = {
    "avi": Container("avi", "video/x-msvideo"),
    "flv": Container("flv", "video/x-flv"),
    "mpegts": Container("ts", "video/mp2t"),
    "mpeg": Container("mpg", "video/mpeg"),
}
ISO_CONTAINERS = (MP4, MOV, THREE_GP)  # the box-structured ones
_MUXERS = {MP4: "mp4", MOV: "mov", THREE_GP: "3gp"}
_WEBM_VIDEO_CODECS = frozenset({"vp8", "vp9", "av1"})
_WEBM_AUDIO_CODECS = frozenset({"opus", "vorbis"})

CONTENT_TYPES: dict[str, str] = {
    container.extension: container.content_type
    for container in (MP4, MOV, THREE_GP, WEBM, MATROSKA, *_SIMPLE_CONTAINERS.values())
} | {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}


@dataclass(frozen=True, slots=True)
class VideoInfo:
    duration_ms: int
    width: int
    height: int
    container: Container


@dataclass(frozen=True, slots=True)
class _Stream:
    kind: str
    codec: str
    details: str


@cache
def ffmpeg_exe() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(args: list[str]) -> subprocess.CompletedProcess[str]:
    """One ffmpeg run, counted while it runs and, when tracing is on, in an `ffmpeg` span."""
    if not telemetry.STATE.enabled:
        return _counted_ffmpeg(args)
    with telemetry.span("ffmpeg", {"process.executable.name": "ffmpeg"}) as span:
        result = _counted_ffmpeg(args)
        span.set_attribute("process.exit.code", result.returncode)
        return result


def _counted_ffmpeg(args: list[str]) -> subprocess.CompletedProcess[str]:
    metrics.FFMPEG_RUNNING.inc()
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
    finally:
        metrics.FFMPEG_RUNNING.dec()


def _container(formats: str, header: str, streams: list[_Stream]) -> Container | None:
    names = set(formats.split(","))
    if "mp4" in names:  # ffmpeg's one demuxer for mov, mp4, 3gp: the brand tells them apart
        brand_match = _MAJOR_BRAND.search(header)
        brand = brand_match.group(1).lower() if brand_match else ""
        if brand == "qt":
            return MOV
        if brand.startswith(("3gp", "3g2")):
            return THREE_GP
        return MP4
    if "matroska" in names:
        video_codecs = {stream.codec for stream in streams if stream.kind == "Video"}
        audio_codecs = {stream.codec for stream in streams if stream.kind == "Audio"}
        if video_codecs <= _WEBM_VIDEO_CODECS and audio_codecs <= _WEBM_AUDIO_CODECS:
            return WEBM
        return MATROSKA
    return _SIMPLE_CONTAINERS.get(formats)


def _duration_ms(header: str) -> int:
    match = _DURATION.search(header)
    if not match:
        return 0
    hours, minutes, seconds = match.groups()
    return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)


def _display_size(details: str, header: str) -> tuple[int, int]:
    size = _FRAME_SIZE.search(details)
    if not size:
        return 0, 0
    width, height = int(size.group(1)), int(size.group(2))
    rotation = _ROTATION.search(header)
    # Phones record landscape frames with a rotation tag; players show them turned, so report that size.
    if rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
        width, height = height, width
    return width, height


def _top_level_boxes(path: Path) -> list[str] | None:
    """The types of an MP4/MOV file's top-level boxes, in order; None when their sizes do not add up to
    the file's (a cut file ends mid-box)."""
    size = path.stat().st_size
    kinds: list[str] = []
    offset = 0
    with path.open("rb") as file:
        while size - offset >= 8:
            file.seek(offset)
            box_size, kind = struct.unpack(">I4s", file.read(8))
            kinds.append(kind.decode("latin-1"))
            if box_size == 1:  # a 64-bit size follows the type
                large = file.read(8)
                if len(large) < 8:
                    return None
                (box_size,) = struct.unpack(">Q", large)
            elif box_size == 0:  # the last box runs to the end of the file
                return kinds
            if box_size < 8:
                return None
            offset += box_size
    return kinds if offset <= size else None


def _packet_span_ms(path: Path) -> int:
    """Read every packet of the video track without decoding; the span read, in ms (0: no packets)."""
    result = run_ffmpeg(
        [
            "-v",
            "error",
            "-xerror",
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-f",
            "null",
            "-progress",
            "pipe:1",
            "-nostats",
            "-",
        ]
    )
    if result.returncode != 0 or result.stderr.strip():
        raise MediaError("the video is damaged or truncated")
    frames = _FRAMES.findall(result.stdout)
    if not frames or int(frames[-1]) == 0:
        raise MediaError("the video has no frames")
    times = _OUT_TIME.findall(result.stdout)
    return int(times[-1]) // 1000 if times else 0


def _check_complete(path: Path, container: Container, header: str, duration_ms: int) -> int:
    """Refuse a cut file; returns the span of packets read, in ms."""
    if "File ended prematurely" in header:
        raise MediaError("the video is damaged or truncated")
    if container in ISO_CONTAINERS and _top_level_boxes(path) is None:
        raise MediaError("the video is damaged or truncated")
    span_ms = _packet_span_ms(path)
    if duration_ms and span_ms < duration_ms - max(_SHORTFALL_MS, duration_ms // 10):
        raise MediaError("the video is damaged or truncated")
    return span_ms


def probe(path: Path) -> VideoInfo:
    """Check that `path` holds a complete video with a video stream; read its container, duration, size."""
    if path.stat().st_size == 0:
        raise MediaError("the file is empty")
    header = run_ffmpeg(["-i", str(path)]).stderr  # exits 1 without an output; stderr describes the input
    formats = _INPUT_FORMAT.search(header)
    if "Invalid data found" in header or formats is None:
        raise MediaError("the file is not a video")
    streams = [_Stream(kind, codec, details) for kind, codec, details in _STREAM.findall(header)]
    # A cover picture inside an audio file is a "video" stream too; it is not a video.
    videos = [s for s in streams if s.kind == "Video" and "attached pic" not in s.details]
    container = _container(formats.group(1), header, streams)
    if not videos or container is None:
        raise MediaError("the file is not a video")
    width, height = _display_size(videos[0].details, header)
    if width == 0 or height == 0:
        raise MediaError("the video has no picture size")
    duration_ms = _duration_ms(header)
    span_ms = _check_complete(path, container, header, duration_ms)
    return VideoInfo(
        duration_ms=duration_ms or span_ms,
        width=width,
        height=height,
        container=container,
    )


def index_at_end(path: Path, container: Container) -> bool:
    """Whether an MP4/MOV keeps its index (moov) after the media (mdat), as phones record: a player must
    then fetch the end of the file before it can show the first frame."""
    if container not in ISO_CONTAINERS:
        return False
    kinds = _top_level_boxes(path) or []
    return "moov" in kinds and "mdat" in kinds and kinds.index("moov") > kinds.index("mdat")


def move_index_to_front(source: Path, target: Path, container: Container) -> bool:
    """Rewrite `source` into `target` with the index first (no re-encoding: the packets are copied).
    Keeps the video and audio tracks; False when ffmpeg cannot (the caller then keeps the original)."""
    result = run_ffmpeg(
        [
            "-y", "-v", "error", "-i", str(source),
            "-map", "0:v", "-map", "0:a?", "-c", "copy", "-map_metadata", "0",
            "-movflags", "+faststart", "-f", _MUXERS[container], str(target),
        ]
    )  # fmt: skip
    return result.returncode == 0 and target.is_file() and not index_at_end(target, container)


def _cover_args(video: Path, cover: Path, seek: float | None) -> list[str]:
    start = ["-ss", str(seek)] if seek is not None else []
    scale = f"scale=w='min(iw,{COVER_MAX_WIDTH})':h=-2"
    jpeg = ["-vf", scale, "-frames:v", "1", "-q:v", "3", "-f", "image2", "-c:v", "mjpeg"]
    return ["-y", "-v", "error", *start, "-i", str(video), "-map", "0:v:0", *jpeg, str(cover)]


def _written(cover: Path) -> bool:
    return cover.is_file() and cover.stat().st_size > 0


def extract_cover(video: Path, cover: Path) -> None:
    """Write a JPEG of a frame from the first second of `video`."""
    result = run_ffmpeg(_cover_args(video, cover, COVER_AT_SECONDS))
    if result.returncode != 0 or not _written(cover):
        # Shorter than the seek point: take the very first frame.
        result = run_ffmpeg(_cover_args(video, cover, None))
    if result.returncode != 0 or not _written(cover):
        raise MediaError("the video could not be decoded")
