"""Print `make mutation`'s results module by module, from mutmut's metadata under mutants/.

Score = mutants killed (a failing test or a timeout) / mutants that are not accepted as
equivalent. The accepted equivalents are the mutant names in backticks in docs/mutation.md's
"Accepted equivalent mutants" section; each has its reason there. Exits 1 when a module is
under the target, or when a listed equivalent no longer exists (the list went stale).
"""

import json
import re
import sys
from pathlib import Path

MODULES = [
    "app/ticket/triage.py",
    "app/ticket/ranking.py",
    "app/sla/calendar.py",
    "app/rota/schedule.py",
    "app/rota/holidays.py",
    "app/wallclock.py",
]
TARGET = 0.90
KILLED = {1, 3}  # a test failed (3: pytest's internal error also means the mutant broke something)
TIMEOUT = {36, 24, -24, 152, 255}


def accepted(doc: Path) -> set[str]:
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    section = (
        text.split("## Accepted equivalent mutants", 1)[-1]
        if "## Accepted equivalent" in text
        else ""
    )
    section = section.split("\n## ", 1)[0]
    return set(re.findall(r"`(app\.[\w.]+__mutmut_\d+)`", section))


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    equivalent = accepted(root / "docs" / "mutation.md")
    seen: set[str] = set()
    failing = False
    print(
        f"{'module':24} {'mutants':>7} {'killed':>6} {'timeout':>7} {'survived':>8} {'no test':>7} "
        f"{'equiv.':>6} {'score':>6}"
    )
    survivors: list[str] = []
    for module in MODULES:
        meta = root / "mutants" / (module + ".meta")
        if not meta.exists():
            print(f"{module:24} (no results: run `make mutation`)")
            failing = True
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        seen |= set(codes)
        killed = sum(1 for c in codes.values() if c in KILLED)
        timeout = sum(1 for c in codes.values() if c in TIMEOUT)
        eq = [k for k in codes if k in equivalent]
        live = [
            k
            for k, c in codes.items()
            if c not in KILLED and c not in TIMEOUT and k not in equivalent
        ]
        survived = sum(1 for k, c in codes.items() if c == 0)
        untested = sum(1 for c in codes.values() if c in (5, 33))
        considered = len(codes) - len(eq)
        score = (killed + timeout) / considered if considered else 1.0
        failing |= score < TARGET
        survivors += live
        print(
            f"{module.removeprefix('app/'):24} {len(codes):7} {killed:6} {timeout:7} {survived:8} {untested:7} "
            f"{len(eq):6} {score:6.1%}"
        )
    stale = sorted(equivalent - seen)
    if stale:
        print(
            "\nlisted as equivalent but not produced any more (update docs/mutation.md):",
            *stale,
            sep="\n  ",
        )
        failing = True
    if survivors:
        print(
            "\nnot killed and not accepted as equivalent (`mutmut show NAME` shows the change):",
            *sorted(survivors),
            sep="\n  ",
        )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
