"""What real rainbow's memory-graph matcher answers for one cluster and one jobspec, defects included.

Source: rainbow main @ 075ee23, ``plugins/backends/memory/dfs.go`` and
``plugins/algorithms/match``; checked against a running server on about 17,000 pairs,
"varies" answers included. After the pre-check (``rainbow_plan``), each slot is one
depth-first walk over ``contains`` edges from vertex "0" (not itself checked), with ONE
state for the whole walk: counts are never restored and a need once met stays met.
At each visited vertex v:

a. if v's type has counts or needs: for each of v's subsystems with needs (in Go map
   order), each feature (in Go map order) marks the needs it passes; if a need of that
   subsystem is then still unmet, v is rejected: not counted, its subtree skipped (the
   marks stay). A vertex with no edge into a subsystem is never checked for it. Else
   ``counts[v.type] -= v.size``;
b. if every need is met and every count is <= 0, ``found += 1``, and the slot matches
   when ``found >= replicas`` (from then on every vertex visited adds one);
c. v's children are visited (in Go map order).

So the three deviations of DESIGN.md follow: counts are cumulative over the cluster,
only the last item per subsystem counts, and needs met on different nodes add up.

Go iterates a map of at most 8 entries as a rotation of insertion order and a bigger one
in an order fixed per map, so an answer can change between two calls: "varies". The
walk is explored over every order that can give a different result (orders of equal
subtrees are one), with the states memoised per (subtree, state).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import TypeVar

from .clusters import Cluster, Vertex
from .rainbow_plan import Plan, SlotNeeds, Test

MATCH, NO_MATCH, VARIES = "match", "no match", "varies"
UNSETTLED = "unsettled"  # the walk took more than WALK_BUDGET steps: either answer may be rainbow's
# Steps (a subtree visited from a state) per (cluster, jobspec) pair at most: some 30 ms. Uniform nodes take a few
# hundred; a cluster of many unlike nodes can need millions (their orders), where a replay would take hours.
WALK_BUDGET = 10_000
ORDER_LIMIT = 20_000  # orders of one map explored at most (a map of > 8 unlike entries: beyond, a sample)

T = TypeVar("T")
Mark = tuple[str, str, int]  # (vertex type, subsystem, index of the test) of a need met
State = tuple[frozenset[Mark], tuple[int, ...], int]  # needs met, counts left, found
Outcome = State | str  # the state after a subtree, or MATCH


@dataclass(frozen=True)
class _Node:
    """A vertex as the walk sees it: type, size, children, features per subsystem; ``sig`` names its subtree."""

    type: str
    size: int
    children: tuple[_Node, ...]
    features: tuple[tuple[str, tuple[str, ...]], ...]  # (subsystem, (feature metadata as sorted JSON, ...))
    sig: int


def _tree(cluster: Cluster) -> _Node:
    """The cluster as rainbow holds it (memoised on the cluster object)."""
    cached: _Node | None = cluster.__dict__.get("_rainbow_tree")
    if cached is not None:
        return cached
    built: dict[str, _Node] = {}

    def build(v: Vertex, path: frozenset[str]) -> _Node:
        if v.id in built:
            return built[v.id]
        kids = tuple(build(cluster.vertex(c), path | {v.id}) for c in v.children if c not in path)
        features = tuple((sub, tuple(dict.fromkeys(json.dumps(dict(f), sort_keys=True) for f in fs)))
                         for sub, fs in v.features.items())
        node = _Node(v.type, v.size, kids, features, _intern((v.type, v.size, features, tuple(k.sig for k in kids))))
        built[v.id] = node
        return node

    root = build(cluster.vertex("0"), frozenset())
    object.__setattr__(cluster, "_rainbow_tree", root)  # a cache, not state
    return root


_SIGS: dict[tuple[object, ...], int] = {}


def _intern(key: tuple[object, ...]) -> int:
    return _SIGS.setdefault(key, len(_SIGS))


@lru_cache(maxsize=65536)
def _feature(text: str) -> Mapping[str, object]:
    # Cached, so shared by every caller: read-only.
    return MappingProxyType(json.loads(text))


def _key(x: object) -> object:
    return x.sig if isinstance(x, _Node) else x


def _orders(items: tuple[T, ...]) -> list[tuple[T, ...]]:
    """The Go iteration orders of a map built by inserting ``items`` (distinct keys), one per distinct result."""
    if len(items) <= 1:
        return [items]
    candidates: Iterable[tuple[T, ...]]
    if len(items) <= 8:  # one bucket: a random start among its 8 slots, wrapping around
        candidates = (items[k:] + items[:k] for k in range(len(items)))
    else:  # a fixed hash order per map: any order is possible
        candidates = itertools.islice(_distinct_permutations(items), ORDER_LIMIT)
    seen: dict[tuple[object, ...], tuple[T, ...]] = {}
    for order in candidates:
        seen.setdefault(tuple(_key(x) for x in order), order)
    return list(seen.values())


def _distinct_permutations(items: tuple[T, ...]) -> Iterator[tuple[T, ...]]:
    groups: dict[object, list[T]] = {}
    for x in items:
        groups.setdefault(_key(x), []).append(x)
    left = {k: len(v) for k, v in groups.items()}
    prefix: list[T] = []

    def rec() -> Iterator[tuple[T, ...]]:
        if len(prefix) == len(items):
            yield tuple(prefix)
            return
        for k in groups:
            if left[k]:
                left[k] -= 1
                prefix.append(groups[k][len(groups[k]) - left[k] - 1])
                yield from rec()
                prefix.pop()
                left[k] += 1

    yield from rec()


class _Walk:
    """Every outcome of one slot's walk over one tree, over Go's map orders (memoised per subtree and state).

    A state is (needs met, counts left, found); MATCH ends a walk.
    """

    def __init__(self, slot: SlotNeeds, budget: list[int] | None = None) -> None:
        self.slot = slot
        self.budget = budget if budget is not None else [WALK_BUDGET]  # steps left, shared by a pair's walks
        self.count_types = [kind for kind, _ in slot.counts]
        self.needs: dict[tuple[str, str], tuple[Test, ...]] = dict(slot.needs)
        self.need_types = {kind for kind, _ in self.needs}
        self.total_needs = sum(len(tests) for tests in self.needs.values())
        self.memo: dict[tuple[int, State], frozenset[Outcome]] = {}

    def spend(self, steps: int) -> None:
        """Take ``steps`` from the pair's budget; ``_OverBudget`` when it runs out."""
        self.budget[0] -= steps
        if self.budget[0] < 0:
            raise _OverBudget

    def start(self) -> State:
        return (frozenset(), tuple(n for _, n in self.slot.counts), 0)

    def satisfied(self, state: State) -> bool:
        met, left, _ = state
        return len(met) == self.total_needs and all(n <= 0 for n in left)

    def check(self, v: _Node, state: State) -> set[tuple[bool, State]]:
        """Rule a: (accepted, state after) for every order of v's subsystem and feature maps."""
        if v.type not in self.need_types and v.type not in self.count_types:
            return {(True, state)}
        met0, left, found = state
        subsystems = tuple(f for f in v.features if (v.type, f[0]) in self.needs)
        if len(subsystems) > 8 and all(len(fs) == 1 for _, fs in subsystems):
            return self._check_many(v, state, subsystems)
        results: set[tuple[bool, State]] = set()
        for sub_order in _orders(subsystems):
            for feature_orders in itertools.product(*[_orders(fs) for _, fs in sub_order]):
                met, accepted = set(met0), True
                for (sub, _), features in zip(sub_order, feature_orders, strict=True):
                    tests = self.needs[(v.type, sub)]
                    for text in features:
                        feature = _feature(text)
                        met.update((v.type, sub, i) for i, t in enumerate(tests) if t.passes(feature))
                        if any((v.type, sub, i) not in met for i in range(len(tests))):
                            accepted = False
                            break
                    if not accepted:
                        break
                after = left
                if accepted and v.type in self.count_types:
                    i = self.count_types.index(v.type)
                    after = left[:i] + (max(0, left[i] - v.size),) + left[i + 1:]
                results.add((accepted, (frozenset(met), after, found)))
        return results

    def _check_many(self, v: _Node, state: State, subsystems: tuple[tuple[str, tuple[str, ...]], ...]
                    ) -> set[tuple[bool, State]]:
        """Rule a for more than 8 subsystems of one feature each, where Go may take them in any order.

        Whether v is accepted does not depend on the order (each subsystem's needs are its
        own); only the marks a rejected v leaves do: those of the subsystems taken before
        the first failing one. The walk is monotone in the marks (more marks never reject
        a vertex that fewer accept), so the fewest and the most marks bound every order's
        outcome and both are reachable: they stand for all orders.
        """
        met0, left, found = state
        marks: dict[str, set[Mark]] = {}
        failing: list[str] = []
        for sub, (text,) in subsystems:
            tests = self.needs[(v.type, sub)]
            feature = _feature(text)
            marks[sub] = {(v.type, sub, i) for i, t in enumerate(tests) if t.passes(feature)}
            if any((v.type, sub, i) not in met0 and (v.type, sub, i) not in marks[sub] for i in range(len(tests))):
                failing.append(sub)
        everything = set(met0).union(*marks.values())
        if not failing:
            after = left
            if v.type in self.count_types:
                i = self.count_types.index(v.type)
                after = left[:i] + (max(0, left[i] - v.size),) + left[i + 1:]
            return {(True, (frozenset(everything), after, found))}
        passing = set[Mark]().union(*(marks[s] for s in marks if s not in failing))
        results: set[tuple[bool, State]] = set()
        for first in failing:  # the first failing subsystem leaves its own marks too
            results.add((False, (frozenset(met0 | marks[first]), left, found)))
            results.add((False, (frozenset(met0 | passing | marks[first]), left, found)))
        return results

    def visit(self, v: _Node, state: State) -> frozenset[Outcome]:
        """Outcomes of visiting v from ``state``: MATCH, or the states after v's subtree."""
        key = (v.sig, state)
        if key in self.memo:
            return self.memo[key]
        self.spend(1)
        out: set[Outcome] = set()
        for accepted, after in self.check(v, state):
            if not accepted:
                out.add(after)
                continue
            if self.satisfied(after):
                after = (after[0], after[1], after[2] + 1)
                if after[2] >= self.slot.replicas:
                    out.add(MATCH)
                    continue
            out |= self.children(v, after)
        self.memo[key] = frozenset(out)
        return self.memo[key]

    def children(self, v: _Node, state: State) -> set[Outcome]:
        if len(v.children) > 8:
            return self.any_order(v.children, state)
        out: set[Outcome] = set()
        for order in _orders(v.children):
            self.spend(len(order))
            states: set[Outcome] = {state}
            for child in order:
                # The only text an outcome can be is MATCH, which ends the walk.
                states = {o for s in states for o in ({MATCH} if isinstance(s, str) else self.visit(child, s))}
            out |= states
        return out

    def any_order(self, children: tuple[_Node, ...], state: State) -> set[Outcome]:
        """Outcomes of visiting ``children`` in every order (a Go map of more than 8 entries: any order).

        Walked over the multisets of subtrees still to visit, not over orders: the outcomes
        after some children depend only on which were visited, not in what order they were
        reached, so each (children left, state) is expanded once (19 nodes of two kinds:
        92,378 orders, 100 multisets). Nodes all unlike are still 2**n multisets: the budget
        (``WALK_BUDGET``) bounds them.
        """
        alike: dict[int, list[_Node]] = {}
        for child in children:
            alike.setdefault(child.sig, []).append(child)
        kinds = [group[0] for group in alike.values()]
        out: set[Outcome] = set()
        frontier: dict[tuple[int, ...], set[State]] = {tuple(len(g) for g in alike.values()): {state}}
        for _ in children:
            reached: dict[tuple[int, ...], set[State]] = {}
            for left, states in frontier.items():
                for k, n in enumerate(left):
                    if not n:
                        continue
                    self.spend(1 + len(states))
                    bucket = reached.setdefault(left[:k] + (n - 1,) + left[k + 1:], set())
                    for s in states:
                        for o in self.visit(kinds[k], s):
                            if isinstance(o, str):
                                out.add(MATCH)  # MATCH ends the walk, whatever is left
                            else:
                                bucket.add(o)
            frontier = reached
        for states in frontier.values():  # one entry: nothing left
            out |= states
        return out

    def outcomes(self, root: _Node) -> set[bool]:
        return {o == MATCH for o in self.children(root, self.start())}


class _OverBudget(Exception):
    """The walk of one pair took more than its budget of steps."""


def outcome(cluster: Cluster, plan: Plan, budget: int = WALK_BUDGET) -> str:
    """``MATCH``, ``NO_MATCH`` or ``VARIES`` (the answer depends on Go's map order): what real rainbow says.

    ``UNSETTLED`` when the walk needs more than ``budget`` steps (``WALK_BUDGET``): the
    caller counts such a pair as one that may go either way, as ``VARIES``, and says how many.
    """
    if any(cluster.type_counts.get(kind, 0) < replicas for kind, replicas in plan.precheck):
        return NO_MATCH
    root = _tree(cluster)
    possible = {True}
    left = [budget]
    try:
        for candidates in plan.slots:  # every slot must match; Go keeps one candidate per label
            slot_possible: set[bool] = set()
            for slot in candidates:
                slot_possible |= _Walk(slot, left).outcomes(root)
            possible = {a and b for a in possible for b in slot_possible}
    except _OverBudget:
        return UNSETTLED
    if possible == {True}:
        return MATCH
    return NO_MATCH if possible == {False} else VARIES
