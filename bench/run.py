"""Run every benchmark module under bench/ (files named bench_*.py) and print their tables."""

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    names = sys.argv[1:] or sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    for name in names:
        print(f"\n### {name}")
        for block in importlib.import_module(f"bench.{name}").run():
            print(block, flush=True)


if __name__ == "__main__":
    main()
