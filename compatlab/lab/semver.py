"""Version bounds compared the way rainbow does (Masterminds semver v3).

Rainbow turns a ``requires`` item's ``min``/``max`` into ``>= min`` / ``<= max``
constraints. Masterminds' rules, which this module reproduces:

- a leading ``v`` is allowed and missing minor/patch parts read as 0 ("1.20" is 1.20.0);
- a partial ``max`` covers its whole range: ``<= 1.22`` admits 1.22.3, ``<= 1.22.0`` does not;
- a prerelease version never satisfies a bound that has no prerelease;
- a value that does not parse ("devel") satisfies nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_VERSION = re.compile(
    r"^v?(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?(?:\.(?P<patch>[0-9]+))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<meta>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


_UINT64 = 2**64 - 1


@dataclass(frozen=True)
class Version:
    """A parsed version: numeric parts, prerelease identifiers, and which parts were written."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...]
    # Which parts were written: a bound "1.22" has minor but no patch.
    has_minor: bool
    has_patch: bool

    def key(self) -> tuple:
        """The semver precedence key: a release sorts after its prereleases, numeric identifiers numerically."""
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre)


@lru_cache(maxsize=65536)
def parse(text: str) -> Version | None:
    """Parse a version as Masterminds semver v3's ``NewVersion`` does; None if it does not parse.

    Accepts a leading ``v``, missing minor/patch (read as 0), a prerelease and build
    metadata; refuses surrounding spaces, leading zeros in numeric prerelease
    identifiers and parts above 2**64 - 1 (Masterminds/semver v3.2.1, version.go).
    """
    if not isinstance(text, str):
        return None
    m = _VERSION.fullmatch(text)  # no trimming: " 1.20" does not parse in Go either
    if not m:
        return None
    pre = tuple(m["pre"].split(".")) if m["pre"] else ()
    if any(p.isdigit() and len(p) > 1 and p.startswith("0") for p in pre):
        return None  # numeric prerelease identifiers may not have leading zeros
    parts = [int(m[k] or 0) for k in ("major", "minor", "patch")]
    if any(n > _UINT64 for n in parts):
        return None  # Masterminds parses each part as a uint64
    return Version(
        *parts,
        pre,
        m["minor"] is not None,
        m["patch"] is not None,
    )


def at_least(value: Version, bound: Version) -> bool:
    """``value >= bound`` as a Masterminds constraint: a prerelease value never meets a bound without one."""
    if value.pre and not bound.pre:
        return False
    return value.key() >= bound.key()


def at_most(value: Version, bound: Version) -> bool:
    """``value <= bound`` as a Masterminds constraint: a partial bound (``1.22``) covers its whole range."""
    if value.pre and not bound.pre:
        return False
    if bound.has_minor and bound.has_patch:
        return value.key() <= bound.key()
    if value.major != bound.major:
        return value.major < bound.major
    return not bound.has_minor or value.minor <= bound.minor


@lru_cache(maxsize=262144)
def within(value: str, low: str | None = None, high: str | None = None) -> bool:
    """True when ``value`` satisfies ``>= low`` and ``<= high`` (either may be None).

    This is how rainbow checks a ``requires`` item's ``min``/``max``.

    An unparsable value or bound satisfies nothing. Raises nothing.
    """
    version = parse(value)
    if version is None:
        return False
    if low is not None:
        bound = parse(low)
        if bound is None or not at_least(version, bound):
            return False
    if high is not None:
        bound = parse(high)
        if bound is None or not at_most(version, bound):
            return False
    return True
