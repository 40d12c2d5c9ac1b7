"""A jobspec as real rainbow reads it: the pre-check, the slots, and per slot the counts and needs.

Source: rainbow main @ 075ee23 (``pkg/graph/graph.go``, ``plugins/algorithms/shared/shared.go``,
``plugins/algorithms/match``) and jobspec-go ``pkg/nextgen/v1`` (``GetScheduledNamedSlots``),
checked against a running server on about 17,000 (cluster, jobspec) pairs. It differs
from ``request.read_request`` (what a jobspec should mean) on purpose:

- pre-check: for each resource with ``replicas`` (searched down ``with`` where a
  top-level resource has none), every direct ``with`` child's *type* must have at least
  ``replicas`` vertices in the whole ``nodes.json`` (its ``count`` is not used);
- slots: the top-level resources with ``replicas`` plus nested ``type: slot`` ones (all
  top-level resources, each once, when there are none); slots are keyed by ``label``, so
  slots with the same label (usually none) collapse into one, chosen by Go map order;
- a slot's counts: per type, the ``count`` of the last resource of that type in its tree
  (not multiplied by the parents' counts); its needs: per (type, subsystem), the tests of
  the *last* ``requires`` item of that subsystem on the last resource of that type that
  has any (so an earlier item of the same subsystem is dropped: deviation 2 of DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compatlab.lab import semver

from .frozen import cached_hash


def value_passes(value: object, match: str | None, low: str | None, high: str | None) -> bool:
    """Does a feature's ``value`` pass: string equality with ``match`` if given, else Masterminds bounds
    ``>= low`` / ``<= high`` (either may be None). A value that is not a string never passes (rainbow compares
    strings). Raises nothing."""
    if not isinstance(value, str):
        return False
    if match is not None:
        return value == match
    return semver.within(value, low, high)


@cached_hash
@dataclass(frozen=True)
class Test:
    """One need: string equality (``match``) or a Masterminds range (``min``/``max``) on a feature's ``field``."""

    field: str
    match: str | None = None
    min: str | None = None
    max: str | None = None

    def passes(self, feature: Mapping[str, object]) -> bool:
        """Does one feature vertex's metadata pass? A missing field or a value that is not a string misses.

        (Real rainbow crashes on a non-string value of a tested field; a miss is the kindest reading.)
        """
        return value_passes(feature.get(self.field), self.match, self.min, self.max)


@cached_hash
@dataclass(frozen=True)
class SlotNeeds:
    """One slot as rainbow's walk uses it: ``replicas``, counts per type, tests per (type, subsystem)."""

    replicas: int
    counts: tuple[tuple[str, int], ...]
    needs: tuple[tuple[tuple[str, str], tuple[Test, ...]], ...]


@dataclass(frozen=True)
class Plan:
    """The pre-check's (type, replicas) pairs and, per slot label, the candidate slots (Go keeps one of them)."""

    precheck: tuple[tuple[str, int], ...]
    slots: tuple[tuple[SlotNeeds, ...], ...]

    def simple(self) -> SlotNeeds | None:
        """The one slot when the plan has one label with one candidate, its needs on one type and its counts
        on other types (what ``rainbow_index`` answers in bulk), else None."""
        if len(self.slots) != 1 or len(self.slots[0]) != 1:
            return None
        slot = self.slots[0][0]
        kinds = {kind for (kind, _), _ in slot.needs}
        if len(kinds) > 1 or kinds & {kind for kind, _ in slot.counts}:
            return None
        return slot


_KNOWN: dict[tuple[object, ...], tuple[Test, ...]] = {}


# The readers below take the parsed document as it is: rainbow reads keys the nextgen shape does not
# name (label, schedule, type: slot), and checks nothing more than check_jobspec did.
def _tests(item: dict[str, Any]) -> tuple[Test, ...]:
    key = (item.get("field"), item.get("match"), item.get("min"), item.get("max"))
    known = _KNOWN.get(key)
    if known is None:  # one object per distinct test: a corpus repeats each thousands of times
        field, match, low, high = (v if isinstance(v, str) else "" for v in key)
        out = []
        if field and (low or high):
            out.append(Test(field, None, low or None, high or None))
        if field and match:
            out.append(Test(field, match))
        if len(_KNOWN) > 1 << 18:
            _KNOWN.clear()
        known = _KNOWN[key] = tuple(out)
    return known


def _slot(resource: dict[str, Any], replicas: int) -> SlotNeeds:
    counts: dict[str, int] = {}
    needs: dict[str, dict[str, tuple[Test, ...]]] = {}
    stack = [resource]
    while stack:  # depth first, in document order, as shared.go walks the slot's tree
        r = stack.pop()
        kind = r.get("type", "")
        of_type: dict[str, tuple[Test, ...]] = {}
        for item in r.get("requires") or []:
            tests = _tests(item)
            if tests and "name" in item:
                of_type[item["name"]] = tests
        if of_type:
            needs[kind] = of_type  # a later resource of the same type replaces all of that type's needs
        if int(r.get("count", 0) or 0) > 0:
            counts[kind] = int(r["count"])
        stack.extend(reversed(r.get("with") or []))
    return SlotNeeds(replicas, tuple(counts.items()),
                     tuple([_need(kind, sub, tests) for kind, by in needs.items() for sub, tests in by.items()]))


_NEEDS: dict[tuple[str, str, int], tuple[tuple[str, str], tuple[Test, ...]]] = {}


def _need(kind: str, sub: str, tests: tuple[Test, ...]) -> tuple[tuple[str, str], tuple[Test, ...]]:
    # One object per distinct need, as for tests: rainbow_index keys its rows by the need's identity. Keyed by the
    # tests' identity (they are shared too; hashing them is a Python call per Test): safe, since the entry keeps
    # its tests alive, so no other object can take their id while the key exists.
    key = (kind, sub, id(tests))
    known = _NEEDS.get(key)
    if known is None:
        if len(_NEEDS) > 1 << 18:
            _NEEDS.clear()
        known = _NEEDS[key] = ((kind, sub), tests)
    return known


def _nested_slot(resource: dict[str, Any]) -> dict[str, Any] | None:
    if resource.get("type") == "slot":
        return resource
    for child in resource.get("with") or []:
        if (found := _nested_slot(child)) is not None:
            return found
    return None


def read_plan(doc: Mapping[str, Any]) -> Plan:
    """rainbow's reading of a jobspec document that passed ``check_jobspec``. Raises nothing."""
    resources = doc.get("resources") or {}
    precheck: list[tuple[str, int]] = []
    stack = list(resources.values())
    while stack:
        r = stack.pop(0)
        replicas = int(r.get("replicas", 0) or 0)
        if replicas:
            precheck.extend((child.get("type", ""), replicas) for child in r.get("with") or [])
        else:
            stack[:0] = list(r.get("with") or [])
    slots: list[tuple[str, dict[str, Any], int]] = []
    every: list[tuple[str, dict[str, Any], int]] = []
    for name, r in resources.items():
        every.append((r.get("label") or name, r, 1))
        if int(r.get("replicas", 0) or 0) > 0:
            slots.append((r.get("label") or "", r, int(r["replicas"])))
        for child in r.get("with") or []:
            nested = _nested_slot(child)
            if nested is not None:
                slots.append((nested.get("label") or "", nested, int(nested.get("replicas", 0) or 0)))
    slots = slots or every
    if any(r.get("schedule") for _, r, _ in slots):
        slots = [s for s in slots if s[1].get("schedule")]
    by_label: dict[str, list[SlotNeeds]] = {}
    for label, r, replicas in slots:
        by_label.setdefault(label, []).append(_slot(r, replicas))
    return Plan(tuple(precheck), tuple(tuple(v) for v in by_label.values()))
