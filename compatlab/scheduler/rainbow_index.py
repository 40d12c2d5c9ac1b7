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
from .index import CHUNK, Index
from .rainbow_plan import Plan, SlotNeeds, Test
from .rainbow_walk import MATCH, NO_MATCH, UNSETTLED, VARIES, outcome
from .request import Request, Requirement

CODES = {NO_MATCH: 0, MATCH: 1, VARIES: 2, UNSETTLED: 3}  # 3: the walk was over budget (may go either way)


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
    """rainbow's answer per cluster (``names`` order) for each request: 0 no match, 1 match, 2 varies,
    3 unsettled (its walk took more than ``rainbow_walk.WALK_BUDGET`` steps)."""

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
        self._needs: dict[tuple[str, str, Test], tuple[np.ndarray, np.ndarray]] = {}

    def _per_cluster(self, rows: np.ndarray | None) -> np.ndarray:
        if rows is None or not len(rows):
            return self.zeros
        return np.bincount(self.index.cluster_of[rows], weights=self.index.multiplicity[rows],
                           minlength=len(self.clusters))

    def _need(self, kind: str, sub: str, test: Test) -> tuple[np.ndarray, np.ndarray]:
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
        """An int8 per cluster: 0 no match, 1 match, 2 varies (real rainbow's answer changes between calls),
        3 unsettled (the walk was over its budget)."""
        row: np.ndarray = self.answers_all([request])[0]
        return row

    def answers_all(self, requests: Sequence[Request]) -> np.ndarray:
        """``answers`` for many requests: a (requests x clusters) int8 matrix.

        Each distinct need is counted once per cluster and kept as a row of two matrices
        (T-vertices passing it, T-vertices it could reject), so a request is two gathers;
        pairs the bulk rules leave open go to ``rainbow_walk.outcome`` one by one.
        """
        n = len(self.clusters)
        # A need's row, keyed by the need's identity (needs are shared objects, rainbow_plan._need): one lookup per
        # need and no tuple built. -1: a need with several tests, which the bulk rules leave to the walk.
        ids: dict[int, int] = {}
        passing_rows: list[np.ndarray] = []
        rejecting_rows: list[np.ndarray] = []
        # Per request: its plan, its simple slot, and its need rows ("never": needs on a type no cluster has).
        plans: list[tuple[Plan, SlotNeeds | None, list[int] | str | None]] = []
        for request in requests:
            slot = request.rainbow.simple()
            rows: list[int] | str | None = None
            if slot is not None:
                kind = slot.needs[0][0][0] if slot.needs else None
                if kind is None or (kind in self.index.type_mask and kind not in self.root_types):
                    listed = [ids.get(id(need), -2) for need in slot.needs]  # -2: not seen yet
                    if -2 in listed:  # a need not seen yet: count it once
                        for need in slot.needs:
                            if id(need) not in ids:
                                (of_kind, sub), tests = need  # of_kind is kind: a simple slot's needs have one
                                ids[id(need)] = len(passing_rows) if len(tests) == 1 else -1
                                if len(tests) == 1:
                                    passing, rejecting = self._need(of_kind, sub, tests[0])
                                    passing_rows.append(passing)
                                    rejecting_rows.append(rejecting)
                        listed = [ids[id(need)] for need in slot.needs]
                    rows = None if -1 in listed else listed
                elif kind not in self.index.type_mask and all(len(tests) == 1 for _, tests in slot.needs):
                    rows = "never"  # needs on a type no cluster has: never met
            plans.append((request.rainbow, slot, rows))
        # Booleans per need and cluster: some T-vertex passes it; some T-vertex could be rejected for it.
        passing_matrix = np.array(passing_rows).reshape(len(passing_rows), n) > 0
        rejecting_matrix = np.array(rejecting_rows).reshape(len(rejecting_rows), n) > 0
        never_all = np.zeros((len(requests), n), dtype=bool)
        unsure_all = np.zeros((len(requests), n), dtype=bool)
        with_needs = {j: rows for j, (_, _, rows) in enumerate(plans) if isinstance(rows, list) and rows}
        with_rows = list(with_needs)
        for start in range(0, len(with_rows), CHUNK):  # each request's needs reduced at once
            chunk = with_rows[start:start + CHUNK]
            gathered = np.concatenate([with_needs[j] for j in chunk])
            starts = np.cumsum([0] + [len(with_needs[j]) for j in chunk[:-1]])
            never_all[chunk] = ~np.logical_and.reduceat(passing_matrix[gathered], starts, axis=0)
            unsure_all[chunk] = np.logical_or.reduceat(rejecting_matrix[gathered], starts, axis=0)
        # The rules for every request at once: (request, type, least) triples compared with per-type rows.
        refused = np.zeros((len(requests), n), dtype=bool)  # the pre-check fails
        short = np.zeros((len(requests), n), dtype=bool)  # a count exceeds the cluster's total
        for table, triples in ((self.type_counts, [(j, kind, least) for j, (plan, _, _) in enumerate(plans)
                                                   for kind, least in plan.precheck]),
                               (self.totals, [(j, kind, least) for j, (_, slot, rows) in enumerate(plans)
                                              if isinstance(rows, list) and slot is not None
                                              for kind, least in slot.counts])):
            if triples:
                js, kinds, least = zip(*triples, strict=True)
                have = np.array([table.get(kind, self.zeros) for kind in kinds]).reshape(len(kinds), n)
                np.logical_or.at(refused if table is self.type_counts else short, np.array(js),
                                 have < np.array(least)[:, None])
        simple = np.array([isinstance(rows, list) for _, _, rows in plans], dtype=bool)
        single = np.array([isinstance(rows, list) and slot is not None and slot.replicas == 1
                           for _, slot, rows in plans], dtype=bool)
        absent = np.array([isinstance(rows, str) for _, _, rows in plans], dtype=bool)  # needs on an absent type
        no = refused | absent[:, None] | (simple[:, None] & (never_all | short))
        yes = ~no & single[:, None] & ~unsure_all
        out: np.ndarray = yes.astype(np.int8)
        for j, i in zip(*np.nonzero(~no & ~yes), strict=True):  # what the rules leave open: the walk
            self.walked += 1
            out[j, i] = CODES[outcome(self.clusters[i], plans[j][0])]
        return out
