"""`python -m bench`: run every benchmark module in this folder and print its figures.

A benchmark that cannot run (wrk missing, a server that does not start) is reported and the others
still run; the exit status is then non-zero.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path


def main() -> None:
    modules = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))
    names = [name for name in modules if name.startswith("bench_")]
    failed: list[str] = []
    for name in names:
        try:
            importlib.import_module(f"bench.{name}").main()
        except SystemExit as stop:  # a benchmark explaining why it cannot run
            if stop.code not in (None, 0):
                print(f"{name}: {stop.code}", file=sys.stderr)
                failed.append(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        sys.stdout.flush()
    if not names:
        print("no benchmarks yet")
    if failed:
        raise SystemExit(f"benchmarks that did not run to the end: {', '.join(failed)}")


if __name__ == "__main__":
    main()
