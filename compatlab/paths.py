"""Where the repository's own files live (schemas/, jobspecs/, stacks/)."""

from __future__ import annotations

from pathlib import Path

# compatlab is installed editable from the repository, so the package sits at its top.
REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "schemas"
JOBSPECS = REPO / "jobspecs"
STACKS = REPO / "stacks"
DATA = Path(__file__).resolve().parent / "data"


def stack_file(stack: str, stacks_dir: Path = STACKS) -> Path:
    """A stack name ('full') or a path to a stack file."""
    candidate = Path(stack)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    return stacks_dir / f"Pulumi.{stack}.yaml"
