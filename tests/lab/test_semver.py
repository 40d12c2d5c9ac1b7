"""Version bounds as rainbow's Masterminds semver compares them (DESIGN.md)."""

import pytest

from compatlab.lab.semver import within


@pytest.mark.parametrize(
    ("value", "low", "high", "expected"),
    [
        ("1.20", "1.20", None, True),
        ("1.20.14", "1.20", None, True),
        ("1.9", "1.20", None, False),  # numeric, not string, comparison
        ("1.15.15", "1.20", None, False),
        ("v1.20.1", "1.20", None, True),  # a leading v is allowed
        ("1.22.3", None, "1.22", True),  # a partial max covers its whole range
        ("1.22.3", None, "1.22.0", False),
        ("1.23.0", None, "1.22", False),
        ("1.99.0", None, "1", True),
        ("2.0.0", None, "1", False),
        ("1.21.0-rc1", "1.20", None, False),  # prereleases never satisfy a plain bound
        ("1.21.0-rc1", "1.21.0-rc0", None, True),
        ("1.21.0-rc1", None, "1.22", False),
        ("devel", "1.0", None, False),  # unparsable is a miss
        ("", "0", None, False),
        ("10", "4", None, True),  # integers (GB) compare as versions
        ("1", "4", None, False),
        ("1.20.14", "1.20", "1.20", True),
        ("1.21.0", "1.20", "1.20", False),
        ("1.20.0+build.5", "1.20", None, True),
        (" 1.20", "1.0", None, False),  # Go's parser does not trim
        ("1.20\n", "1.0", None, False),
        ("1.2.3-rc.01", "1.0.0-a", None, False),  # numeric prerelease ids: no leading zeros
        ("1.2.3-rc.1", "1.0.0-a", None, True),
        ("99999999999999999999.0", "1.0", None, False),  # each part is a uint64
        ("018.1", "18", None, True),  # leading zeros in release parts are fine
    ],
)
def test_bounds(value, low, high, expected):
    assert within(value, low, high) is expected


def test_an_unparsable_bound_matches_nothing():
    assert within("1.20", "latest") is False
