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
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def dump_yaml(doc: object) -> bytes:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False).encode()


def write_file(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory, then rename over the target."""
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
    """The output directory holds files compatlab did not write."""


def replace_tree(out: Path, files: dict[str, bytes], what: str) -> None:
    """Make ``out`` hold exactly ``files`` (relative path -> bytes), swapped in whole.

    Refuses a non-empty directory that compatlab did not write, so ``--out .``
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
