"""Clusters as rainbow holds them: a dominant graph plus subsystems, read from JGF.

Any registration directory works (``<dir>/<cluster>/nodes.json`` and
``<dir>/<cluster>/<subsystem>-subsystem.json``), not only what compatlab generates:
vertex types, subsystem names and fields are whatever the files say.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compatlab.errors import LabError, brief, unprintable
from compatlab.formats.validate import check_graph
from compatlab.inputs import load_json

SUFFIX = "-subsystem.json"
Features = Mapping[str, tuple[Mapping[str, object], ...]]


@dataclass(frozen=True)
class Vertex:
    """A dominant-graph vertex as a slot candidate: what it holds and what it is linked to.

    ``counts``: descendant type -> summed ``size`` (cores, GB of memory, ...);
    ``features``: subsystem -> the metadata of each feature vertex it contains.
    """

    id: str
    type: str
    counts: Mapping[str, int]  # descendant type -> summed size (cores, GB of memory, ...)
    features: Features  # subsystem -> metadata of the feature vertices it contains
    size: int = 1  # its own units (rainbow's walk subtracts it from a count of its type)
    children: tuple[str, ...] = ()  # the ids it contains, in edge order, each once (rainbow's walk order)


@dataclass(frozen=True)
class Cluster:
    """One registered cluster as rainbow holds it: its name, where it was read from, its searchable vertices.

    ``vertices`` are those reachable from the cluster vertex ``"0"`` by ``contains``
    edges, sorted by id, the cluster vertex included. ``type_counts`` counts every
    vertex of ``nodes.json`` by type, reachable or not (rainbow's ``ResourceCounts``,
    which its pre-check compares with ``replicas``).
    """

    name: str
    source: str
    vertices: tuple[Vertex, ...]
    type_counts: Mapping[str, int] = field(default_factory=dict)

    def vertex(self, vid: str) -> Vertex:
        """The reachable vertex with id ``vid`` (``KeyError`` if there is none)."""
        by_id: dict[str, Vertex] | None = self.__dict__.get("_by_id")
        if by_id is None:
            by_id = {v.id: v for v in self.vertices}
            object.__setattr__(self, "_by_id", by_id)  # a cache, not state: equality ignores it
        return by_id[vid]

    def of_type(self, kind: str) -> list[Vertex]:
        """The vertices of one type (e.g. every ``node``), in id order."""
        return [v for v in self.vertices if v.type == kind]

    def totals(self) -> dict[str, int]:
        """Whole-cluster sums of sizes by type (what real rainbow compares counts with)."""
        root = next(v for v in self.vertices if v.id == "0")
        return dict(root.counts)


def build_cluster(name: str, nodes: Mapping[str, Any], subsystems: Mapping[str, Mapping[str, Any]],
                  source: str) -> Cluster:
    """Compile parsed graphs into a ``Cluster``: per-vertex counts and features.

    ``nodes`` is the ``nodes.json`` document (JGF, as parsed: checked here), ``subsystems`` maps a subsystem name to
    its graph document, ``source`` names the cluster directory in errors. Raises
    ``LabError`` naming the file and edge for a graph rainbow would refuse.
    """
    check_graph(nodes, f"{source}/nodes.json", dominant=True)
    meta = {vid: v.get("metadata", {}) for vid, v in nodes["graph"]["nodes"].items()}
    children: dict[str, list[str]] = defaultdict(list)
    for edge in nodes["graph"]["edges"]:
        if edge.get("relation") == "contains":  # rainbow follows nothing else: no relation is no containment
            children[edge["source"]].append(edge["target"])

    linked: dict[str, dict[str, list[Mapping[str, object]]]] = defaultdict(lambda: defaultdict(list))
    for subsystem, graph in sorted(subsystems.items()):
        check_graph(graph, f"{source}/{subsystem}{SUFFIX}", dominant=False)
        features = graph["graph"]["nodes"]
        for i, edge in enumerate(graph["graph"]["edges"]):
            if edge.get("relation") != "contains" or edge["source"] in features:
                continue  # internal to the subsystem
            if edge["source"] not in meta:
                # rainbow refuses such a registration: the edge links nothing it knows.
                raise LabError(f"{source}/{subsystem}{SUFFIX}", f"graph.edges[{i}].source",
                               f"{brief(edge['source'])} is neither a vertex of this subsystem nor of nodes.json; "
                               "allowed: an id under either's graph.nodes")
            linked[edge["source"]][subsystem].append(features[edge["target"]].get("metadata", {}))

    # Only what hangs off the cluster vertex "0" by contains edges is searched.
    counts: dict[str, dict[str, int]] = {}
    order = _reachable(children, meta, f"{source}/nodes.json")
    if len(order) == 1:
        raise LabError(f"{source}/nodes.json", "graph.edges", 'has no "contains" edge from the cluster vertex "0", '
                       'so rainbow finds no resources in it; allowed: edges with "relation": "contains"')
    for vid in reversed(order):  # children before parents
        total: dict[str, int] = defaultdict(int)
        for child in children.get(vid, ()):
            if child in counts:
                kind = meta[child].get("type")
                total[kind] += int(meta[child].get("size", 1) or 0)
                for k, n in counts[child].items():
                    total[k] += n
        counts[vid] = dict(total)
    vertices = tuple(
        Vertex(vid, meta[vid].get("type", ""), counts[vid],
               {s: tuple(fs) for s, fs in sorted(linked.get(vid, {}).items())},
               _size(meta[vid].get("size", 1)), tuple(dict.fromkeys(c for c in children.get(vid, ()) if c in meta)))
        for vid in sorted(order, key=lambda i: (len(i), i))
    )
    return Cluster(name, source, vertices, dict(Counter(str(m.get("type", "")) for m in meta.values())))


def _size(value: object) -> int:
    # The schema admits whole numbers only; 0 is a size too (rainbow reads it as such).
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _reachable(children: dict[str, list[str]], meta: dict[str, Any], source: str) -> list[str]:
    """Vertices reachable from "0" by contains edges, parents before children; ``LabError`` on a cycle.

    Linear in vertices plus edges: each vertex's children are filtered once, when it is entered.
    """
    order: list[str] = ["0"]
    state: dict[str, int] = {"0": 1}  # 1: on the current path, 2: done
    stack: list[tuple[str, list[str], int]] = [("0", [c for c in children.get("0", ()) if c in meta], 0)]
    while stack:
        vid, kids, i = stack[-1]
        if i == len(kids):
            state[vid] = 2
            stack.pop()
            continue
        stack[-1] = (vid, kids, i + 1)
        child = kids[i]
        if state.get(child) == 1:
            raise LabError(source, "graph.edges", f"contains a cycle through {brief(vid)} -> {brief(child)}; "
                           "allowed: containment that is a tree (cluster -> node -> core)")
        if child not in state:
            state[child] = 1
            order.append(child)
            stack.append((child, [c for c in children.get(child, ()) if c in meta], 0))
    return order


def read_cluster(directory: Path) -> Cluster:
    """Read one registration directory (``nodes.json`` plus ``*-subsystem.json``) into a ``Cluster``.

    Raises ``LabError`` naming the file when ``nodes.json`` is missing or any file
    does not read, parse or pass ``check_graph``.
    """
    source = str(directory)
    bad = unprintable(directory.name)
    if bad:
        # The name is printed in tables and JSON and sent to rainbow: an escape sequence, a byte that is not
        # UTF-8, or a right-to-left override in it would reach a terminal or make --json invalid.
        raise LabError(source, "", f"the cluster name {brief(directory.name)} holds {bad}; allowed: printable "
                       "UTF-8 text")
    nodes_file = directory / "nodes.json"
    if not nodes_file.exists() and not nodes_file.is_symlink():
        raise LabError(source, "nodes.json", "is missing; allowed: a cluster directory holding nodes.json (its "
                       "dominant graph)")
    nodes = load_json(nodes_file, str(nodes_file))
    names = sorted(e.name for e in os.scandir(directory) if e.name.endswith(SUFFIX))  # as glob, without pathlib
    subsystems = {name[: -len(SUFFIX)]: load_json(f"{directory}/{name}") for name in names}
    return build_cluster(directory.name, nodes, subsystems, source)


def read_clusters(directory: Path) -> list[Cluster]:
    """Every ``<directory>/<cluster>/`` as a ``Cluster``, sorted by name (hidden directories skipped).

    Raises ``LabError`` when ``directory`` is not a directory or holds no clusters.
    """
    return [read_cluster(d) for d in cluster_dirs(directory)]


def cluster_dirs(directory: Path) -> list[Path]:
    """The cluster directories of a registration directory, sorted by name (hidden ones skipped).

    Raises ``LabError`` when ``directory`` is not a directory or holds no clusters.
    """
    if not directory.is_dir():
        raise LabError(directory, "", "is not a directory; allowed: a directory of clusters "
                       "(<dir>/<cluster>/nodes.json)")
    dirs = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not dirs:
        raise LabError(directory, "", "holds no cluster directories; allowed: a directory of clusters "
                       "(<dir>/<cluster>/nodes.json)")
    return dirs


def clusters_from_files(files: Mapping[str, bytes], prefix: str = "clusters/") -> list[Cluster]:
    """Clusters from the generator's in-memory output ``{relative path: bytes}`` (same layout as on disk)."""
    grouped: dict[str, dict[str, Any]] = defaultdict(dict)  # cluster -> file name -> its parsed JSON
    for rel, data in files.items():
        if rel.startswith(prefix):
            cluster, name = rel[len(prefix):].split("/", 1)
            grouped[cluster][name] = json.loads(data)
    return [
        build_cluster(name, parts["nodes.json"],
                      {n[: -len(SUFFIX)]: g for n, g in parts.items() if n.endswith(SUFFIX)},
                      f"{prefix}{name}")
        for name, parts in sorted(grouped.items())
    ]
