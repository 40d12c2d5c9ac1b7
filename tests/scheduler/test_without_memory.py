"""A cluster that registers no memory vertices at all (as a tool that reports only cores writes it)."""

from __future__ import annotations

from compatlab.scheduler.clusters import read_clusters
from compatlab.scheduler.index import Index
from compatlab.scheduler.match import explain, rainbow_satisfies, satisfies
from compatlab.scheduler.request import read_request
from tests.graphs import cluster_dir, jobspec


def test_a_cluster_without_memory_vertices_is_rejected_for_memory_and_matched_for_the_rest(tmp_path):
    cluster_dir(tmp_path, "bare", [{"cores": 4}] * 2, {"arch": {"0": {"t": "amd64"}, "1": {"t": "amd64"}}})
    cluster_dir(tmp_path, "full", [{"cores": 4, "memory": 8}] * 2, {"arch": {"0": {"t": "amd64"}, "1": {"t": "amd64"}}})
    bare, full = clusters = read_clusters(tmp_path)
    assert all("memory" not in v.counts for v in bare.vertices)  # the fixture really has none

    arch = [{"name": "arch", "field": "t", "match": "amd64"}]
    memory = read_request(jobspec(replicas=2, cores=2, memory=1, requires=arch), "memory.yaml")
    cores = read_request(jobspec(replicas=2, cores=4, requires=arch), "cores.yaml")
    assert explain(bare, memory) == "needs memory >= 1 per node on 2 nodes, nodes have 0 (0 qualify)"
    assert satisfies(bare, cores) and satisfies(full, memory) and satisfies(full, cores)
    # The index has a memory column (from the other cluster) and one without any: both read a missing type as 0.
    assert Index(clusters).matches(memory) == ["full"] and Index([bare]).matches(memory) == []
    assert Index(clusters).matches(cores) == ["bare", "full"]
    # Real rainbow's whole-cluster totals have no memory either, so it too rejects.
    assert not rainbow_satisfies(bare, memory) and rainbow_satisfies(full, memory)
