"""The matcher for many clusters at once: the reference semantics, vectorised.

Vertices that look alike (same type, same counts, same features) are one row with
a multiplicity, so a lab of 1,000 clusters is a table of a few thousand rows. A
requirement is tested once per distinct field value, never per vertex, and a slot
is then a few array operations over all clusters together.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import orjson

from .clusters import Cluster, Vertex
from .request import Request, Requirement, Slot

Signature = tuple[object, ...]  # (type, sorted counts, features): equal for vertices alike


def _signature(vertex: Vertex) -> Signature:
    # Alike vertices are found by their features' canonical JSON (C speed: a node of a reliabuild cluster links
    # 220 subsystems); finer than needed (feature order counts), never coarser. Where orjson cannot write a value,
    # the string fields alone, sorted, as before.
    try:
        features = orjson.dumps(vertex.features, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return _slow_signature(vertex)
    return (vertex.type, tuple(sorted(vertex.counts.items())), features)


def _slow_signature(vertex: Vertex) -> Signature:
    # Only string fields can match; sorting them alone keeps mixed-type metadata comparable.
    features = tuple(
        (subsystem, tuple(sorted(tuple(sorted((k, v) for k, v in f.items() if isinstance(v, str)))
                                 for f in feats)))
        for subsystem, feats in vertex.features.items()
    )
    return (vertex.type, tuple(sorted(vertex.counts.items())), features)


CHUNK = 1024  # slots evaluated together (bounds the gathered matrices: 1024 x 30 x rows booleans)


class Index:
    """The matcher for many clusters at once: the reference semantics, vectorised with numpy.

    Build once from a sequence of ``Cluster``s; ``names`` keeps their order, and
    every answer is a boolean array in that order. Vertices alike in type, counts
    and string features are one row with a multiplicity, so memory grows with the
    distinct vertex kinds, not the vertices. Answers equal ``match.satisfies``.
    """

    def __init__(self, clusters: Sequence[Cluster]) -> None:
        self.names = [c.name for c in clusters]
        cluster_of: list[int] = []
        multiplicity: list[int] = []
        kinds: list[str] = []
        counts: dict[str, list[tuple[int, int]]] = defaultdict(list)
        values: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        edges: dict[str, list[int]] = defaultdict(list)  # subsystem -> rows linked to it
        several: dict[str, list[int]] = defaultdict(list)  # subsystem -> rows linked to unlike features of it
        for ci, cluster in enumerate(clusters):
            groups: dict[Signature, tuple[Vertex, int]] = {}
            for vertex in cluster.vertices:
                sig = _signature(vertex)
                if sig in groups:
                    groups[sig] = (groups[sig][0], groups[sig][1] + 1)
                else:
                    groups[sig] = (vertex, 1)
            for vertex, n in groups.values():
                row = len(cluster_of)
                cluster_of.append(ci)
                multiplicity.append(n)
                kinds.append(vertex.type)
                for kind, size in vertex.counts.items():
                    counts[kind].append((row, size))
                for subsystem, feats in vertex.features.items():
                    edges[subsystem].append(row)
                    if len({json.dumps(f, sort_keys=True, default=str) for f in feats}) > 1:
                        several[subsystem].append(row)
                    for f in feats:
                        for field, value in f.items():
                            if isinstance(value, str):
                                values[(subsystem, field)][value].append(row)
        rows = len(cluster_of)
        self.rows = rows
        self.cluster_of = np.asarray(cluster_of, dtype=np.int64)
        self.multiplicity = np.asarray(multiplicity, dtype=np.int64)
        self.type_mask = {k: np.asarray([t == k for t in kinds], dtype=bool) for k in set(kinds)}
        self.count_cols: dict[str, np.ndarray] = {}
        for kind, pairs in counts.items():
            col = np.zeros(rows, dtype=np.int64)
            idx, sizes = zip(*pairs, strict=True)
            col[list(idx)] = sizes
            self.count_cols[kind] = col
        self.values = {key: {v: np.asarray(r, dtype=np.int64) for v, r in by.items()} for key, by in values.items()}
        self.edges = {sub: np.asarray(r, dtype=np.int64) for sub, r in edges.items()}
        self.several = {sub: np.asarray(r, dtype=np.int64) for sub, r in several.items()}
        self._requirements: dict[Requirement, np.ndarray] = {}
        self._slots: dict[Slot, np.ndarray] = {}
        self._bases: dict[tuple[str, tuple[tuple[str, int], ...]], np.ndarray] = {}

    def requirement_mask(self, requirement: Requirement) -> np.ndarray:
        """Per row: does one of its feature vertices pass ``requirement``? (cached per requirement)"""
        mask = self._requirements.get(requirement)
        if mask is None:
            mask = np.zeros(self.rows, dtype=bool)
            for value, rows in self.values.get((requirement.subsystem, requirement.field), {}).items():
                if requirement.test(value):
                    mask[rows] = True
            self._requirements[requirement] = mask
        return mask

    def slot_fits(self, slot: Slot) -> np.ndarray:
        """Per cluster: does it have ``replicas`` vertices that fit the slot?"""
        fits = self._slots.get(slot)
        if fits is None:
            mask = self.type_mask.get(slot.type, np.zeros(self.rows, dtype=bool)).copy()
            for kind, count in slot.counts:
                col = self.count_cols.get(kind)
                mask &= col >= count if col is not None else False
            for requirement in slot.requires:
                mask &= self.requirement_mask(requirement)
            per_cluster = np.bincount(self.cluster_of[mask], weights=self.multiplicity[mask],
                                      minlength=len(self.names))
            fits = per_cluster >= slot.replicas
            self._slots[slot] = fits
        return fits

    def fits(self, request: Request) -> np.ndarray:
        """A boolean per cluster (in ``names`` order)."""
        result = np.ones(len(self.names), dtype=bool)
        for slot in request.slots:
            result &= self.slot_fits(slot)
        return result

    def _base(self, kind: str, counts: tuple[tuple[str, int], ...]) -> np.ndarray:
        """Per row: of the slot's type and holding its counts (cached per type and counts)."""
        key = (kind, counts)
        base = self._bases.get(key)
        if base is None:
            base = self.type_mask.get(kind, np.zeros(self.rows, dtype=bool)).copy()
            for child, count in counts:
                col = self.count_cols.get(child)
                base &= col >= count if col is not None else False
            self._bases[key] = base
        return base

    def fits_all(self, requests: Sequence[Request]) -> np.ndarray:
        """``fits`` for many requests at once: a (requests x clusters) boolean matrix, equal row by row.

        Each distinct requirement is tested once and kept as a row of one matrix, so a slot
        is one gather and one ``all`` over its requirements' rows: some ten microseconds
        for 30 requirements, where ``fits`` takes a hash and an AND per requirement.
        """
        # Keyed by identity (requests share their requirement objects): no dataclass hash per lookup. Equal
        # requirements read by two processes are two objects and two rows, with the same mask.
        ids: dict[int, int] = {}
        masks: list[np.ndarray] = []
        plan: list[tuple[int, Slot, list[int]]] = []
        for j, request in enumerate(requests):
            for slot in request.slots:
                rows = [ids.get(id(r), -1) for r in slot.requires]
                if -1 in rows:  # a requirement not seen yet: test it once
                    for requirement in slot.requires:
                        if id(requirement) not in ids:
                            ids[id(requirement)] = len(masks)
                            masks.append(self.requirement_mask(requirement))
                    rows = [ids[id(r)] for r in slot.requires]
                plan.append((j, slot, rows))
        # Only rows some slot could take matter (for reliabuild, the node rows: a fifth of them): every mask, the
        # weights and the gathers below are cut to those columns.
        shapes = {(slot.type, slot.counts) for _, slot, _ in plan}
        cols = np.flatnonzero(np.logical_or.reduce([self._base(*shape) for shape in shapes] or [np.zeros(0, bool)]))
        matrix = np.array(masks, dtype=bool).reshape(len(masks), self.rows)[:, cols]
        # Row -> cluster weights: a (rows x clusters) matrix, so counting a slot's vertices per cluster is a product.
        # float64: BLAS multiplies it (numpy's integer product is a plain loop); whole numbers stay exact below 2**53.
        weights = np.zeros((len(cols), len(self.names)), dtype=np.float64)
        weights[np.arange(len(cols)), self.cluster_of[cols]] = self.multiplicity[cols]
        out = np.ones((len(requests), len(self.names)), dtype=bool)
        for start in range(0, len(plan), CHUNK):
            chunk = plan[start:start + CHUNK]
            bases = [self._base(slot.type, slot.counts)[cols] for _, slot, _ in chunk]
            masks_of = np.array(bases).reshape(len(chunk), len(cols))
            with_rows = [k for k, (_, _, rows) in enumerate(chunk) if rows]
            if with_rows:  # each slot's requirement rows ANDed at once (reduceat over the gathered rows)
                gathered = np.concatenate([chunk[k][2] for k in with_rows])
                starts = np.cumsum([0] + [len(chunk[k][2]) for k in with_rows[:-1]])
                masks_of[with_rows] &= np.logical_and.reduceat(matrix[gathered], starts, axis=0)
            per_cluster = masks_of.astype(np.float64) @ weights
            replicas = np.array([slot.replicas for _, slot, _ in chunk])
            fits = per_cluster >= replicas[:, None]
            # Every slot of a request must fit: AND each slot's row into its request's (at: a request may repeat).
            np.logical_and.at(out, np.array([j for j, _, _ in chunk]), fits)
        return out

    def matches(self, request: Request) -> list[str]:
        """Names of the clusters that satisfy ``request``, sorted."""
        return sorted(self.names[i] for i in np.flatnonzero(self.fits(request)))
