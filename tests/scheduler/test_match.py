"""The embedded matcher on rainbow registrations compatlab did not write."""

from __future__ import annotations

import json
import random

import pytest

from compatlab.bench import synthetic_cluster, synthetic_jobspec
from compatlab.errors import LabError
from compatlab.scheduler.clusters import read_cluster, read_clusters
from compatlab.scheduler.index import Index
from compatlab.scheduler.match import explain, rainbow_satisfies, satisfies
from compatlab.scheduler.request import read_request
from tests.graphs import cluster_dir, jobspec


def request(**kw):
    return read_request(jobspec(**kw), "job.yaml")


@pytest.fixture
def four_by_four(tmp_path):
    """4 nodes of 4 cores and 1 GB: 16 cores and 4 GB in all."""
    return read_cluster(cluster_dir(tmp_path, "small", [{"cores": 4, "memory": 1}] * 4, {}))


def test_five_cores_per_node_on_four_core_nodes_is_rejected_though_the_cluster_has_16(four_by_four):
    job = request(replicas=1, cores=5)
    assert explain(four_by_four, job) == "needs core >= 5 per node on 1 node, nodes have 4 (0 qualify)"
    assert rainbow_satisfies(four_by_four, job)  # real rainbow compares with the 16-core total


def test_cores_counted_through_sockets(four_by_four):
    assert satisfies(four_by_four, request(replicas=4, cores=4))


def test_two_gb_per_node_on_one_gb_nodes_is_rejected(four_by_four):
    job = request(replicas=2, memory=2)
    assert "needs memory >= 2 per node on 2 nodes, nodes have 1" in explain(four_by_four, job)
    assert rainbow_satisfies(four_by_four, job)


def test_a_two_node_cluster_rejects_a_four_node_job(tmp_path):
    cluster = read_cluster(cluster_dir(tmp_path, "pair", [{"cores": 8}] * 2, {}))
    job = request(replicas=4, cores=1)
    assert explain(cluster, job) == "needs 4 nodes, has 2"
    assert rainbow_satisfies(cluster, job)


@pytest.mark.parametrize(("go", "ok"), [("1.20", True), ("1.20.14", True), ("1.9", False), ("v1.21.0", True),
                                        ("1.21.0-rc1", False), ("devel", False)])
def test_go_versions_compare_as_semver(tmp_path, go, ok):
    cluster = read_cluster(cluster_dir(tmp_path, "c", [{}], {"go": {"0": {"go.version": go}}}))
    job = request(requires=[{"name": "go", "field": "go.version", "min": "1.20"}])
    assert satisfies(cluster, job) is ok


def test_a_missing_subsystem_or_field_is_a_miss(tmp_path):
    cluster = read_cluster(cluster_dir(tmp_path, "c", [{}], {"go": {"0": {"version": "1.21"}}}))
    assert "found no field go.version" in explain(
        cluster, request(requires=[{"name": "go", "field": "go.version", "min": "1.20"}]))
    assert "found no mpi subsystem" in explain(
        cluster, request(requires=[{"name": "mpi", "field": "variant", "match": "openmpi"}]))


def test_requirements_must_meet_on_the_same_node(tmp_path):
    # One node has the MPI, the other has the new Go: no single node has both.
    cluster = read_cluster(cluster_dir(tmp_path, "split", [{}, {}], {
        "mpi": {"0": {"variant": "openmpi"}},
        "go": {"1": {"version": "1.21.3"}},
    }))
    job = request(requires=[{"name": "mpi", "field": "variant", "match": "openmpi"},
                            {"name": "go", "field": "version", "min": "1.21"}])
    assert "needs go version >= 1.21" in explain(cluster, job)
    assert rainbow_satisfies(cluster, job)  # real rainbow lets different nodes meet them


def test_a_subsystem_on_some_nodes_counts_only_those_nodes(tmp_path):
    cluster = read_cluster(cluster_dir(tmp_path, "half", [{}] * 4, {"gpu": {"0": {"count": "1"}, "1": {"count": "1"}}}))
    gpu = [{"name": "gpu", "field": "count", "min": "1"}]
    assert satisfies(cluster, request(replicas=2, requires=gpu))
    assert "(2 qualify)" in explain(cluster, request(replicas=3, requires=gpu))


def test_several_items_on_one_subsystem_must_all_hold(tmp_path):
    cluster = read_cluster(cluster_dir(tmp_path, "ubuntu", [{}], {
        "os": {"0": {"os.vendor": "ubuntu", "os.release": "22.04"}}}))
    both = [{"name": "os", "field": "os.vendor", "match": "rocky"},
            {"name": "os", "field": "os.release", "match": "22.04"}]
    assert "needs os os.vendor == rocky" in explain(cluster, request(requires=both))
    assert rainbow_satisfies(cluster, request(requires=both))  # it keeps only the last item
    window = [{"name": "os", "field": "os.release", "min": "20.04"},
              {"name": "os", "field": "os.release", "max": "22.04"}]
    assert satisfies(cluster, request(requires=window))


def test_a_partial_max_covers_its_range(tmp_path):
    cluster = read_cluster(cluster_dir(tmp_path, "c", [{}], {"go": {"0": {"version": "1.22.3"}}}))
    assert satisfies(cluster, request(requires=[{"name": "go", "field": "version", "max": "1.22"}]))
    assert not satisfies(cluster, request(requires=[{"name": "go", "field": "version", "max": "1.22.0"}]))


def test_the_index_agrees_with_the_reference_on_every_pair(tmp_path):
    specs = [
        ("a", [{"cores": 4, "memory": 2}] * 4, {"arch": {str(i): {"t": "amd64"} for i in range(4)}}),
        ("b", [{"cores": 8, "memory": 8}] * 2, {"arch": {"0": {"t": "arm64"}, "1": {"t": "arm64"}}}),
        ("c", [{"cores": 2, "memory": 1}, {"cores": 16, "memory": 64}], {"arch": {"1": {"t": "amd64"}}}),
    ]
    for name, nodes, subs in specs:
        cluster_dir(tmp_path, name, nodes, subs)
    clusters = read_clusters(tmp_path)
    index = Index(clusters)
    jobs = [request(replicas=r, cores=c, memory=m, requires=q)
            for r in (1, 2, 4) for c in (None, 2, 8) for m in (None, 2, 16)
            for q in (None, [{"name": "arch", "field": "t", "match": "amd64"}])]
    for job in jobs:
        assert index.matches(job) == sorted(c.name for c in clusters if satisfies(c, job))
    assert {name for job in jobs for name in index.matches(job)} == {"a", "b", "c"}


def test_a_cluster_directory_without_nodes_json(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabError, match=r"empty: nodes\.json: is missing"):
        read_clusters(tmp_path)


def test_a_graph_without_the_cluster_vertex(tmp_path):
    directory = cluster_dir(tmp_path, "c", [{}], {})
    (directory / "nodes.json").write_text('{"graph": {"nodes": {"1": {"metadata": {"type": "node"}}},'
                                          ' "edges": [{"source": "1", "target": "1"}]}}')
    with pytest.raises(LabError, match=r'nodes\.json: graph\.nodes: has no vertex "0"'):
        read_cluster(directory)


def test_a_graph_without_edges(tmp_path):
    directory = cluster_dir(tmp_path, "c", [{}], {"go": {"0": {"version": "1.20"}}})
    bare = '{"graph": {"nodes": {"g": {"metadata": {"type": "go"}}}, "edges": []}}'
    (directory / "go-subsystem.json").write_text(bare)
    with pytest.raises(LabError, match=r"go-subsystem\.json: graph\.edges: has 0 entries; allowed: at least 1"):
        read_cluster(directory)


@pytest.mark.parametrize(("doc", "message"), [
    ({"version": 2, "resources": {}}, r"job\.yaml: version: 2 is not allowed; allowed: 1"),
    (jobspec(requires=[{"name": "go", "field": "version"}]),
     r"job\.yaml: resources\.app\.requires\[0\]: has neither match nor min/max"),
    (jobspec(requires=[{"name": "go", "field": "version", "min": 1.2}]),
     r"requires\[0\]\.min: 1\.2 is not text \(YAML read it as a number: quote it\)"),
    (jobspec(requires=[{"name": "go", "field": "version", "min": "new"}]),
     r"requires\[0\]\.min: 'new' is not a version bound"),
])
def test_a_bad_jobspec_names_the_file_and_path(doc, message):
    with pytest.raises(LabError, match=message):
        read_request(doc, "job.yaml")


def test_a_subsystem_edge_from_an_unknown_vertex_is_refused_as_rainbow_does(tmp_path):
    directory = cluster_dir(tmp_path, "c", [{}], {"go": {"0": {"version": "1.20"}}})
    (directory / "go-subsystem.json").write_text(
        '{"graph": {"nodes": {"go1": {"metadata": {"type": "go", "version": "1.20"}}},'
        ' "edges": [{"source": "999", "target": "go1", "relation": "contains"}]}}')
    with pytest.raises(LabError, match=r"go-subsystem\.json: graph\.edges\[0\]\.source: '999' is neither"):
        read_cluster(directory)


def test_reverse_in_edges_are_ignored_as_rainbow_does(tmp_path):
    # rainbow's own example subsystems carry "in" edges back to dominant vertices.
    directory = cluster_dir(tmp_path, "c", [{}], {"spack": {"0": {"version": "0.5.2"}}})
    graph = json.loads((directory / "spack-subsystem.json").read_text())
    graph["graph"]["edges"].append({"source": "spack1", "target": "2", "relation": "in"})
    (directory / "spack-subsystem.json").write_text(json.dumps(graph))
    job = request(requires=[{"name": "spack", "field": "version", "min": "0.5.1", "max": "0.5.5"}])
    assert satisfies(read_cluster(directory), job)


def test_a_feature_field_that_is_not_text_is_refused_as_rainbow_would_crash_on_it(tmp_path):
    # Real rainbow reads feature fields with GetStringElement: a number panics its server (seen on 075ee23).
    directory = cluster_dir(tmp_path, "c", [{}, {}], {"go": {"0": {"version": "1.21"}, "1": {"version": 1.21}}})
    with pytest.raises(LabError, match=r"go-subsystem\.json: graph\.nodes\.go2\.metadata\.version: 1\.21 is not "
                       r"text; allowed: text"):
        read_cluster(directory)


def test_fluxion_fields_of_a_subsystem_vertex_may_be_numbers(tmp_path):
    directory = cluster_dir(tmp_path, "c", [{}], {"go": {"0": {"version": "1.21", "size": 1, "rank": -1}}})
    assert [v.features for v in read_cluster(directory).of_type("node")][0]["go"][0]["size"] == 1


def test_the_index_agrees_with_the_reference_on_a_varied_synthetic_lab():
    # The benchmark's generator: one or two kinds of node per cluster, MPI and GPUs on some
    # nodes only, two items on one subsystem, nested counts of cores and memory.
    rng = random.Random(11)
    clusters = [synthetic_cluster(i, rng) for i in range(40)]
    jobs = [read_request(synthetic_jobspec(i, rng), f"{i}.yaml") for i in range(250)]
    index = Index(clusters)
    hits = 0
    for job in jobs:
        got = index.matches(job)
        assert got == sorted(c.name for c in clusters if satisfies(c, job))
        hits += len(got)
    assert 0 < hits < 40 * 250


@pytest.mark.parametrize(("doc", "message"), [
    ({"version": 1, "resources": {"my job": {"type": "node"}}}, r"resources\.my job: 'my job' is not a name"),
    (jobspec(replicas=0), r"resources\.app\.replicas: 0 is not allowed; allowed: a whole number >= 1"),
    ({"version": 1, "resources": {"app": {"type": "node", "replicas": "two"}}}, r"replicas: 'two' is not allowed"),
    ({"version": 1, "resources": {"app": "hello"}}, r"resources\.app: 'hello' is not a mapping"),
])
def test_bad_resources_are_named(doc, message):
    with pytest.raises(LabError, match=message):
        read_request(doc, "job.yaml")


def test_a_file_that_is_not_utf8(tmp_path):
    directory = cluster_dir(tmp_path, "c", [{}], {})
    (directory / "nodes.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(LabError, match=r"nodes\.json: is not UTF-8 text"):
        read_cluster(directory)


def test_a_rejection_lists_every_value_the_nodes_have(tmp_path):
    # Two kinds of node: the reason shows both, so a researcher sees how far off each is.
    cluster = read_cluster(cluster_dir(tmp_path, "mixed", [{"cores": 2}, {"cores": 4}],
                                       {"go": {"0": {"version": "1.9"}, "1": {"version": "1.19.2"}}}))
    assert explain(cluster, request(replicas=1, cores=8)) == (
        "needs core >= 8 per node on 1 node, nodes have 2/4 (0 qualify)")
    assert explain(cluster, request(requires=[{"name": "go", "field": "version", "min": "1.20"}])) == (
        "needs go version >= 1.20 on 1 node, found 1.19.2, 1.9 (0 qualify)")
