"""Errors for people: one line naming the file, the key, the bad value and what is allowed."""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Sequence
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
        # Keep the message on one line, and readable, whatever the problem text holds; a control character in a
        # path (a directory named with an escape sequence) is shown escaped, never sent to the terminal.
        return clip(printable(" ".join(f"{where}: {self.problem}".split())), MAX_LINE)


MAX_LINE = 500  # characters of an error line
_ESCAPED = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)]}
# Invisible format characters (zero widths, bidirectional overrides, the BOM): a right-to-left override in a
# cluster's name would reverse the rest of the line on the terminal.
_ESCAPED |= {c: f"\\u{c:04x}" for c in [0xad, *range(0x200b, 0x2010), *range(0x202a, 0x202f),
                                          *range(0x2060, 0x2070), 0xfeff]}
MAX_VALUE = 60  # characters of a quoted value in it


def printable(text: str) -> str:
    """``text`` safe for a terminal and for UTF-8: control characters as ``\\x1b``, invisible format characters
    (bidirectional overrides, zero widths) as ``\\u202e``, bytes of a name that were not UTF-8 (lone
    surrogates, as Python keeps them) as ``\\udcff``."""
    return text.translate(_ESCAPED).encode("utf-8", "backslashreplace").decode("utf-8")


def brief(value: object, limit: int = MAX_VALUE) -> str:
    """A value as the user wrote it, in YAML/JSON words, cut short (bounded work, about ``limit`` characters).

    ``null``, ``true``, ``4``, ``0.5``, ``'text'`` (escaped, so a control character
    cannot reach the terminal), ``2026-12-31`` for a date YAML read, ``[a, b, ...]``
    and ``{key: value, ...}`` two levels deep, four items each: a 51 MB value helps nobody.
    """
    return clip(_render(value, 0), limit)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the cut shown as ``...``."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _render(value: object, depth: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if value.bit_length() > 200:  # str() of a huge int is slow, and beyond 4300 digits refused
            return f"<a number of {value.bit_length()} bits>"
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value[: MAX_VALUE + 1])
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        if depth >= 2:
            return "[...]" if not isinstance(value, dict) else "{...}"
        if isinstance(value, dict):
            pairs = [pair for pair, _ in zip(value.items(), range(5), strict=False)]
            shown = [f"{_key(k)}: {_render(v, depth + 1)}" for k, v in pairs[:4]]
            more = len(pairs) > 4
        else:
            shown = [_render(v, depth + 1) for v in value[:4]]
            more = len(value) > 4
        body = ", ".join(shown) + (", ..." if more else "")
        return f"{{{body}}}" if isinstance(value, dict) else f"[{body}]"
    return repr(value)[:MAX_VALUE]


def _key(key: object) -> str:
    # A mapping key reads best bare when it is a plain word.
    return key if isinstance(key, str) and key.isidentifier() else _render(key, 2)


def key_path(parts: Sequence[object], prefix: str = "") -> str:
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


def unprintable(name: str) -> str | None:
    """What in a file or directory name cannot be shown as it is: a control or format character (Unicode
    categories Cc, Cf, Zl, Zp), or a byte that is not UTF-8 (Python keeps it as a lone surrogate, Cs); None
    when there is nothing."""
    if name.isascii() and name.isprintable():  # the common case, at C speed (ten thousand jobspec names)
        return None
    for char in name:
        category = unicodedata.category(char)
        if category == "Cs":
            return "a byte that is not UTF-8"
        if category in ("Cc", "Cf", "Zl", "Zp"):
            return f"the {'control' if category == 'Cc' else 'format'} character U+{ord(char):04X}"
    return None
