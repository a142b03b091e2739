"""The installed project: `pip install -e .` makes its packages importable from anywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_installed_packages_import_outside_the_checkout(tmp_path: Path) -> None:
    script = (
        "import app, compat, core.clock, manage, resolvers, schema, settings, storage, migrations\n"
        "print(compat.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve().is_relative_to(ROOT)
