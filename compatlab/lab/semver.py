"""Version bounds compared exactly as rainbow does, with Masterminds/semver v3.2.1.

Rainbow (``plugins/algorithms/match/range.go``) parses the value from the cluster graph with
``semver.NewVersion`` and turns a ``requires`` item's ``min`` into the constraint
``">= " + min`` and its ``max`` into ``"<= " + max``, each parsed by ``semver.NewConstraint``;
the item holds when ``Check`` passes for every bound given. This module is a Python port of
Masterminds/semver v3.2.1 ``version.go`` (``NewVersion``, ``Compare``) and ``constraints.go``
(``NewConstraint``, ``rewriteRange``, ``parseConstraint``, the operator functions). The rules,
all taken from that source:

Versions (``NewVersion``)
    ``v?MAJOR(.MINOR)?(.PATCH)?(-PRERELEASE)?(+METADATA)?``, nothing around it (no trimming,
    only a lowercase ``v``). Missing parts read as 0, each part must fit a uint64, numeric
    prerelease identifiers may not have leading zeros (release parts may). "go1.20.14",
    "devel", "V1.2", " 1.2" and "" are not versions.

Precedence (``Compare``)
    Major, minor, patch numerically; a release sorts after its prereleases; prerelease
    identifiers compare left to right, numeric ones (those that fit a uint64) numerically and
    below alphanumeric ones, which compare bytewise; fewer identifiers sort first. Metadata is
    ignored.

Constraints (``NewConstraint``)
    ``a - b`` is first rewritten to ``>= a, <= b``; ``||`` separates alternatives; within one,
    constraints are separated by spaces or commas, each an operator (``=``, none, ``!=``,
    ``>``, ``<``, ``>=``, ``=>``, ``<=``, ``=<``, ``~``, ``~>``, ``^``) and a version whose
    parts may be the wildcards ``x``, ``X`` or ``*`` ("1.20.x", "1.*", "*"). A missing or
    wildcard part makes the constraint *dirty*. Whitespace is Go's ``\\s`` (tab, newline,
    form feed, carriage return, space; not vertical tab or Unicode spaces). So ``">= =1.20"``,
    ``">= V1.20"`` and ``">= "`` are errors, while ``">= 1.20, <1.21"`` and ``">= 1 || 3"``
    parse.

Checks (one function per operator)
    - a prerelease value fails every operator but ``!=`` unless the constraint's version has a
      prerelease itself ("1.21.0-rc1" is not ``>= 1.20``);
    - ``>=`` and ``<`` ignore wildcards: ``>= 1.20.x`` is ``>= 1.20.0``, ``< 1.x`` is ``< 1.0.0``;
    - ``<=`` with a partial or wildcard version covers its whole range: ``<= 1.22`` admits
      1.22.3, ``<= 1.x`` admits 1.99.0, ``<= 1.22.0`` does not admit 1.22.3; and ``<= *``
      admits only 0.0.z (the check compares the major and minor of 0.0.0);
    - ``>`` with a partial version excludes its whole range: ``> 1.20`` needs 1.21 or later;
    - ``=`` or no operator with a partial version is ``~``: ``1.20`` means >= 1.20.0, < 1.21.0;
    - ``~`` and ``^`` as in the Masterminds README (``~1.2.3`` is >= 1.2.3, < 1.3.0; ``^0.2`` is
      >= 0.2.0, < 0.3.0), except that ``^*`` is =0.0.0 (the README says "any"); ``!= *`` is
      != 0.0.0; ``~*`` admits every release.

:func:`within` answers rainbow's question for one item; :func:`check_bound` says whether a
``min``/``max`` string is a bound rainbow can parse at all. Parsed versions and constraints are
cached, so repeated checks against the same few bounds cost a dictionary lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

_UINT64 = 2**64 - 1

# Go's RE2 ``\s`` is ASCII [\t\n\f\r ]; Python's ``\s`` also matches \v and Unicode spaces.
_S = r"[\t\n\f\r ]"
# Masterminds' character class, verbatim: it admits a literal "|" (NewVersion then refuses it).
_PART = r"[0-9|x|X|\*]+"
_TAIL = r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
_SEMVER = rf"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?{_TAIL}"  # version.go semVerRegex
_CV = rf"v?({_PART})(\.{_PART})?(\.{_PART})?{_TAIL}"  # constraints.go cvRegex
# Order matters: Go's leftmost-first alternation tries "=" then "" then the rest, as Python's does.
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"

# ``fullmatch`` stands for Go's ``^...$`` (Go's ``$`` is end of text; Python's also matches
# before a final newline).
_VERSION_RE = re.compile(_SEMVER)
_CONSTRAINT_RE = re.compile(rf"{_S}*({_OPS}){_S}*({_CV}){_S}*")
_RANGE_RE = re.compile(rf"{_S}*({_CV}){_S}+-{_S}+({_CV}){_S}*")
_FIND_RE = re.compile(rf"({_OPS}){_S}*({_CV})")
# validConstraintRegex is ^(\s*(ops)\s*(cv)\s*)((?:\s+|,\s*)(ops)\s*(cv)\s*)*$ . Only whether it
# matches is used, so this module uses a regex for the same set of strings in which no two
# whitespace runs touch (the operator "" is written as an optional operator): Go's RE2 runs in
# linear time, and the literal form backtracks exponentially in Python on a long run of spaces.
_OP = r"(?:=|!=|>|<|>=|=>|<=|=<|~|~>|\^)"  # the non-empty operators
_VALID_RE = re.compile(rf"{_S}*(?:{_OP}{_S}*)?{_CV}(?:(?:{_S}+|{_S}*,{_S}*)(?:{_OP}{_S}*)?{_CV})*{_S}*")
_RANGE_SECOND = 1 + 10  # the second cvRegex's group in constraintRangeRegex (v[11] in Go)


def _uint64(digits: str) -> int | None:
    """strconv.ParseUint(digits, 10, 64) for ASCII digits: leading zeros allowed, None above 2**64 - 1."""
    digits = digits.lstrip("0") or "0"
    if len(digits) > 20:  # also keeps int() clear of Python's limit on long digit strings
        return None
    n = int(digits)
    return n if n <= _UINT64 else None


_IdentifierKey = tuple[int, int, str]
# Version.Compare's precedence: major, minor, patch, 1 for a release (0 with a prerelease), the prerelease's parts.
VersionKey = tuple[int, int, int, int, tuple[_IdentifierKey, ...]]


def _identifier_key(part: str) -> _IdentifierKey:
    # comparePrePart: an identifier strconv.ParseUint accepts is a number, below every string.
    n = _uint64(part) if part.isdigit() else None
    return (1, 0, part) if n is None else (0, n, "")


@dataclass(frozen=True)
class Version:
    """A version as ``semver.NewVersion`` parses it: uint64 parts, prerelease and metadata strings."""

    major: int
    minor: int
    patch: int
    pre: str = ""
    metadata: str = ""
    original: str = ""
    _key: VersionKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pre = tuple(_identifier_key(p) for p in self.pre.split(".")) if self.pre else ()
        object.__setattr__(self, "_key", (self.major, self.minor, self.patch, 0 if self.pre else 1, pre))

    def key(self) -> VersionKey:
        """The precedence key of ``Version.Compare``: equal keys compare equal (metadata is ignored)."""
        return self._key


def _new_version(text: str) -> Version | None:
    m = _VERSION_RE.fullmatch(text)
    if m is None:
        return None
    major, minor, patch = _uint64(m[1]), _uint64(m[2][1:]) if m[2] else 0, _uint64(m[3][1:]) if m[3] else 0
    if major is None or minor is None or patch is None:
        return None  # strconv.ParseUint(..., 10, 64) fails
    pre = m[5] or ""
    if pre and any(p.isdigit() and len(p) > 1 and p[0] == "0" for p in pre.split(".")):
        return None  # validatePrerelease: ErrSegmentStartsZero
    return Version(major, minor, patch, pre, m[8] or "", text)


# Longer constraints are refused (not a Masterminds rule: its range rewriting backtracks, as ours does, so a
# 10,000-character bound took seconds; no real bound comes near this). Versions themselves parse in linear time.
MAX_LENGTH = 256


@lru_cache(maxsize=65536)
def parse(text: str) -> Version | None:
    """Parse ``text`` as Masterminds semver v3.2.1's ``NewVersion`` does; None when it errs (or is not a str).

    Accepts a leading ``v``, missing minor/patch (read as 0), a prerelease and build metadata;
    refuses surrounding spaces, a capital ``V``, leading zeros in numeric prerelease identifiers
    and parts above 2**64 - 1.
    """
    if not isinstance(text, str):
        return None
    return _new_version(text)


# --- constraints.go ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Constraint:
    op: str
    con: Version
    dirty: bool
    minor_dirty: bool
    patch_dirty: bool

    def check(self, v: Version) -> bool:
        return _OPERATORS[self.op](v, self)


def _cmp(a: Version, b: Version) -> int:
    return (a._key > b._key) - (a._key < b._key)


def _release_only(v: Version, c: _Constraint) -> bool:
    """Issue 21: a prerelease value fails a constraint whose version has no prerelease."""
    return bool(v.pre) and not c.con.pre


def _not_equal(v: Version, c: _Constraint) -> bool:
    if c.dirty:
        if _release_only(v, c):
            return False
        if c.con.major != v.major:
            return True
        if c.con.minor != v.minor and not c.minor_dirty:
            return True
        if c.minor_dirty:
            return False
        if c.con.patch != v.patch and not c.patch_dirty:
            return True
        if c.patch_dirty:
            # comparePrerelease is 0 exactly when the two prerelease strings are equal.
            return v.pre != c.con.pre
    return _cmp(v, c.con) != 0


def _greater(v: Version, c: _Constraint) -> bool:
    if _release_only(v, c):
        return False
    if c.dirty:
        if v.major != c.con.major:
            return v.major > c.con.major
        if c.minor_dirty:
            return False  # "> 11" needs 12 or later
        if c.patch_dirty:
            return v.minor > c.con.minor  # "> 11.1" needs 11.2 or later
    return _cmp(v, c.con) > 0


def _less(v: Version, c: _Constraint) -> bool:
    return not _release_only(v, c) and _cmp(v, c.con) < 0


def _greater_equal(v: Version, c: _Constraint) -> bool:
    return not _release_only(v, c) and _cmp(v, c.con) >= 0


def _less_equal(v: Version, c: _Constraint) -> bool:
    if _release_only(v, c):
        return False
    if not c.dirty:
        return _cmp(v, c.con) <= 0
    if v.major > c.con.major:
        return False
    return not (v.major == c.con.major and v.minor > c.con.minor and not c.minor_dirty)


def _tilde(v: Version, c: _Constraint) -> bool:
    if _release_only(v, c) or _cmp(v, c.con) < 0:
        return False
    con = c.con
    if con.major == 0 and con.minor == 0 and con.patch == 0 and not c.minor_dirty and not c.patch_dirty:
        return True  # ~0.0.0 (and ~*) accepts everything
    if v.major != con.major:
        return False
    return v.minor == con.minor or c.minor_dirty


def _tilde_or_equal(v: Version, c: _Constraint) -> bool:
    if _release_only(v, c):
        return False
    if c.dirty:
        return _tilde(v, c)
    return _cmp(v, c.con) == 0


def _caret(v: Version, c: _Constraint) -> bool:
    if _release_only(v, c) or _cmp(v, c.con) < 0:
        return False
    con = c.con
    if con.major > 0 or c.minor_dirty:
        return v.major == con.major
    if v.major > 0:
        return False
    if con.minor > 0 or c.patch_dirty:
        return v.minor == con.minor
    if v.minor > 0:
        return False
    return v.patch == con.patch


_OPERATORS: dict[str, Callable[[Version, _Constraint], bool]] = {
    "": _tilde_or_equal,
    "=": _tilde_or_equal,
    "!=": _not_equal,
    ">": _greater,
    "<": _less,
    ">=": _greater_equal,
    "=>": _greater_equal,
    "<=": _less_equal,
    "=<": _less_equal,
    "~": _tilde,
    "~>": _tilde,
    "^": _caret,
}

_X = ("x", "X", "*")


def _parse_constraint(text: str) -> _Constraint | str:
    """parseConstraint: one operator and version; a string is the error.

    Go's version also maps "" to a dirty 0.0.0; no caller can pass "" (validConstraintRegex needs a
    version in every segment), so that branch is left out.
    """
    m = _CONSTRAINT_RE.fullmatch(text)
    if m is None:
        return f"improper constraint: {text}"
    major, minor, patch, pre = m[3], m[4] or "", m[5] or "", m[6] or ""
    minor_dirty = patch_dirty = False
    if major in _X:
        ver, dirty = "0.0.0" + pre, True
    elif not minor or minor[1:] in _X:
        ver, dirty, minor_dirty = f"{major}.0.0{pre}", True, True
    elif not patch or patch[1:] in _X:
        ver, dirty, patch_dirty = f"{major}{minor}.0{pre}", True, True
    else:
        ver, dirty = m[2], False
    con = _new_version(ver)
    if con is None:  # e.g. "1|2" or "1.2.3*": the constraint regex admits them, NewVersion does not
        return f"constraint parser error: {ver!r} is not a version"
    return _Constraint(m[1], con, dirty, minor_dirty, patch_dirty)


def _rewrite_range(text: str) -> str:
    """rewriteRange: each "a - b" becomes ">= a, <= b " (Go replaces the first occurrence of each match)."""
    for m in list(_RANGE_RE.finditer(text)):
        text = text.replace(m[0], f">= {m[1]}, <= {m[_RANGE_SECOND]} ", 1)
    return text


Constraints = tuple[tuple[_Constraint, ...], ...]


@lru_cache(maxsize=4096)
def _new_constraint(text: str) -> Constraints | str:
    """NewConstraint: alternatives (``||``) of conjunctions; a string is the error."""
    if len(text) > MAX_LENGTH + 3:  # ">= " and a bound
        return f"longer than {MAX_LENGTH} characters"
    alternatives = []
    for segment in _rewrite_range(text).split("||"):
        if _VALID_RE.fullmatch(segment) is None:
            return f"improper constraint: {segment}"
        found = [m[0] for m in _FIND_RE.finditer(segment)] or [segment]
        conjunction = []
        for one in found:
            parsed = _parse_constraint(one)
            if isinstance(parsed, str):
                return parsed
            conjunction.append(parsed)
        alternatives.append(tuple(conjunction))
    return tuple(alternatives)


def _check(constraints: Constraints, version: Version) -> bool:
    return any(all(c.check(version) for c in conjunction) for conjunction in constraints)


def satisfies(value: str, constraint: str) -> bool:
    """``NewConstraint(constraint).Check(NewVersion(value))``; False when either does not parse."""
    version = parse(value)
    constraints = _new_constraint(constraint) if isinstance(constraint, str) else "not a string"
    if version is None or isinstance(constraints, str):
        return False
    return _check(constraints, version)


def check_constraint(text: str) -> str | None:
    """None when ``semver.NewConstraint(text)`` succeeds, else a short reason (Masterminds' error, clipped)."""
    if not isinstance(text, str):
        return f"{type(text).__name__}, not a string"
    constraints = _new_constraint(text)
    if isinstance(constraints, str):
        return constraints if len(constraints) <= 80 else constraints[:77] + "..."
    return None


@lru_cache(maxsize=65536)
def check_bound(text: str) -> str | None:
    """None when ``">= " + text`` and ``"<= " + text`` both parse as Masterminds constraints, else why not.

    This is whether rainbow can use ``text`` as a ``min``/``max`` at all. The reason is short,
    e.g. ``"improper constraint: >= =1.20"`` for "=1.20" and ``"improper constraint: >= "`` for "".
    """
    if not isinstance(text, str):
        return f"{type(text).__name__}, not a string"
    return check_constraint(">= " + text) or check_constraint("<= " + text)


def _bound_check(op: str, value: Version | str, bound: Version | str) -> bool:
    version = value if isinstance(value, Version) else parse(value)
    if isinstance(bound, Version):
        bound = bound.original or f"{bound.major}.{bound.minor}.{bound.patch}" + (f"-{bound.pre}" if bound.pre else "")
    if version is None or not isinstance(bound, str):
        return False
    constraints = _new_constraint(op + bound)
    return not isinstance(constraints, str) and _check(constraints, version)


def at_least(value: Version | str, bound: Version | str) -> bool:
    """``value`` satisfies ``>= bound`` (the bound as written: "1.20", "1.20.x", ...) as rainbow checks it."""
    return _bound_check(">= ", value, bound)


def at_most(value: Version | str, bound: Version | str) -> bool:
    """``value`` satisfies ``<= bound`` as rainbow checks it: a partial bound ("1.22", "1.x") covers its range."""
    return _bound_check("<= ", value, bound)


@lru_cache(maxsize=262144)
def within(value: str, low: str | None = None, high: str | None = None) -> bool:
    """True when ``value`` satisfies ``>= low`` and ``<= high`` (either may be None) as rainbow checks them.

    This is how rainbow checks a ``requires`` item's ``min``/``max``: ``NewVersion(value)``,
    then ``NewConstraint(">= " + low).Check`` and ``NewConstraint("<= " + high).Check``.
    An unparsable value or bound (including "", which rainbow would skip but
    :func:`check_bound` refuses) satisfies nothing. Raises nothing.
    """
    version = parse(value)
    if version is None:
        return False
    for op, bound in ((">= ", low), ("<= ", high)):
        if bound is None:
            continue
        if not isinstance(bound, str):
            return False
        constraints = _new_constraint(op + bound)
        if isinstance(constraints, str) or not _check(constraints, version):
            return False
    return True
