"""What real rainbow answers (emulated): its pre-check, its last item per subsystem, its shared walk, its map order."""

from __future__ import annotations

import json
import random

from compatlab.bench import synthetic_cluster, synthetic_jobspec
from compatlab.scheduler.clusters import read_cluster
from compatlab.scheduler.index import Index
from compatlab.scheduler.match import satisfies
from compatlab.scheduler.rainbow_index import CODES, RainbowIndex
from compatlab.scheduler.rainbow_walk import MATCH, NO_MATCH, VARIES, _orders, _tree, _Walk, outcome
from compatlab.scheduler.request import read_request
from tests.graphs import cluster_dir, jobspec


def request(**kw):
    return read_request(jobspec(**kw), "job.yaml")


def test_the_pre_check_counts_vertices_of_each_asked_type_not_their_sizes(tmp_path):
    # Two nodes of 8 cores and 64 GB each: plenty of cores and memory, but only 2 memory vertices.
    cluster = read_cluster(cluster_dir(tmp_path, "pair", [{"cores": 8, "memory": 64}] * 2, {}))
    assert outcome(cluster, request(replicas=4, cores=1).rainbow) == MATCH  # 16 core vertices >= 4
    assert outcome(cluster, request(replicas=4, cores=1, memory=1).rainbow) == NO_MATCH  # 2 memory vertices < 4


def test_counts_add_up_over_the_cluster(tmp_path):
    cluster = read_cluster(cluster_dir(tmp_path, "small", [{"cores": 4, "memory": 1}] * 4, {}))
    assert outcome(cluster, request(replicas=1, cores=12, memory=3).rainbow) == MATCH
    assert outcome(cluster, request(replicas=1, cores=17).rainbow) == NO_MATCH  # 16 cores in all


def test_only_the_last_item_of_a_subsystem_counts(tmp_path):
    cluster = read_cluster(cluster_dir(tmp_path, "ubuntu", [{}], {
        "os": {"0": {"vendor": "ubuntu", "release": "22.04"}}}))
    last_holds = [{"name": "os", "field": "vendor", "match": "rocky"},
                  {"name": "os", "field": "release", "match": "22.04"}]
    last_fails = list(reversed(last_holds))
    assert outcome(cluster, request(requires=last_holds).rainbow) == MATCH
    assert outcome(cluster, request(requires=last_fails).rainbow) == NO_MATCH
    assert not satisfies(cluster, request(requires=last_holds))  # ours checks both


def test_needs_met_on_different_nodes_count_together(tmp_path):
    cluster = read_cluster(cluster_dir(tmp_path, "split", [{}, {}], {
        "mpi": {"0": {"variant": "openmpi"}}, "go": {"1": {"version": "1.21.3"}}}))
    both = [{"name": "mpi", "field": "variant", "match": "openmpi"}, {"name": "go", "field": "version", "min": "1.21"}]
    assert outcome(cluster, request(requires=both).rainbow) == MATCH
    assert not satisfies(cluster, request(requires=both))


def test_a_rejected_node_keeps_what_it_met_so_the_answer_depends_on_go_map_order(tmp_path):
    # Node A passes x and fails y; node B fails x and passes y. If A's subsystems come x first, A marks x before it
    # is rejected and B (x already met) is accepted: a match. If y comes first, A marks nothing and B fails x.
    cluster = read_cluster(cluster_dir(tmp_path, "order", [{}, {}], {
        "x": {"0": {"v": "yes"}, "1": {"v": "no"}}, "y": {"0": {"v": "no"}, "1": {"v": "yes"}}}))
    needs = [{"name": "x", "field": "v", "match": "yes"}, {"name": "y", "field": "v", "match": "yes"}]
    assert outcome(cluster, request(requires=needs).rainbow) == VARIES


def test_a_need_no_vertex_meets_is_never_met(tmp_path):
    cluster = read_cluster(cluster_dir(tmp_path, "c", [{}] * 3, {"go": {"0": {"version": "1.19"}}}))
    assert outcome(cluster, request(requires=[{"name": "go", "field": "version", "min": "1.20"}]).rainbow) == NO_MATCH
    assert outcome(cluster, request(requires=[{"name": "gpu", "field": "count", "min": "1"}]).rainbow) == NO_MATCH


class _EveryOrder(_Walk):
    """The walk over every distinct order of a vertex's children, one order at a time: the reference."""

    def children(self, v, state):
        out = set()
        for order in _orders(v.children):
            states = {state}
            for child in order:
                states = {o for s in states for o in ({MATCH} if isinstance(s, str) else self.visit(child, s))}
            out |= states
        return out


def test_children_in_any_order_are_walked_by_multiset_as_over_every_order():
    # More than 8 children: Go may take them in any order. Walking multisets of children left must reach exactly
    # the outcomes of trying each order (here few enough orders to try them all: two kinds of node, 9 of them).
    rng = random.Random(11)
    clusters = [c for c in (synthetic_cluster(i, rng) for i in range(400))
                if len(_tree(c).children) == 9 and len({k.sig for k in _tree(c).children}) > 1][:4]
    assert len(clusters) == 4
    requests = [read_request(synthetic_jobspec(i, rng), f"{i}.yaml") for i in range(12)]
    seen = set()
    for cluster in clusters:
        for request in requests:
            for slot in (s for labelled in request.rainbow.slots for s in labelled):
                fast, reference = _Walk(slot).outcomes(_tree(cluster)), _EveryOrder(slot).outcomes(_tree(cluster))
                assert fast == reference, (cluster.name, request.source)
                seen.add(frozenset(fast))
    assert len(seen) == 3  # matches, misses and answers that vary were all compared


def test_a_node_linked_to_two_unlike_features_of_a_subsystem_is_left_to_the_walk(tmp_path):
    # Node 0 links go 1.19 and go 1.22; which one rainbow reads depends on the order of the features. The bulk
    # rules cannot count such a node as passing or failing: they leave it to the walk, and agree with it.
    directory = cluster_dir(tmp_path, "two-go", [{}, {}], {"go": {"0": {"version": "1.19"}}})
    path = directory / "go-subsystem.json"
    graph = json.loads(path.read_text())
    graph["graph"]["nodes"]["go9"] = {"label": "go9", "metadata": {"type": "feature", "version": "1.22"}}
    graph["graph"]["edges"].append({"source": "2", "target": "go9", "relation": "contains"})  # node 0 is vertex 2
    path.write_text(json.dumps(graph))
    cluster = read_cluster(directory)
    go = {"name": "go", "field": "version", "min": "1.20"}
    requests = [request(requires=[go]), request(replicas=2, requires=[go]), request(replicas=3, requires=[go])]
    walked = [outcome(cluster, r.rainbow) for r in requests]
    assert VARIES in walked  # the order of node 0's features decides some answer
    bulk = RainbowIndex([cluster], Index([cluster]))
    assert [int(bulk.answers(r)[0]) for r in requests] == [CODES[w] for w in walked]
