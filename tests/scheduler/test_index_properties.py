"""Property: the vectorised index answers exactly as the reference matcher, on generated labs and jobspecs.

Clusters are generated as registration graphs (JGF, as rainbow reads them) and read by
``build_cluster``; jobspecs as documents read by ``read_request``. So the generated
inputs are the ones the tools accept, and what varies is what the hand-made fixtures
never had: resource types missing from a whole cluster (no memory vertices), several
cores per node (directly or under sockets), subsystems on some nodes only, several
feature items per subsystem on one node, values that are odd versions or not versions.
"""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from compatlab.errors import LabError
from compatlab.lab import semver
from compatlab.scheduler.clusters import build_cluster
from compatlab.scheduler.index import Index
from compatlab.scheduler.match import satisfies
from compatlab.scheduler.request import read_request

# Values a cluster's feature may hold: releases, partial and prerelease versions, metadata, a leading v,
# uint64 overflow, leading zeros, wildcards (no version at all), and plain words.
VALUES = ["1.20", "1.20.14", "1.21.0-rc1", "1.21.0", "v1.22.3", "1.22", "2", "0.0.1", "1.2.3+build.5", "01.2",
          "1.2.3-01", "18446744073709551616.0", "1.x", "go1.20", "", "amd64", "arm64"]
# Bounds rainbow can parse (the jobspec check refuses the others before matching).
BOUNDS = [b for b in ["1.20", "1.20.0", "1.21", "v1.22", "1.x", "1.20.x", "*", "2", "1.21.0-rc0", "0.0", " 1.22",
                      "1.22, <1.22.3", "1.0 - 1.20"] if semver.check_bound(b) is None]
SUBSYSTEMS = ["arch", "go", "mpi"]
FIELDS = ["version", "t"]

features = st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(VALUES), max_size=2)
# node -> subsystem -> the feature items it links to (none, one or several)
node_links = st.dictionaries(st.sampled_from(SUBSYSTEMS[:2]), st.lists(features, min_size=1, max_size=3), max_size=2)
node = st.fixed_dictionaries({"cores": st.integers(0, 6), "sockets": st.integers(0, 2), "memory": st.integers(1, 8),
                              "gpus": st.integers(0, 2), "links": node_links})
# A cluster's kinds of child vertex: any may be missing from all of its nodes. Its nodes come in kinds of
# one to three alike nodes, as real pools do (the index folds alike vertices into one row with a multiplicity).
cluster_spec = st.fixed_dictionaries({
    "kinds": st.sets(st.sampled_from(["core", "memory", "gpu"])),
    "nodes": st.lists(st.tuples(node, st.integers(1, 3)), min_size=1, max_size=3).map(
        lambda kinds: [n for n, alike in kinds for _ in range(alike)]),
})


def _graphs(spec: dict) -> tuple[dict, dict[str, dict]]:
    """nodes.json and the subsystem graphs of one generated cluster (vertex "0" contains the nodes)."""
    vertices: dict[str, dict] = {"0": {"metadata": {"type": "cluster", "size": 1}}}
    edges: list[dict] = []
    subsystems: dict[str, dict] = {}
    ids = iter(range(1, 10_000))

    def add(parent: str, kind: str, size: int = 1) -> str:
        vid = str(next(ids))
        vertices[vid] = {"metadata": {"type": kind, "size": size}}
        edges.append({"source": parent, "target": vid, "relation": "contains"})
        return vid

    for n in spec["nodes"]:
        nid = add("0", "node")
        if "core" in spec["kinds"]:
            # Cores hang off sockets when there are any (fluxion's shape), else off the node itself.
            parents = [add(nid, "socket") for _ in range(n["sockets"])] or [nid]
            for i in range(n["cores"]):
                add(parents[i % len(parents)], "core")
        if "memory" in spec["kinds"]:
            add(nid, "memory", n["memory"])
        if "gpu" in spec["kinds"]:
            for _ in range(n["gpus"]):
                add(nid, "gpu")
        for subsystem, items in n["links"].items():
            graph = subsystems.setdefault(subsystem, {"graph": {"nodes": {f"{subsystem}0": {
                "metadata": {"type": subsystem}}}, "edges": []}})
            for fields in items:
                fid = f"{subsystem}{len(graph['graph']['nodes'])}"
                graph["graph"]["nodes"][fid] = {"metadata": {"type": "feature", **fields}}
                graph["graph"]["edges"].append({"source": nid, "target": fid, "relation": "contains"})
    return {"graph": {"nodes": vertices, "edges": edges}}, subsystems


requirement = st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(SUBSYSTEMS), "field": st.sampled_from(FIELDS),
                           "match": st.sampled_from(VALUES[:-3] + ["amd64", "arm64"])}),
    st.fixed_dictionaries({"name": st.sampled_from(SUBSYSTEMS), "field": st.sampled_from(FIELDS)},
                          optional={"min": st.sampled_from(BOUNDS), "max": st.sampled_from(BOUNDS)}),
)
children = st.lists(st.one_of(
    st.builds(lambda n: {"type": "core", "count": n}, st.integers(1, 6)),
    st.builds(lambda s, n: {"type": "socket", "count": s, "with": [{"type": "core", "count": n}]},
              st.integers(1, 2), st.integers(1, 3)),
    st.builds(lambda n: {"type": "memory", "count": n}, st.integers(1, 8)),
    st.builds(lambda n: {"type": "gpu", "count": n}, st.integers(1, 2)),
), max_size=3)
slot = st.builds(lambda kind, replicas, with_, requires: {"type": kind, "replicas": replicas,
                                                           **({"with": with_} if with_ else {}),
                                                           **({"requires": requires} if requires else {})},
                 st.sampled_from(["node", "node", "socket"]), st.integers(1, 4), children,
                 st.lists(requirement, max_size=3))
jobspec = st.builds(lambda slots: {"version": 1, "resources": {f"s{i}": s for i, s in enumerate(slots)},
                                   "tasks": [{"command": ["app"], "resources": "s0"}]},
                    st.lists(slot, min_size=1, max_size=2))


@given(st.lists(cluster_spec, min_size=1, max_size=4), st.lists(jobspec, min_size=1, max_size=6))
def test_the_index_equals_the_reference_on_every_pair(specs, docs):
    clusters = [build_cluster(f"c{i}", *_graphs(spec), f"c{i}") for i, spec in enumerate(specs)]
    requests = []
    for i, doc in enumerate(docs):
        try:
            requests.append(read_request(doc, f"{i}.yaml"))
        except LabError:
            continue  # e.g. a min above its max: refused before any matching, as the CLI does
    assume(requests)
    index = Index(clusters)
    expected = [[satisfies(c, request) for c in clusters] for request in requests]
    for request, row in zip(requests, expected, strict=True):
        assert list(index.fits(request)) == row, request
    # All at once (jobspecs of one and two slots: each slot's answer must reach its own request's row).
    together = index.fits_all(requests)
    assert together.dtype == bool and together.tolist() == expected


def test_the_generated_labs_hit_both_answers_and_the_cases_that_matter():
    # The property above is only as good as its inputs: check the generator reaches matches and misses,
    # clusters without memory vertices, and nodes with several cores.
    seen = {"match": 0, "miss": 0, "no-memory": 0, "multi-core": 0}

    @given(cluster_spec, jobspec)
    def sample(spec, doc):
        cluster = build_cluster("c", *_graphs(spec), "c")
        nodes = cluster.of_type("node")
        seen["no-memory"] += all("memory" not in v.counts for v in nodes)
        seen["multi-core"] += any(v.counts.get("core", 0) > 1 for v in nodes)
        try:
            request = read_request(doc, "x.yaml")
        except LabError:
            return
        seen["match" if satisfies(cluster, request) else "miss"] += 1

    sample()
    assert all(n > 0 for n in seen.values()), seen
