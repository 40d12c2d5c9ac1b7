"""The embedded matcher: which clusters satisfy a request, and why the others do not.

Semantics (DESIGN.md): for every slot, ``replicas`` distinct vertices of the slot's
type, each holding the requested counts of each child type (sizes summed) and each
meeting, through its own subsystem edges, every ``requires`` item. This module is
the reference, one (cluster, request) pair at a time, with reasons; ``index`` is the
same answer for many pairs at once.
"""

from __future__ import annotations

from . import rainbow_walk
from .clusters import Cluster, Vertex
from .request import Request, Requirement, Slot


def meets(vertex: Vertex, requirement: Requirement) -> bool:
    """A feature vertex of the subsystem, linked from this vertex, passes the test."""
    return any(requirement.test(f.get(requirement.field)) for f in vertex.features.get(requirement.subsystem, ()))


def _found(vertices: list[Vertex], requirement: Requirement) -> str:
    values = sorted({str(f.get(requirement.field)) for v in vertices
                     for f in v.features.get(requirement.subsystem, ()) if requirement.field in f})
    if values:
        return ", ".join(values)
    if any(requirement.subsystem in v.features for v in vertices):
        return f"no field {requirement.field}"
    return f"no {requirement.subsystem} subsystem"


def _n(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def explain_slot(cluster: Cluster, slot: Slot) -> str | None:
    """None if the slot fits; else the first constraint that leaves too few vertices."""
    candidates = cluster.of_type(slot.type)
    plural, wanted = f"{slot.type}s", _n(slot.replicas, slot.type)
    if len(candidates) < slot.replicas:
        return f"needs {wanted}, has {len(candidates)}"
    for kind, count in slot.counts:
        passing = [v for v in candidates if v.counts.get(kind, 0) >= count]
        if len(passing) < slot.replicas:
            have = sorted({v.counts.get(kind, 0) for v in candidates})
            return (f"needs {kind} >= {count} per {slot.type} on {wanted}, "
                    f"{plural} have {'/'.join(map(str, have))} ({len(passing)} qualify)")
        candidates = passing
    for requirement in slot.requires:
        passing = [v for v in candidates if meets(v, requirement)]
        if len(passing) < slot.replicas:
            return (f"needs {requirement} on {wanted}, found {_found(candidates, requirement)} "
                    f"({len(passing)} qualify)")
        candidates = passing
    return None


def explain(cluster: Cluster, request: Request) -> str | None:
    """None if the cluster satisfies the request, else the reason it does not."""
    for slot in request.slots:
        reason = explain_slot(cluster, slot)
        if reason:
            return reason
    return None


def satisfies(cluster: Cluster, request: Request) -> bool:
    """True when ``cluster`` satisfies every slot of ``request`` (the reference semantics)."""
    return explain(cluster, request) is None


def rainbow_satisfies(cluster: Cluster, request: Request) -> bool:
    """Can real rainbow (memory graph matcher, main branch) place ``request`` on ``cluster``, defects included?

    True when it matches whatever Go's map order (``rainbow_walk``), and when its answer
    varies between calls (it can place the job there). Needs ``request.rainbow``
    (``read_request`` sets it).
    """
    return rainbow_walk.outcome(cluster, request.rainbow) != rainbow_walk.NO_MATCH
