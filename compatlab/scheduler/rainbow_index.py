"""Real rainbow's answers for many (cluster, jobspec) pairs at once: the cases that need no walk, in bulk.

``rainbow_walk.outcome`` explores rainbow's walk one pair at a time, over Go's map
orders: exact, and some milliseconds a pair. Most pairs of a corpus are decided without
it. For a jobspec with one slot whose needs sit on one vertex type T (not a counted
type) and whose subsystems have one test each, on a cluster whose T-vertices each link
at most one feature per needed subsystem:

- no match, whatever the order, when the pre-check fails, when some needed subsystem's
  test is passed by no T-vertex (the need is never met), or when a count exceeds what
  the whole walk could subtract (the sizes of every vertex of that type);
- match, whatever the order, when ``replicas`` is 1, the counts fit that total and every
  T-vertex linked to a needed subsystem passes its test (nothing is ever rejected, so the
  walk ends with every need met and every count used up, which it checks at each vertex).

Every other pair goes to the walk. Answers equal ``rainbow_walk.outcome`` for every pair
(tests/scheduler/test_rainbow.py checks it on random corpora).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .clusters import Cluster
from .index import Index
from .rainbow_plan import Plan
from .rainbow_walk import MATCH, NO_MATCH, VARIES, outcome
from .request import Request, Requirement

CODES = {NO_MATCH: 0, MATCH: 1, VARIES: 2}


def _walk_totals(cluster: Cluster) -> dict[str, int]:
    """What the walk could subtract per type: the sizes of every vertex reached below "0" (each path once)."""
    totals: dict[str, int] = {}
    stack = [(c, frozenset({"0"})) for c in cluster.vertex("0").children]
    while stack:
        vid, path = stack.pop()
        v = cluster.vertex(vid)
        totals[v.type] = totals.get(v.type, 0) + v.size
        stack.extend((c, path | {vid}) for c in v.children if c not in path)
    return totals


class RainbowIndex:
    """rainbow's answer per cluster (``names`` order) for each request: 0 no match, 1 match, 2 varies."""

    def __init__(self, clusters: Sequence[Cluster], index: Index) -> None:
        self.clusters = list(clusters)
        self.index = index
        n = len(self.clusters)
        types = sorted({t for c in self.clusters for t in c.type_counts})
        self.type_counts = {t: np.asarray([c.type_counts.get(t, 0) for c in self.clusters]) for t in types}
        totals = [_walk_totals(c) for c in self.clusters]
        self.totals = {t: np.asarray([tot.get(t, 0) for tot in totals]) for t in {k for tot in totals for k in tot}}
        self.root_types = {c.vertex("0").type for c in self.clusters}
        self.zeros = np.zeros(n, dtype=np.int64)
        self.walked = 0  # pairs that needed the walk (for the curious and the tests)
        self._needs: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def _per_cluster(self, rows: np.ndarray | None) -> np.ndarray:
        if rows is None or not len(rows):
            return self.zeros
        return np.bincount(self.index.cluster_of[rows], weights=self.index.multiplicity[rows],
                           minlength=len(self.clusters))

    def _need(self, kind: str, sub: str, test) -> tuple[np.ndarray, np.ndarray]:
        """Per cluster (cached): T-vertices passing the test, and T-vertices that could be rejected for it."""
        key = (kind, sub, test)
        cached = self._needs.get(key)
        if cached is None:
            of_kind = self.index.type_mask[kind]
            passing = self.index.requirement_mask(Requirement(sub, test.field, test.match, test.min, test.max))
            linked = np.zeros(self.index.rows, dtype=bool)
            if sub in self.index.edges:
                linked[self.index.edges[sub]] = True
            unsure = linked & ~passing & of_kind
            if sub in self.index.several:  # unlike features of one subsystem on a vertex: the order matters
                unsure[self.index.several[sub]] |= of_kind[self.index.several[sub]]
            cached = (self._per_cluster(np.flatnonzero(passing & of_kind)), self._per_cluster(np.flatnonzero(unsure)))
            self._needs[key] = cached
        return cached

    def answers(self, request: Request) -> np.ndarray:
        """An int8 per cluster: 0 no match, 1 match, 2 varies (real rainbow's answer changes between calls)."""
        plan: Plan = request.rainbow
        n = len(self.clusters)
        ok = np.ones(n, dtype=bool)
        for kind, replicas in plan.precheck:
            ok &= self.type_counts.get(kind, self.zeros) >= replicas
        decided = ~ok
        result = np.zeros(n, dtype=np.int8)
        slot = plan.simple()
        if slot is not None and all(len(tests) == 1 for _, tests in slot.needs):
            kind = slot.needs[0][0][0] if slot.needs else None
            if kind is None or (kind in self.index.type_mask and kind not in self.root_types):
                never = np.zeros(n, dtype=bool)
                unsure = np.zeros(n, dtype=bool)
                if slot.needs:
                    passing, rejecting = zip(*(self._need(kind, sub, test) for (_, sub), (test,) in slot.needs),
                                             strict=True)
                    never = np.min(passing, axis=0) == 0
                    unsure = np.max(rejecting, axis=0) > 0
                for count_kind, count in slot.counts:
                    never |= self.totals.get(count_kind, self.zeros) < count
                decided = decided | never
                if slot.replicas == 1:
                    yes = ~decided & ~unsure
                    result[yes] = 1
                    decided |= yes
            elif kind not in self.index.type_mask:  # needs on a type no cluster has: never met
                decided = np.ones(n, dtype=bool)
        for i in np.flatnonzero(~decided):
            self.walked += 1
            result[i] = CODES[outcome(self.clusters[i], plan)]
        return result
