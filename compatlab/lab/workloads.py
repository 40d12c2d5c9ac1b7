"""Workloads: one file per application in jobspecs/, with its command and true needs."""

from __future__ import annotations

from pathlib import Path

from compatlab.errors import LabError, brief
from compatlab.inputs import check, load_yaml

from . import semver
from .model import Evidence, Needs, Workload
from .paths import SCHEMAS

RUN = "run"  # the task's resource in every jobspec (formats.jobspecs), so no workload may take the name


def load_workload(path: Path) -> Workload:
    """Read ``jobspecs/<name>.yaml`` into a ``Workload``: command, task shape, needs and failure evidence.

    Raises ``LabError`` naming the file and key when it does not parse, breaks
    ``schemas/workload.schema.json``, is named unlike its file, lists Go as software,
    holds a version Masterminds semver cannot parse, or a command with a double
    quote or non-ASCII text (which real rainbow cannot store).
    """
    doc = load_yaml(path)
    if isinstance(doc, dict) and doc.get("workload") == RUN:
        raise LabError(path, "workload", f"{RUN!r} is taken: every jobspec's task runs on a resource of that name; "
                       "allowed: any other lowercase name")
    check(doc, SCHEMAS / "workload.schema.json", path)
    if doc["workload"] != path.stem:
        raise LabError(path, "workload", f"{doc['workload']!r} must equal the file name {path.stem!r}")
    raw = doc["needs"]
    if "go" in (raw.get("software") or {}):
        raise LabError(path, "needs.software.go", "Go is a build need, not installed software; allowed: needs.go")
    for key, version in [("go", raw.get("go"))] + [
        (f"software.{k}", v) for k, v in (raw.get("software") or {}).items()
    ]:
        why = semver.check_bound(version) if isinstance(version, str) and "||" not in version else "not one bound"
        if version is not None and why is not None:
            raise LabError(path, f"needs.{key}", f"{brief(version)} is not a minimum version ({why}); allowed: "
                           "e.g. 1.20, quoted")
    command = tuple(doc["command"]) if "command" in doc else ("/bin/bash", "-c", doc["script"])
    key = "command" if "command" in doc else "script"
    bad = next((c for part in command for c in part if not _storable(c)), None)
    if bad is not None:  # the jobspec carries it, and real rainbow builds SQL from it (formats.jobspecs.jobspec_yaml)
        raise LabError(path, key, f"holds {bad!r}, which real rainbow cannot store; allowed: printable ASCII, tabs "
                       "and newlines, without double quotes (quote with ' in a script)")
    return Workload(
        name=doc["workload"],
        description=doc.get("description", "").strip(),
        command=command,
        nodes=doc["nodes"],
        tasks_per_node=doc.get("tasksPerNode", 1),
        needs=Needs(
            binary_arch=raw.get("binaryArch"),
            go=raw.get("go"),
            software=dict(sorted((raw.get("software") or {}).items())),
            memory_gb_per_node=raw.get("memoryGbPerNode", 1),
            disk_gb=raw.get("diskGb", 1),
            gpus=raw.get("gpus", 0),
        ),
        source=path,
        evidence={mode: Evidence(said["exitCode"], said["message"])
                  for mode, said in sorted((doc.get("evidence") or {}).items())},
    )


def _storable(c: str) -> bool:
    # YAML writes a string with control characters double-quoted, which real rainbow's SQL cannot hold either.
    return c in "\n\t" or (" " <= c <= "~" and c != '"')


def available(directory: Path) -> dict[str, Path]:
    """Workload name -> file, for every ``<directory>/<name>.yaml`` (sorted by name)."""
    return {p.stem: p for p in sorted(directory.glob("*.yaml"))}
