"""Where the repository's own inputs live: stacks/, jobspecs/, schemas/ and the catalogues.

compatlab runs from its checkout (``make install`` installs it editable), so
``schemas/``, ``stacks/`` and ``jobspecs/`` are found beside the package; the
catalogues in ``compatlab/data/`` travel with the package itself.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
JOBSPECS = REPO / "jobspecs"
STACKS = REPO / "stacks"
DATA = Path(__file__).resolve().parents[1] / "data"  # package data: travels in the wheel


def stack_file(stack: str, stacks_dir: Path = STACKS) -> Path:
    """The stack file for a stack name (``full`` -> ``stacks/Pulumi.full.yaml``) or a path.

    A path has a ``/`` or ends in ``.yaml``/``.yml``; anything else is a name, looked
    up in ``stacks_dir`` whatever the current directory holds (a directory ``./dev``
    does not shadow the stack ``dev``). Raises nothing: a missing file is the
    loader's error to report.
    """
    if "/" in stack or stack.endswith((".yaml", ".yml")):
        return Path(stack)
    return stacks_dir / f"Pulumi.{stack}.yaml"
