"""Print `make mutate`'s score: mutants killed per core module and overall, from mutmut's results in mutants/.

A mutant counts as killed when a test failed (or timed out) with it in place; a surviving one, or one no
test reaches, counts against the score; one mutmut has not run yet (``make mutate MUTANTS=...`` runs some
modules only) counts in no column. Exits 1 when a full run's overall score is under ``--min`` (percent).
Reads ``[tool.mutmut] only_mutate`` in pyproject.toml for the module list, so the two cannot drift.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 36, 24, -24, 152, 255}  # mutmut 3's exit codes for a failed test or a timeout
SURVIVED = {0}


def main(argv: list[str] | None = None) -> int:
    """Print one row per module and the total; return 1 when a module was not run or the total is under --min."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--min", type=float, default=90.0, help="the lowest acceptable overall score, percent")
    parser.add_argument("--survivors", action="store_true", help="list each surviving mutant's name")
    args = parser.parse_args(argv)
    modules = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    total: Counter[str] = Counter()
    survivors: list[str] = []
    missing = []
    print(f"{'module':44} {'killed':>7} {'total':>6} {'score':>7}")
    for module in modules:
        meta = Path("mutants") / f"{module}.meta"
        if not meta.exists():
            missing.append(module)
            continue
        codes = {k: c for k, c in json.loads(meta.read_text())["exit_code_by_key"].items() if c is not None}
        total["not run"] += len(json.loads(meta.read_text())["exit_code_by_key"]) - len(codes)
        if not codes:
            print(f"{module:44} {'not run':>22}")
            continue
        counts = Counter("killed" if c in KILLED else "survived" if c in SURVIVED else "other"
                         for c in codes.values())
        survivors += sorted(name for name, c in codes.items() if c not in KILLED)
        n = len(codes)
        total.update(counts)
        total["all"] += n
        score = 100 * counts["killed"] / n if n else 100.0
        print(f"{module:44} {counts['killed']:7} {n:6} {score:6.1f}%")
    overall = 100 * total["killed"] / total["all"] if total["all"] else 0.0
    print(f"{'overall':44} {total['killed']:7} {total['all']:6} {overall:6.1f}%")
    if total["other"]:
        print(f"({total['other']} neither killed nor survived: no test reaches them, or mutmut did not run them)")
    if total["not run"]:
        print(f"partial: {total['not run']} mutants not run yet, so the overall score is of those that ran")
    if args.survivors:
        print("\n".join(survivors))
    if missing:
        print(f"not run: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0 if overall >= args.min or total["not run"] else 1


if __name__ == "__main__":
    sys.exit(main())
