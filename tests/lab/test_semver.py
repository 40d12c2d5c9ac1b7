"""Version bounds as rainbow checks them with Masterminds/semver v3.2.1 (DESIGN.md).

Rainbow checks a ``requires`` item as ``NewConstraint(">= " + min).Check(NewVersion(value))``
and ``NewConstraint("<= " + max)``. Every expected answer below was checked against
Masterminds/semver v3.2.1 itself (a Go program reading the same strings), not only reasoned out.
"""

import pytest

from compatlab.lab.semver import Version, at_least, at_most, check_bound, check_constraint, parse, satisfies, within

# (value, min, max, expected)
BOUNDS = [
    # the examples
    ("1.20.14", "1.20.x", None, True),  # wildcard parts: >= 1.20.x is >= 1.20.0
    ("1.15.15", "1.20.x", None, False),
    ("1.20.14", None, "1.x", True),  # partial max covers its range: <= 1.x is any 1.y.z
    ("1.15.15", None, "1.x", True),
    ("2.0.0", None, "1.x", False),
    ("1.20.14", "*", None, True),  # wildcard parts: >= * is >= 0.0.0
    ("1.20.0", " 1.20 ", None, True),  # whitespace around a bound is Go's \s, allowed
    ("1.19.9", " 1.20 ", None, False),
    ("1.20.14", "1.20, <1.21", None, True),  # comma adds a constraint: >= 1.20, <1.21
    ("1.21.0", "1.20, <1.21", None, False),
    ("go1.20.14", "1.20", None, False),  # go1.20.14 is not a version: satisfies nothing
    ("go1.20.14", None, None, False),
    ("1.20.14", "=1.20", None, False),  # = and V refused as bounds: ">= =1.20" does not parse
    ("1.20.14", "V1.20", None, False),
    # missing parts read as 0; numeric, not string, comparison
    ("1.20", "1.20", None, True),
    ("1.20.14", "1.20", None, True),
    ("1.9", "1.20", None, False),
    ("1.15.15", "1.20", None, False),
    ("10", "4", None, True),  # integers (GB) compare as versions
    ("1", "4", None, False),
    ("018.1", "18", None, True),  # leading zeros in release parts are fine
    ("18.1", "018", None, True),
    ("v1.20.1", "1.20", None, True),  # a leading v is allowed, on the value and on the bound
    ("1.20.0", "v1.20", None, True),
    ("1.0.0", "vx", None, True),
    ("V1.20.14", "1.20", None, False),  # only a lowercase v
    # partial max covers its range; a full max does not
    ("1.22.3", None, "1.22", True),
    ("1.22.3", None, "1.22.0", False),
    ("1.23.0", None, "1.22", False),
    ("1.99.0", None, "1", True),
    ("2.0.0", None, "1", False),
    ("1.20.99", None, "1.20.*", True),
    ("20.21.0", None, "20.X", True),
    ("1.99.99", None, "1.x.3", True),  # a wildcard minor makes the patch irrelevant
    ("1.20.14", "1.20", "1.20", True),
    ("1.21.0", "1.20", "1.20", False),
    # wildcards in a min only lower it to .0: >= 1.x is >= 1.0.0
    ("1.0.0", "1.x", None, True),
    ("0.9.0", "1.x", None, False),
    # <= * compares major and minor against 0.0.0: it admits only 0.0.z
    ("0.0.3", None, "*", True),
    ("0.1.0", None, "*", False),
    ("1.20.14", None, "*", False),
    ("0.0.9", None, "x", True),
    # prerelease excluded unless the bound has one; prerelease precedence
    ("1.21.0-rc1", "1.20", None, False),
    ("1.21.0-rc1", "*", None, False),
    ("1.22.3-rc1", None, "1.22", False),
    ("1.22.3-rc1", None, "1.22-rc1", True),
    ("1.21.0-rc1", "1.21.0-rc0", None, True),
    ("1.21.0-rc.11", "1.21.0-rc.2", None, True),  # numeric identifiers compare numerically
    ("1.21.0-rc1", "1.21.0-rc.1", None, True),  # "rc1" sorts after "rc" (bytewise)
    ("1.0.0-alpha.beta", "1.0.0-alpha", None, True),  # more identifiers sort later
    ("1.0.0-alpha.1", "1.0.0-alpha.beta", None, False),  # numbers sort before words
    ("1.0.0-rc2", "1.x-rc1", None, True),
    ("1.2.3-rc.1", "1.0.0-a", None, True),
    ("1.2.3-rc.01", "1.0.0-a", None, False),  # numeric prerelease ids: no leading zeros
    ("1.0.0-rc.9", "1.0.0-rc.18446744073709551616", None, False),  # above uint64: a word, after numbers
    ("1.0.0-rc.18446744073709551616", "1.0.0-rc.9", None, True),
    # build metadata is ignored
    ("1.20.0+build.5", "1.20", None, True),
    ("1.20.14", "1.20.14+build.5", None, True),
    # each part is a uint64
    ("18446744073709551615.0.0", "18446744073709551615", None, True),
    ("99999999999999999999.0", "1.0", None, False),
    ("1.0.0", "18446744073709551616", None, False),
    ("0" * 5000 + "1.2.3", "1.0", None, True),  # ParseUint takes any number of leading zeros
    ("1.2.3-" + "1" * 5000, "1.0.0-a", None, True),  # a 5000-digit identifier is a word, not an error
    # the value is never trimmed; a bound's whitespace is Go's \s (not \v, not Unicode spaces)
    (" 1.20", "1.0", None, False),
    ("1.20 ", "1.0", None, False),
    ("1.20\n", "1.0", None, False),
    ("1.20.1", "1.20\n", None, True),
    ("1.20.1", "1.20\r", None, True),
    ("1.20.1", "1.20\v", None, False),
    ("1.20.1", "1.20\u00a0", None, False),
    # comma or space adds a constraint; || adds an alternative
    ("1.20.14", "1.20 <1.21", None, True),
    ("1.20.1", "1.20 ,<1.21", None, True),
    ("1.0.5", "1.20 || 1.0", None, True),  # ">= 1.20 || 1.0": the second part is ~1.0
    ("1.1.0", "1.20 || 1.0", None, False),
    ("3.9.0", None, "1.0 || 3", True),
    # unparsable values and bounds satisfy nothing
    ("devel", "1.0", None, False),
    ("", "0", None, False),
    ("1.20", "latest", None, False),
    ("1.20", "", None, False),  # ">= " does not parse (rainbow would skip an empty min)
    ("1.20.14", "go1.20", None, False),
    ("1.5.0", "1.0 - 2.0", None, False),  # a range after ">= " does not parse
    ("1.2.3.4", "1.2.3", None, False),
    ("1.20.1", "1.20,", None, False),
    ("1.20.1", "1.20 ||", None, False),
    ("1.5.0", "1|2", None, False),
    ("1.2.5", "~1.2", None, False),  # an operator after ">= "
]


@pytest.mark.parametrize(("value", "low", "high", "expected"), BOUNDS)
def test_bounds(value, low, high, expected):
    assert within(value, low, high) is expected


# = and V refused as bounds, and everything else NewConstraint rejects after ">= " / "<= ".
REFUSED = ["=1.20", "= 1.20", "V1.20", "go1.20.14", "go1.20", "devel", "latest", "", " ", "1.0 - 2.0", "~1.2",
           "^1.2", ">1.2", "1.2.3.4", "1.20,", "1.20,, <2", ", 1.20", "1.20 ||", "1|2", "1x", "1.2.3*",
           "1.0.0-rc.01", "18446744073709551616", "1.20\v", "1.20\u00a0"]
ACCEPTED = ["1.20", " 1.20 ", "\t1.20\n", "v1.20", "1", "*", "x", "1.x", "1.20.x", "1.*", "1.x.3", "vx",
            "1.20, <1.21", "1.20 <1.21", "1.20 || 2.0", "1.20.14+meta", "1.x-rc1", "018", "18446744073709551615"]


@pytest.mark.parametrize("bound", REFUSED)
def test_check_bound_refuses(bound):
    reason = check_bound(bound)
    assert isinstance(reason, str) and reason


@pytest.mark.parametrize("bound", ACCEPTED)
def test_check_bound_accepts(bound):
    assert check_bound(bound) is None


def test_check_bound_reasons_are_short():
    assert check_bound("=1.20") == "improper constraint: >= =1.20"
    assert check_bound(1.2) == "float, not a string"
    assert len(check_bound(" " * 500 + "!")) <= 80


# (constraint, value, NewConstraint errs, NewVersion errs, Check): rows from the corpus that was
# checked against Masterminds/semver v3.2.1 (a Go program over 496,040 pairs; all agreed).
GO_VERIFIED = [
    ("~1.2", "1.2.9", False, False, True),  # ~1.2 is >= 1.2.0, < 1.3.0
    ("~1.2", "1.3.0", False, False, False),
    ("^1.2", "1.9.0", False, False, True),  # ^1.2 is >= 1.2.0, < 2.0.0
    ("^1.2", "2.0.0", False, False, False),
    ("^0.2", "0.2.9", False, False, True),  # ^0.2 is >= 0.2.0, < 0.3.0
    ("^0.2", "0.3.0", False, False, False),
    ("^0.0.3", "0.0.4", False, False, False),  # ^0.0.3 is =0.0.3
    ("1.20", "1.20.5", False, False, True),  # no operator on a partial version is ~
    ("1.20", "1.21.0", False, False, False),
    ("=1.20.0", "1.20.0", False, False, True),
    ("!=1.2.x", "1.2.5", False, False, False),  # != with a wildcard excludes the whole range
    ("!=1.2.x", "1.3.0", False, False, True),
    ("!=1.2.3", "1.2.4-rc1", False, False, True),  # != alone admits prereleases
    ("> 1.20", "1.20.9", False, False, False),  # > a partial version excludes its range
    ("> 1.20", "1.21.0", False, False, True),
    ("1.2 - 1.3||2.0", "2.0.4", False, False, True),  # hyphen range, then an alternative
    ("1 - 2 - 3 || 2 - 3", "2.5.0", True, False, False),
    (">= 1.2, < 3.0.0 || >= 4.2.3", "4.2.3", False, False, True),  # README
    ("1.2 - 1.4.5", "1.4.5", False, False, True),  # README: >= 1.2, <= 1.4.5
    ("2.3.4 - 4.5", "4.5.9", False, False, True),  # README: a partial range end covers its range
    ("<= 1-x", "1.15.15", False, False, True),
    (">= 1.20-x", "1.20.14", False, False, True),
    (">= 1.0.0-rc.01", "1.0.0-rc.1", True, False, False),
    (">= 1.0.0", "1.0.0-rc.01", False, True, False),
    (">= 1.0", "18446744073709551616.0.0", False, True, False),
    (">= 1.0.0-rc.a", "1.0.0-rc.18446744073709551616", False, False, False),  # words compare bytewise
    ("", "1.0.0", True, False, False),  # an empty constraint is refused (not "*")
    (" ", "1.0.0", True, False, False),
    ("*", "1.0.0", False, False, True),
    ("~*", "3.0.0", False, False, True),
    ("^*", "3.0.0", False, False, False),  # README says ^* is any; v3.2.1's ^* is =0.0.0
    ("^*", "0.0.7", False, False, False),
    ("^*", "0.0.0", False, False, True),
    ("!= *", "0.0.5", False, False, True),  # != * is != 0.0.0
]


@pytest.mark.parametrize(("constraint", "value", "constraint_errs", "version_errs", "check"), GO_VERIFIED)
def test_go_verified(constraint, value, constraint_errs, version_errs, check):
    assert (check_constraint(constraint) is not None) is constraint_errs
    assert (parse(value) is None) is version_errs
    assert satisfies(value, constraint) is check


def test_parse_keeps_the_parts():
    v = parse("v1.20-rc.1+build.5")
    assert (v.major, v.minor, v.patch, v.pre, v.metadata) == (1, 20, 0, "rc.1", "build.5")
    assert parse(None) is None and parse("1.2.3-rc..1") is None
    assert parse("v7") == Version(7, 0, 0, "", "", "v7") and parse("7.1") == Version(7, 1, 0, "", "", "7.1")
    # each part is a Go uint64: one past 2**64 - 1 fails NewVersion wherever it is
    top = str(2**64 - 1)
    assert parse(f"{top}.{top}.{top}") is not None
    for text in (f"{2**64}.0.0", f"1.{2**64}.0", f"1.{2**64}", f"1.0.{2**64}"):
        assert parse(text) is None, text


def test_a_constraint_that_is_not_a_string_satisfies_nothing():
    for constraint in (5, None, [">= 1"], b">= 1"):
        assert satisfies("1.2.3", constraint) is False


def test_at_least_and_at_most_use_the_bound_as_written():
    assert at_most(parse("1.22.3"), parse("1.22")) and not at_most(parse("1.22.3"), parse("1.22.0"))
    assert at_least("1.20.14", "1.20.x") and not at_least("1.15.15", "1.20.x")
    assert not at_least("devel", "1.0")


# Masterminds semver v3 constraints.go, each operator's function: a prerelease version meets no constraint without a
# prerelease of its own (issue 21 there), except a plain != (only a dirty one checks); a dirty (partial or x)
# bound compares only the parts it gives (> 1.2 needs minor 3; != 1.x excludes all of 1); ~ keeps the minor, ~0.0.0
# is any; ^ keeps the major, or the minor when the major is 0, or the patch when both are 0.
@pytest.mark.parametrize(("value", "constraint", "holds"), [
    ("1.3.0-beta", "!= 1.2.x", False), ("1.3.0", "!= 1.2.x", True), ("1.2.5", "!= 1.2.x", False),
    ("1.5.0", "!= 1.x", False), ("2.0.0", "!= 1.x", True), ("1.2.3", "!= 1.2.3", False), ("1.2.4", "!= 1.2.3", True),
    ("1.2.4-beta", "!= 1.2.3", True),
    ("1.2.4-beta", "> 1.2.3", False), ("1.2.4", "> 1.2.3", True), ("1.2.5", "> 1.2", False), ("1.3.0", "> 1.2", True),
    ("1.5.0", "> 1", False), ("2.0.0", "> 1", True), ("0.9.0", "> 1.2", False),
    ("1.2.5-alpha", "~1.2.3", False), ("1.2.5", "~1.2.3", True), ("1.3.0", "~1.2.3", False),
    ("1.2.2", "~1.2.3", False), ("5.0.0", "~0.0.0", True), ("2.9.0", "~2", True), ("3.0.0", "~2", False),
    ("1.5.0-rc1", "^1.2.3", False), ("1.5.0", "^1.2.3", True), ("2.0.0", "^1.2.3", False),
    ("0.2.5", "^0.2.3", True), ("0.3.0", "^0.2.3", False), ("0.0.3", "^0.0.3", True), ("0.0.4", "^0.0.3", False),
    ("1.0.0", "^0.2.3", False), ("0.1.0", "^0.0", False), ("0.0.7", "^0.0", True),
    ("1.2.3-beta.2", ">= 1.2.3-beta.1", True), ("1.2.3-alpha", ">= 1.2.3-beta.1", False),
    # a wildcard major is dirty with neither minor nor patch dirty: it stands for 0.0.0, and != compares in full
    ("0.0.0", "!= *", False), ("0.0.1", "!= x", True), ("0.1.0", "!= *", True), ("1.0.0", "!= X", True),
])
def test_each_operator_as_masterminds_checks_it(value, constraint, holds):
    assert satisfies(value, constraint) is holds


def test_a_constraint_error_is_worded_and_cut_to_80_characters():
    # Masterminds' error, as rainbow's log would show it; cut where it would overflow an error line.
    assert check_constraint(5) == "int, not a string"
    whole = "improper constraint: >= " + "a" * 56
    assert len(whole) == 80 and check_constraint(">= " + "a" * 56) == whole
    assert check_constraint(">= " + "a" * 57) == "improper constraint: >= " + "a" * 53 + "..."  # 81: cut
    assert check_constraint(">= " + "a" * 100) == "improper constraint: >= " + "a" * 53 + "..."


def test_a_bound_given_as_a_version_without_its_text_is_written_back_with_its_prerelease():
    # A Version built in code has no original text: the bound is its parts, "major.minor.patch[-pre]".
    assert at_least("1.2.3", Version(1, 2, 3)) and not at_least("1.2.2", Version(1, 2, 3))
    assert not at_most("1.2.4", Version(1, 2, 3))
    assert at_most("1.3.0-rc1", Version(1, 3, 0, pre="rc1")) and at_least("1.3.0-rc2", Version(1, 3, 0, pre="rc1"))
    assert not at_least("1.3.0-rc0", Version(1, 3, 0, pre="rc1"))
    assert not at_least("1.3.0-rc2", Version(1, 3, 0))  # no prerelease in the bound: a prerelease never meets it
