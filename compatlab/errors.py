"""Errors for people: one line naming the file, the key, the bad value and what is allowed."""

from __future__ import annotations

from pathlib import Path


class LabError(Exception):
    """Bad input to the experiment. The CLI prints ``str(err)`` and exits 2."""

    def __init__(self, source: str | Path, key: str, problem: str) -> None:
        self.source = str(source)
        self.key = key
        self.problem = problem
        super().__init__(self.line())

    def line(self) -> str:
        """The one-line message: ``<file>: <key>: <problem>``, whitespace collapsed."""
        where = f"{self.source}: {self.key}" if self.key else self.source
        # Keep the message on one line whatever the problem text holds.
        return " ".join(f"{where}: {self.problem}".split())


def key_path(parts: tuple | list, prefix: str = "") -> str:
    """Render a JSON path like ``compatlab:miniclusters[2].pool`` from its parts (strings and list indexes)."""
    if not parts:
        return prefix.rstrip(":") or "(top level)"
    out = prefix
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out and not out.endswith(":") else str(part)
    return out or "(top level)"
