"""The compatibility levels: cumulative groups of metadata a jobspec carries.

Each level adds one group to the one before, in the order the seed's failure
modes are told apart: size first (dominant subsystem), then what the binary can
execute on, then the software it needs, then memory, disk, and finally devices.
"""

from __future__ import annotations

from .model import Level

# (name, group it adds, what that group says about the job)
_STEPS = (
    ("none", None, "one node, no metadata: the job may land anywhere"),
    ("counts", "counts", "+ node count and cores per node (dominant subsystem)"),
    ("arch", "arch", "+ the CPU architecture of a prebuilt binary or container"),
    ("software", "software", "+ required software and minimum versions (Go, IOR, singularity...)"),
    ("memory", "memory", "+ memory per node (dominant subsystem)"),
    ("disk", "disk", "+ local disk per node (storage subsystem)"),
    ("gpu", "gpu", "+ GPUs (device subsystem): fully descriptive"),
)


def _catalogue() -> tuple[Level, ...]:
    levels: list[Level] = []
    facets: frozenset[str] = frozenset()
    for name, group, description in _STEPS:
        if group:
            facets = facets | {group}
        levels.append(Level(name, description, facets))
    return tuple(levels)


LEVELS: tuple[Level, ...] = _catalogue()
LEVEL_NAMES: tuple[str, ...] = tuple(level.name for level in LEVELS)


def level(name: str) -> Level:
    """The level called ``name``; raises ``ValueError`` for a name not in ``LEVEL_NAMES`` (the loader checks first)."""
    return LEVELS[LEVEL_NAMES.index(name)]
