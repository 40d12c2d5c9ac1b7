"""A nextgen jobspec read as what it asks of a cluster: slots, counts and requirements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from compatlab.formats import nextgen
from compatlab.formats.validate import check_jobspec

from .frozen import cached_hash
from .rainbow_plan import Plan, read_plan, value_passes


@cached_hash
@dataclass(frozen=True)
class Requirement:
    """One ``requires`` item: a field of a subsystem's feature vertex and a test on it."""

    subsystem: str
    field: str
    match: str | None = None
    min: str | None = None
    max: str | None = None

    def test(self, value: object) -> bool:
        """Does a feature's ``value`` pass: string equality for ``match``, Masterminds bounds for ``min``/``max``.

        A value that is not a string never passes (rainbow compares strings).
        """
        return value_passes(value, self.match, self.min, self.max)

    def __str__(self) -> str:
        if self.match is not None:
            return f"{self.subsystem} {self.field} == {self.match}"
        bounds = [f">= {self.min}" if self.min else "", f"<= {self.max}" if self.max else ""]
        return f"{self.subsystem} {self.field} {', '.join(b for b in bounds if b)}"


@cached_hash
@dataclass(frozen=True)
class Slot:
    """``replicas`` vertices of ``type``, each holding ``counts`` and meeting ``requires``."""

    type: str
    replicas: int
    counts: tuple[tuple[str, int], ...]
    requires: tuple[Requirement, ...]


@dataclass(frozen=True)
class Request:
    """A jobspec as a scheduler reads it: ``source`` names the file, one ``Slot`` per named resource.

    ``rainbow`` is the same document as real rainbow reads it (``rainbow_plan``).
    """

    source: str
    slots: tuple[Slot, ...]
    rainbow: Plan


def _counts(children: list[nextgen.Resource], factor: int, into: dict[str, int]) -> None:
    # Nested counts multiply: a node with 2 sockets of 4 cores needs 8 cores.
    for child in children:
        n = factor * child.get("count", 1)
        into[child["type"]] = into.get(child["type"], 0) + n
        _counts(child.get("with") or [], n, into)


_KNOWN: dict[tuple[str, str, str | None, str | None, str | None], Requirement] = {}


def _requirement(item: nextgen.Requirement) -> Requirement:
    # One object per distinct requirement: a corpus repeats each thousands of times (memory, pickling, hashing).
    key = (item["name"], item["field"], item.get("match"), item.get("min"), item.get("max"))
    known = _KNOWN.get(key)
    if known is None:
        if len(_KNOWN) > 1 << 18:
            _KNOWN.clear()
        known = _KNOWN[key] = Requirement(*key)
    return known


def _requires(resource: nextgen.Resource) -> list[Requirement]:
    items = [_requirement(i) for i in resource.get("requires") or []]
    for child in resource.get("with") or []:
        items += _requires(child)
    return items


def _find_slot(resource: nextgen.Resource) -> nextgen.Resource | None:
    if "replicas" in resource:
        return resource
    for child in resource.get("with") or []:
        if (found := _find_slot(child)) is not None:
            return found
    return None


def _slot(resource: nextgen.Resource) -> Slot:
    """The slot of one named resource: the first resource down its tree with ``replicas``.

    Without one, the named resource itself is the slot (its ``count``, or 1). Every
    ``requires`` item in the tree applies to the slot's vertices.
    """
    found = _find_slot(resource) or resource
    replicas = found.get("replicas", found.get("count", 1))
    counts: dict[str, int] = {}
    _counts(found.get("with") or [], 1, counts)
    return Slot(found["type"], int(replicas), tuple(sorted(counts.items())), tuple(_requires(resource)))


def read_request(doc: object, source: str | Path) -> Request:
    """Validate a jobspec document (schema and rules) and read its slots into a ``Request``.

    When any named resource has ``replicas`` somewhere in its tree, only those are
    slots: rainbow's ``Satisfy`` matches those and passes over the rest (measured on
    the real server), which is how the lab's jobspecs carry a ``run`` resource for
    Flux beside the slot rainbow matches. Without any ``replicas``, each named
    resource is a slot of its own count. Raises ``LabError`` naming ``source`` and
    the failing key.
    """
    check_jobspec(doc, source)
    jobspec = cast(nextgen.Jobspec, doc)  # check_jobspec passed it: the nextgen shape (and maybe more)
    resources = list(jobspec["resources"].values())
    slotted = [r for r in resources if _find_slot(r) is not None]
    return Request(str(source), tuple(_slot(r) for r in slotted or resources), read_plan(jobspec))
