"""Video checks with ffmpeg: real videos pass with their container, size and length; anything else is
refused with a message an uploader understands."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from storage import clips, media
from tests.support.media import ffmpeg, make_image, make_not_a_video


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    clips.make_test_video(folder / "clip.mp4", seconds=2, size="320x240")
    return folder


def sample(folder: Path, name: str, *args: str) -> Path:
    target = folder / name
    if not target.exists():
        ffmpeg(*args, str(target))
    return target


LAVFI_CLIP = ("-f", "lavfi", "-i", "testsrc=duration=1:size=320x240:rate=30")


def test_an_mp4_reports_container_size_and_length(samples: Path) -> None:
    info = media.probe(samples / "clip.mp4")
    assert info == media.VideoInfo(duration_ms=2000, width=320, height=240, container=media.MP4)


@pytest.mark.parametrize(
    ("name", "codec", "container"),
    [
        ("clip.webm", ("-c:v", "libvpx-vp9", "-b:v", "200k"), media.WEBM),
        ("clip.mov", ("-c:v", "libx264", "-pix_fmt", "yuv420p"), media.MOV),
        ("clip.mkv", ("-c:v", "libx264", "-pix_fmt", "yuv420p"), media.MATROSKA),
    ],
)
def test_other_containers_keep_their_own_type(
    samples: Path, name: str, codec: tuple[str, ...], container: media.Container
) -> None:
    info = media.probe(sample(samples, name, *LAVFI_CLIP, *codec))
    assert info.container == container
    assert (info.width, info.height) == (320, 240)
    assert 900 <= info.duration_ms <= 1100


def test_a_rotated_phone_video_reports_the_size_it_is_shown_at(samples: Path) -> None:
    rotated = samples / "rotated.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(samples / "clip.mp4"), "-c", "copy", str(rotated))
    info = media.probe(rotated)
    assert (info.width, info.height) == (240, 320)


@pytest.mark.parametrize(
    ("kind", "reason"), [("empty", "the file is empty"), ("text", "not a video"), ("picture", "not a video")]
)
def test_files_that_are_not_videos_are_refused(samples: Path, kind: str, reason: str) -> None:
    target = samples / f"{kind}.mp4"
    make_not_a_video(target, kind)
    with pytest.raises(media.MediaError, match=reason):
        media.probe(target)


def test_an_audio_file_with_cover_art_is_not_a_video(samples: Path) -> None:
    cover = samples / "art.png"
    make_image(cover, "blue", size="64x64")
    song = samples / "song.m4a"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=duration=1", "-i", str(cover),
        "-map", "0:a", "-map", "1:v", "-c:a", "aac", "-c:v", "png", "-disposition:v", "attached_pic",
        str(song),
    )  # fmt: skip
    with pytest.raises(media.MediaError, match="not a video"):
        media.probe(song)


H264_FASTSTART = ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart")
H264_INDEX_LAST = ("-c:v", "libx264", "-pix_fmt", "yuv420p")  # as phones record: the index at the end
VP9 = ("-c:v", "libvpx-vp9", "-b:v", "300k")
CUTS: list[tuple[str, tuple[str, ...], float]] = [
    ("whole.mp4", H264_FASTSTART, kept) for kept in (0.1, 0.5, 0.9, 0.999)
]
CUTS += [("whole-index-last.mp4", H264_INDEX_LAST, kept) for kept in (0.1, 0.5, 0.9, 0.999)]
# WebM has no index to compare with: a cut is caught when it loses more than a second of the header's length.
CUTS += [("whole.webm", VP9, kept) for kept in (0.1, 0.5)]


@pytest.mark.parametrize(("name", "codec", "kept"), CUTS)
def test_a_cut_video_is_refused_wherever_it_was_cut(
    samples: Path, name: str, codec: tuple[str, ...], kept: float
) -> None:
    whole = sample(samples, name, "-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=30", *codec)
    media.probe(whole)  # the whole file is fine
    data = whole.read_bytes()
    cut = samples / f"cut-{kept}-{name}"
    cut.write_bytes(data[: int(len(data) * kept)])
    with pytest.raises(media.MediaError, match=r"damaged or truncated|not a video|no frames"):
        media.probe(cut)


def test_the_cover_is_a_jpeg_from_the_start(samples: Path) -> None:
    cover = samples / "cover.jpg"
    media.extract_cover(samples / "clip.mp4", cover)
    assert cover.read_bytes()[:3] == b"\xff\xd8\xff"


def test_a_video_shorter_than_the_cover_point_still_gets_a_cover(samples: Path) -> None:
    short = samples / "short.mp4"
    clips.make_test_video(short, seconds=0.1, size="320x240")
    cover = samples / "short.jpg"
    media.extract_cover(short, cover)
    assert cover.read_bytes()[:3] == b"\xff\xd8\xff"


def picture_size(path: Path) -> tuple[int, int]:
    header = subprocess.run(
        [media.ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    )
    match = re.search(r"Video: mjpeg.*?, (\d+)x(\d+)", header.stderr)
    assert match, header.stderr
    return int(match.group(1)), int(match.group(2))


def test_covers_of_large_videos_are_scaled_down_and_stand_as_the_video_is_shown(samples: Path) -> None:
    wide = samples / "wide.mp4"
    clips.make_test_video(wide, seconds=1, size="1280x720")
    cover = samples / "wide.jpg"
    media.extract_cover(wide, cover)
    assert picture_size(cover) == (720, 406)

    rotated = samples / "wide-rotated.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(wide), "-c", "copy", str(rotated))
    media.extract_cover(rotated, cover)
    assert picture_size(cover) == (720, 1280)


@pytest.mark.parametrize(
    ("name", "container"), [("index-last.mp4", media.MP4), ("index-last.mov", media.MOV)]
)
def test_an_index_at_the_end_is_moved_to_the_front_without_reencoding(
    samples: Path, name: str, container: media.Container
) -> None:
    recorded = samples / name
    ffmpeg("-display_rotation", "90", "-i", str(samples / "clip.mp4"), "-c", "copy", str(recorded))
    assert media.index_at_end(recorded, container)
    rewritten = samples / f"front-{name}"
    assert media.move_index_to_front(recorded, rewritten, container)
    assert not media.index_at_end(rewritten, container)
    assert media.probe(rewritten) == media.probe(recorded)  # same container, size as shown, length
    data = rewritten.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


def test_a_video_with_its_index_first_needs_no_rewrite(samples: Path) -> None:
    assert not media.index_at_end(samples / "clip.mp4", media.MP4)
