"""The compatlab command: a thin layer over the core. ``main(argv) -> int``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import LabError
from .files import NotOurs, replace_tree
from .generate import generate
from .lab import load_lab


def _generate(args: argparse.Namespace) -> int:
    lab = load_lab(args.stack)
    files = generate(lab)
    replace_tree(Path(args.out), files, f"compatlab generate --stack {lab.stack}")
    print(
        f"{lab.stack}: {len(lab.miniclusters)} miniclusters, {len(lab.workloads)} workloads, "
        f"{len(lab.levels)} levels -> {len(files)} files in {args.out}"
    )
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="compatlab", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write rainbow metadata and jobspecs per level for a stack")
    gen.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<name>.yaml) or file")
    gen.add_argument("--out", required=True, help="output directory (replaced whole)")
    gen.set_defaults(run=_generate)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (LabError, NotOurs) as err:
        print(f"compatlab: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
