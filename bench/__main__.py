"""`python -m bench`: run every benchmark module in this folder and print its figures."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    found = False
    for module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if module.name.startswith("bench_"):
            found = True
            importlib.import_module(f"bench.{module.name}").main()
    if not found:
        print("no benchmarks yet")


if __name__ == "__main__":
    main()
