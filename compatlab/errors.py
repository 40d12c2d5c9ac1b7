"""Errors for people: one line naming the file, the key, the bad value and what is allowed."""

from __future__ import annotations

import reprlib
import sys
from pathlib import Path


class LabError(Exception):
    """Bad input to the experiment. The CLI prints ``str(err)`` and exits 2."""

    def __init__(self, source: str | Path, key: str, problem: str) -> None:
        self.source = str(source)
        self.key = key
        self.problem = problem
        super().__init__(self.line())

    def line(self) -> str:
        """The one-line message: ``<file>: <key>: <problem>``, whitespace collapsed, at most ``MAX_LINE`` characters."""
        where = f"{self.source}: {self.key}" if self.key else self.source
        # Keep the message on one line, and readable, whatever the problem text holds.
        text = " ".join(f"{where}: {self.problem}".split())
        return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


MAX_LINE = 500  # characters of an error line
MAX_VALUE = 60  # characters of a quoted value in it


_REPR = reprlib.Repr()  # Python 3.11 takes no keyword arguments here
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple, _REPR.maxset = 2, 4, 4, 4, 4
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = MAX_VALUE, 40, MAX_VALUE


def brief(value: object, limit: int = MAX_VALUE) -> str:
    """``repr(value)`` cut short (bounded work, at most about ``limit`` characters): a 51 MB value helps nobody."""
    try:
        text = _REPR.repr(value)
    except ValueError:  # an int beyond Python's 4300-digit str() limit
        return f"<a number of over {sys.int_info.str_digits_check_threshold} digits>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def key_path(parts: tuple | list, prefix: str = "") -> str:
    """Render a JSON path like ``compatlab:miniclusters[2].pool`` from its parts (strings and list indexes)."""
    if not parts:
        return prefix.rstrip(":") or "(top level)"
    out = prefix
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            name = str(part)[:MAX_VALUE]
            out += f".{name}" if out and not out.endswith(":") else name
    return out or "(top level)"
