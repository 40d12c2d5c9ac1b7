"""Write whole files and whole trees: a failure never leaves anything half-written."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import yaml

MARKER = ".compatlab"


def dump_json(doc: object) -> bytes:
    """A document as JSON bytes: 2-space indent, sorted keys, trailing newline (byte-identical reruns)."""
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def dump_yaml(doc: object) -> bytes:
    """A document as block-style YAML bytes, keys in insertion order."""
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).encode()


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole: a temp file in the same directory, then a rename over the target.

    Creates missing parent directories; raises ``OSError`` and leaves no temp file behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class NotOurs(Exception):
    """The output directory is a file, or holds files compatlab did not write. The CLI exits 2."""


def replace_tree(out: Path, files: dict[str, bytes], what: str) -> None:
    """Make ``out`` hold exactly ``files`` (relative path -> bytes), swapped in whole.

    The tree is written to a staging directory beside ``out`` and renamed into
    place; ``what`` (the command) goes into the marker file. Raises ``NotOurs`` for a
    file, or a non-empty directory that compatlab did not write, so ``--out .``
    cannot wipe a checkout.
    """
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise NotOurs(f"{out} is a file, not a directory; choose a directory")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise NotOurs(f"{out} is not empty and was not written by compatlab; choose another directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        for rel, data in {**files, MARKER: f"{what}\n".encode()}.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.replace(out, old / "tree")
            os.replace(staging, out)
            shutil.rmtree(old)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
