"""The vectorised index on the cases a lab's fixtures do not reach: a resource type no cluster has, counts met
exactly, other vertex types that hold the counts, and many requests at once (``fits_all``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from compatlab.scheduler.clusters import build_cluster, read_clusters
from compatlab.scheduler.index import Index
from compatlab.scheduler.match import satisfies
from compatlab.scheduler.request import read_request
from tests.graphs import cluster_dir, jobspec

GO = {"name": "go", "field": "version", "min": "1.20"}
MPI = {"name": "mpi", "field": "variant", "match": "openmpi"}
ARM = {"name": "arch", "field": "t", "match": "arm64"}


def request(**kw):
    return read_request(jobspec(**kw), "job.yaml")


@pytest.fixture
def clusters(tmp_path):
    # No memory vertex anywhere: the index has no memory column at all.
    cluster_dir(tmp_path, "one", [{"cores": 4}], {"go": {"0": {"version": "1.21"}}, "arch": {"0": {"t": "arm64"}}})
    cluster_dir(tmp_path, "two", [{"cores": 4}, {"cores": 2}],
                {"go": {"0": {"version": "1.19"}, "1": {"version": "1.22"}}, "mpi": {"0": {"variant": "openmpi"}}})
    cluster_dir(tmp_path, "wide", [{"cores": 8}] * 3, {"mpi": {str(i): {"variant": "openmpi"} for i in range(3)},
                                                       "go": {str(i): {"version": "1.20"} for i in range(3)},
                                                       "arch": {"0": {"t": "arm64"}, "1": {"t": "amd64"}}})
    return read_clusters(tmp_path)


JOBS = [
    dict(),
    dict(memory=1),  # a type no cluster registers: nowhere, never everywhere
    dict(cores=4), dict(cores=5), dict(replicas=2, cores=4), dict(replicas=3, cores=8), dict(replicas=4, cores=1),
    dict(requires=[GO]), dict(requires=[GO, MPI]), dict(requires=[GO, MPI, ARM]), dict(replicas=2, requires=[MPI]),
    dict(cores=8, requires=[GO, MPI]), dict(cores=16, requires=[GO]),
    dict(replicas=2, cores=4, requires=[GO, MPI, ARM]),
    dict(replicas=2, cores=3, requires=[GO]), dict(requires=[ARM]), dict(memory=1, requires=[GO]),
]


def test_each_answer_is_the_reference_one_by_one_and_all_at_once(clusters):
    index = Index(clusters)
    requests = [request(**job) for job in JOBS]
    expected = np.array([[satisfies(c, r) for c in clusters] for r in requests])
    got_one = np.array([index.fits(r) for r in requests])
    got_all = index.fits_all(requests)
    assert (got_one == expected).all() and (got_all == expected).all() and got_all.dtype == bool
    assert [index.matches(r) for r in requests[:7]] == [
        ["one", "two", "wide"], [], ["one", "two", "wide"], ["wide"], ["wide"], ["wide"], []]
    # The answers are not all alike, so the comparison above says something.
    assert 0 < expected.sum() < expected.size and len({tuple(row) for row in expected}) == 4


def test_a_node_slot_counts_nodes_only_though_sockets_and_the_rack_hold_the_same_cores(clusters):
    index = Index(clusters)
    two_nodes = request(replicas=2, cores=4)  # "one" has a single 4-core node (its socket, rack, cluster hold 4 too)
    assert not satisfies(clusters[0], two_nodes)
    assert index.fits_all([two_nodes])[0].tolist() == [False, False, True]
    assert index.fits(two_nodes).tolist() == [False, False, True]


def test_a_request_repeated_and_requirements_shared_across_requests(clusters):
    index = Index(clusters)
    shared = request(requires=[GO, MPI])
    many = [shared, request(cores=5), shared, request(requires=[MPI, GO]), request(requires=[ARM])]
    assert index.fits_all(many).tolist() == [index.fits(r).tolist() for r in many]
    assert index.fits_all([]).shape == (0, 3)


@pytest.mark.parametrize("kind", ["gpu", "memory"])  # neither is a vertex in these clusters
def test_a_slot_of_a_type_no_cluster_has_fits_nowhere(clusters, kind):
    docs = [jobspec(), jobspec(cores=1), jobspec(requires=[GO]), jobspec(cores=1, requires=[GO, MPI])]
    for doc in docs:
        doc["resources"]["app"]["type"] = kind
    requests = [read_request(doc, "job.yaml") for doc in docs] + [request(cores=4)]  # and one that fits
    expected = [[satisfies(c, r) for c in clusters] for r in requests]
    assert expected == [[False] * 3] * 4 + [[True] * 3]
    assert Index(clusters).fits_all(requests).tolist() == expected
    assert [Index(clusters).fits(r).tolist() for r in requests] == expected


def test_features_orjson_cannot_write_still_keep_unlike_nodes_apart(tmp_path):
    # Graphs parsed by Python's json (the embedded scheduler's store, a library caller) may hold an integer past
    # 64 bits, which orjson cannot write: the index groups such vertices by their string fields instead.
    big = 2**70
    directory = cluster_dir(tmp_path, "mixed", [{"cores": 2}, {"cores": 2}, {"cores": 4}],
                            {"arch": {"0": {"t": "arm64", "rank": big}, "1": {"t": "amd64", "rank": big},
                                      "2": {"t": "arm64", "rank": big}}})
    subsystems = {"arch": json.loads((directory / "arch-subsystem.json").read_text())}
    mixed = build_cluster("mixed", json.loads((directory / "nodes.json").read_text()), subsystems, "mixed")
    index = Index([mixed])
    arm = {"name": "arch", "field": "t", "match": "arm64"}
    requests = [request(replicas=2, requires=[arm]), request(replicas=3, requires=[arm]),
                request(replicas=2, cores=2, requires=[arm]), request(replicas=2, cores=4, requires=[arm])]
    expected = [[satisfies(mixed, r)] for r in requests]
    assert expected == [[True], [False], [True], [False]]
    assert index.fits_all(requests).tolist() == expected
    assert [index.fits(r).tolist() for r in requests] == expected
