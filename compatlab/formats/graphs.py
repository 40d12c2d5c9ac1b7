"""A MiniCluster's rainbow registration: the dominant graph and its subsystems (JGF).

The graph is true to the cluster: one node vertex per MiniCluster pod, holding
``cores_per_node`` core vertices and one memory vertex sized in GB; subsystem
feature vertices say the pool's arch, the image's OS and software, the disk
limit, and that there is no GPU. Every field value used for matching is a string.
"""

from __future__ import annotations

from typing import Literal, TypedDict, cast

from compatlab.lab.model import MiniCluster

from . import vocabulary as v


class Paths(TypedDict):
    """A vertex's paths: ``containment``, its place in the containment tree (``/cluster0/node0/core1``)."""

    containment: str


class VertexMetadata(TypedDict):
    """A JGF vertex's ``metadata`` as compatlab writes it (Fluxion's fields).

    A feature vertex also carries its subsystem's fields (``cpu.target``,
    ``version``...), each a string, as further keys: a TypedDict is open to them.
    """

    type: str
    basename: str
    name: str
    id: int
    uniq_id: int
    size: int
    exclusive: bool
    rank: int
    unit: str
    paths: Paths


class Vertex(TypedDict):
    """A JGF vertex: its id (``label``, also its key in ``graph.nodes``) and its metadata."""

    label: str
    metadata: VertexMetadata


class Edge(TypedDict):
    """A JGF edge; compatlab writes ``contains`` edges only, since rainbow follows no other."""

    source: str
    target: str
    relation: Literal["contains"]


class GraphBody(TypedDict):
    """A JGF ``graph``: vertices by id, and edges."""

    directed: bool
    nodes: dict[str, Vertex]
    edges: list[Edge]


class Graph(TypedDict):
    """A JGF document: ``nodes.json`` or one ``<subsystem>-subsystem.json`` of a registration."""

    graph: GraphBody


def _vertex(vid: str, kind: str, name: str, path: str, size: int = 1, fields: dict[str, str] | None = None) -> Vertex:
    metadata: VertexMetadata = {
        "type": kind,
        "basename": kind,
        "name": name,
        "id": int(vid) if vid.isdigit() else 0,
        "uniq_id": int(vid) if vid.isdigit() else 0,
        "size": size,
        "exclusive": False,
        "rank": -1,
        "unit": "GB" if kind == v.MEMORY else "",
        "paths": {"containment": path},
    }
    if fields:  # a feature's fields follow Fluxion's, in the vertex's metadata
        metadata = cast(VertexMetadata, {**metadata, **fields})
    return {"label": vid, "metadata": metadata}


def _contains(source: str, target: str) -> Edge:
    return {"source": source, "target": target, "relation": "contains"}


def node_ids(mc: MiniCluster) -> list[str]:
    """The dominant-graph ids of the cluster's ``size`` node vertices, in order (strings, as JGF keys)."""
    per_node = 1 + mc.cores_per_node + 1  # the node, its cores, its memory
    return [str(1 + i * per_node) for i in range(mc.size)]


def nodes_graph(mc: MiniCluster) -> Graph:
    """``nodes.json`` for one MiniCluster, a JGF dict: cluster ``"0"`` -> node -> cores and memory.

    One node vertex per pod, each containing ``cores_per_node`` core vertices (size 1)
    and one memory vertex whose ``size`` is the pod's memory limit in GB. Only
    ``contains`` edges, since rainbow follows no other (rainbow's memory graph, DESIGN.md "Formats").
    """
    root = f"/{mc.name}0"
    vertices = {"0": _vertex("0", v.CLUSTER, f"{mc.name}0", root)}
    edges: list[Edge] = []
    for i, nid in enumerate(node_ids(mc)):
        node_path = f"{root}/node{i}"
        vertices[nid] = _vertex(nid, v.NODE, f"node{i}", node_path)
        edges.append(_contains("0", nid))
        next_id = int(nid) + 1
        for c in range(mc.cores_per_node):
            cid = str(next_id + c)
            vertices[cid] = _vertex(cid, v.CORE, f"core{c}", f"{node_path}/core{c}")
            edges.append(_contains(nid, cid))
        mid = str(next_id + mc.cores_per_node)
        vertices[mid] = _vertex(mid, v.MEMORY, "memory0", f"{node_path}/memory0", size=mc.memory_gb)
        edges.append(_contains(nid, mid))
    return {"graph": {"directed": True, "nodes": vertices, "edges": edges}}


def _subsystem(mc: MiniCluster, subsystem: str, feature: str, fields: dict[str, str]) -> Graph:
    """A root vertex plus one feature vertex that every node contains."""
    root_id, feature_id = f"{subsystem}0", f"{subsystem}1"
    vertices = {
        root_id: _vertex(root_id, subsystem, f"{subsystem}0", f"/{subsystem}0"),
        feature_id: _vertex(feature_id, feature, f"{feature}0", f"/{subsystem}0/{feature}0", fields=fields),
    }
    edges = [_contains(root_id, feature_id)] + [_contains(n, feature_id) for n in node_ids(mc)]
    return {"graph": {"directed": True, "nodes": vertices, "edges": edges}}


def subsystem_graphs(mc: MiniCluster) -> dict[str, Graph]:
    """Subsystem name -> its JGF dict, for every subsystem this cluster registers.

    ``archspec`` (``cpu.target``), ``os`` (``os.id``, ``os.vendor``, ``os.release``),
    ``storage`` (``local.gb``, the disk limit in GB), ``gpu`` (``gpu.count``) and one
    ``software-<package>`` (``version``) per installed package. Every node vertex
    contains every feature vertex; every value is a string, as rainbow compares strings.
    """
    graphs = {
        v.ARCH[0]: _subsystem(mc, v.ARCH[0], "cpu", {v.ARCH[1]: mc.arch}),
        v.OS[0]: _subsystem(mc, v.OS[0], "distribution", {
            v.OS[1]: f"{mc.base.os_vendor}-{mc.base.os_release}",
            "os.vendor": mc.base.os_vendor,
            "os.release": mc.base.os_release,
        }),
        v.STORAGE[0]: _subsystem(mc, v.STORAGE[0], "disk", {v.STORAGE[1]: str(mc.disk_gb)}),
        v.GPU[0]: _subsystem(mc, v.GPU[0], "device", {v.GPU[1]: str(mc.gpus)}),
    }
    for package, version in sorted(mc.software.items()):
        subsystem, field = v.software(package)
        graphs[subsystem] = _subsystem(mc, subsystem, "package", {field: version, "package": package})
    return dict(sorted(graphs.items()))
