"""Multiprocess mode: the directory emptied at start, gauges of dead workers dropped, counters kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from core import metrics
from manage import prepare_multiprocess_dir


def _write(path: Path, metric: str, sample: str, value: float) -> None:
    """A value as a worker's prometheus_client writes it in multiprocess mode."""
    values = MmapedDict(str(path))  # type: ignore[no-untyped-call]
    values.write_value(mmap_key(metric, sample, [], [], "help"), value, 0.0)  # type: ignore[no-untyped-call]
    values.close()  # type: ignore[no-untyped-call]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _values(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_dead_workers_live_gauges_are_dropped_and_its_counters_kept(tmp_path: Path) -> None:
    pid = _dead_pid()
    _write(
        tmp_path / f"gauge_livesum_{pid}.db", "douyin_ffmpeg_jobs_running", "douyin_ffmpeg_jobs_running", 2
    )
    _write(tmp_path / f"counter_{pid}.db", "douyin_uploads", "douyin_uploads_total", 3)
    found = _values(metrics.render(str(tmp_path)).decode())
    assert found.get("douyin_ffmpeg_jobs_running", 0) == 0
    assert found["douyin_uploads_total"] == 3
    assert not (tmp_path / f"gauge_livesum_{pid}.db").exists()


def test_the_directory_is_emptied_at_start(tmp_path: Path) -> None:
    (tmp_path / "counter_1.db").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("kept")
    prepare_multiprocess_dir(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
    prepare_multiprocess_dir(tmp_path / "new")
    assert (tmp_path / "new").is_dir()


def test_route_and_operation_labels_come_from_the_allow_lists() -> None:
    metrics.allow_routes({"/douyin/feed/"}, prefixes=[("/media/", "/media/{key}")])
    metrics.allow_operations(["Feed"])
    assert metrics.route_label("/douyin/feed/") == "/douyin/feed/"
    assert metrics.route_label("/douyin/feed") == "/douyin/feed/"
    assert metrics.route_label("/media/videos/1.mp4") == "/media/{key}"
    assert metrics.route_label("/wp-admin.php") == "other"
    assert metrics.operation_label("Feed") == "Feed"
    assert metrics.operation_label("Sneaky") == "other"
    assert metrics.operation_label(None) == "anonymous"
