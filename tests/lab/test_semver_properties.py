"""Properties: version bounds follow Masterminds semver v3's documented rules, on generated versions.

The oracle here is the rule as Masterminds' README and ``constraints.go`` state it, written
over plain tuples, independent of ``compatlab.lab.semver``: releases compare part by part,
a prerelease sorts before its release, wildcards and partial versions cover a range,
whitespace is Go's ``\\s``, a comma (or a space) joins constraints, ``||`` separates
alternatives, and some forms are refused. Small parts (0 to 3) make every boundary likely.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from compatlab.lab.semver import check_bound, check_constraint, parse, satisfies

part = st.integers(0, 3)
release = st.tuples(part, part, part)
# Prerelease identifiers: numeric ones compare as numbers and below words, which compare bytewise.
prerelease = st.lists(st.sampled_from(["0", "1", "2", "10", "rc", "rc1", "alpha", "beta", "a-b"]),
                      min_size=1, max_size=3).map(".".join)
GO_SPACE = st.text(alphabet="\t\n\f\r ", max_size=3)  # Go's \s: no \v, no Unicode spaces


def text(r: tuple[int, int, int]) -> str:
    return ".".join(map(str, r))


def _pre_key(pre: str) -> tuple:
    return tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in pre.split("."))


@given(release, prerelease, st.sampled_from(["", "v"]), st.sampled_from(["", "+build.7"]))
def test_a_prerelease_sorts_before_its_release(r, pre, v, meta):
    released, early = parse(f"{v}{text(r)}{meta}"), parse(f"{text(r)}-{pre}")
    assert early.key() < released.key()
    # Through the constraints rainbow builds: the release is above the prerelease, never at or below it.
    assert satisfies(text(r), f">= {text(r)}-{pre}") and satisfies(text(r), f"> {text(r)}-{pre}")
    assert not satisfies(text(r), f"<= {text(r)}-{pre}")


@given(release, prerelease, prerelease)
def test_prereleases_of_one_release_order_by_their_identifiers(r, a, b):
    ka, kb = parse(f"{text(r)}-{a}").key(), parse(f"{text(r)}-{b}").key()
    # Fewer identifiers sort first when the shorter is a prefix: tuple order says the same.
    assert (ka < kb) == (_pre_key(a) < _pre_key(b)) and (ka == kb) == (a == b)


CLEAN = {">=": lambda v, c: v >= c, "=>": lambda v, c: v >= c, "<=": lambda v, c: v <= c,
         "=<": lambda v, c: v <= c, ">": lambda v, c: v > c, "<": lambda v, c: v < c,
         "=": lambda v, c: v == c, "": lambda v, c: v == c, "!=": lambda v, c: v != c}


@given(release, release, st.sampled_from(sorted(CLEAN)))
def test_full_versions_compare_part_by_part(value, bound, op):
    assert satisfies(text(value), f"{op} {text(bound)}".strip()) is CLEAN[op](value, bound)


@given(release, release, st.sampled_from(["", ".x", ".X", ".*"]))
def test_a_partial_or_wildcard_max_covers_its_whole_range(value, bound, wildcard):
    m, n = bound[:2]
    assert satisfies(text(value), f"<= {m}.{n}{wildcard}") is (value[:2] <= (m, n))
    assert satisfies(text(value), f"<= {m}{wildcard}") is (value[0] <= m)


@given(release, release, st.sampled_from(["", ".x", ".*"]))
def test_a_partial_min_starts_at_zero_and_a_partial_greater_than_skips_the_range(value, bound, wildcard):
    m, n = bound[:2]
    assert satisfies(text(value), f">= {m}.{n}{wildcard}") is (value >= (m, n, 0))
    assert satisfies(text(value), f"> {m}.{n}") is (value[:2] > (m, n))
    assert satisfies(text(value), f"> {m}") is (value[0] > m)


@given(release, release)
def test_tilde_and_caret_as_the_readme_says(value, bound):
    m, n, p = bound
    above = value >= bound
    # ~1.2.3 is >= 1.2.3, < 1.3.0 (~0.0.0 admits every release); a bare partial version is ~.
    assert satisfies(text(value), f"~{text(bound)}") is (above and (bound == (0, 0, 0) or value[:2] == (m, n)))
    assert satisfies(text(value), f"{m}.{n}") is (value[:2] == (m, n))
    # ^1.2.3 is >= 1.2.3, < 2.0.0; ^0.2.3 is >= 0.2.3, < 0.3.0; ^0.0.3 is =0.0.3.
    caret = value[0] == m if m else (value[:2] == (0, n) if n else value == bound)
    assert satisfies(text(value), f"^{text(bound)}") is (above and caret)


@given(release, prerelease, release, st.sampled_from(sorted(CLEAN)))
def test_a_prerelease_value_meets_only_bounds_with_a_prerelease(value, pre, bound, op):
    got = satisfies(f"{text(value)}-{pre}", f"{op} {text(bound)}".strip())
    assert got is (op == "!=")  # "1.21.0-rc1" is not >= 1.20; only != admits it


@given(release, release, release, st.sampled_from([", ", ",", " ", "  ,\t"]))
def test_a_comma_or_space_joins_constraints_and_bars_separate_alternatives(value, low, high, sep):
    v, lo, hi = text(value), f">= {text(low)}", f"<= {text(high)}"
    both = satisfies(v, lo) and satisfies(v, hi)
    assert satisfies(v, f"{lo}{sep}{hi}") is both
    assert satisfies(v, f"{lo} || {hi}") is (satisfies(v, lo) or satisfies(v, hi))
    assert satisfies(v, f"{text(low)} - {text(high)}") is both  # a hyphen range is >= a, <= b


@given(release, release, GO_SPACE, GO_SPACE, st.sampled_from([">=", "<=", ">", "<", "!="]))
def test_go_whitespace_around_a_constraint_changes_nothing(value, bound, before, after, op):
    plain = satisfies(text(value), f"{op} {text(bound)}")
    assert satisfies(text(value), f"{before}{op}{after}{text(bound)}{before}") is plain
    assert check_bound(f"{before}{text(bound)}{after}") is None


@given(release, st.sampled_from(["\v", "\u00a0", "\u2003"]))
def test_whitespace_go_does_not_know_is_refused(bound, space):
    assert check_bound(f"{space}{text(bound)}") is not None
    assert check_constraint(f">={space}{text(bound)}") is not None


@given(release, prerelease)
def test_refused_version_forms(r, pre):
    assert parse(text(r)) is not None and parse(f"v{text(r)}") is not None
    for refused in (f"V{text(r)}", f" {text(r)}", f"{text(r)} ", f"go{text(r)}", f"{text(r)}-0{r[0] + 1}",
                    f"{text(r)}-{pre}..1", f"{2**64}.{r[1]}", f"{text(r)}.{r[0]}"):
        assert parse(refused) is None, refused
        assert not satisfies(refused, ">= 0.0.0"), refused
    for bound in (f"={text(r)}", f"V{text(r)}", f"go{text(r)}", "", " "):
        assert check_bound(bound) is not None, bound
