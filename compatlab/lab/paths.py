"""Where compatlab's own inputs live: the schemas, the workloads, the example stacks and the catalogues.

They travel in the wheel as packages (``compatlab.schemas``, ``compatlab.jobspecs``,
``compatlab.stacks``; pyproject.toml maps the repository's top-level ``schemas/``,
``jobspecs/`` and ``stacks/`` to them) and ``compatlab/data/``, and are found through
``importlib.resources``: the same code reads the checkout (``make install`` installs
it editable) and an installed wheel, whatever the current directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _directory(package: str) -> Path:
    """The directory on disk holding ``package``'s files.

    pip installs wheels unpacked and ``make install`` installs editable, so the
    package is a directory; a zipped install is not, and raises ``RuntimeError``
    naming the package (the callers glob and hand paths to the error messages).
    """
    found = resources.files(package)
    if not isinstance(found, Path):
        raise RuntimeError(f"{package} is not a directory on disk ({found!r}); install compatlab unpacked")
    return found


SCHEMAS = _directory("compatlab.schemas")
JOBSPECS = _directory("compatlab.jobspecs")
STACKS = _directory("compatlab.stacks")
DATA = _directory("compatlab") / "data"


def stack_file(stack: str, stacks_dir: Path = STACKS) -> Path:
    """The stack file for a stack name (``full`` -> ``stacks/Pulumi.full.yaml``) or a path.

    A path has a ``/`` or ends in ``.yaml``/``.yml``; anything else is a name, looked
    up in ``stacks_dir`` (the example stacks) whatever the current directory holds (a
    directory ``./dev`` does not shadow the stack ``dev``). Raises nothing: a missing
    file is the loader's error to report.
    """
    if "/" in stack or stack.endswith((".yaml", ".yml")):
        return Path(stack)
    return stacks_dir / f"Pulumi.{stack}.yaml"
