"""Hand-made rainbow registrations, written the way other tools (not compatlab) write them."""

from __future__ import annotations

import json
from pathlib import Path


def cluster_dir(root: Path, name: str, nodes: list[dict], subsystems: dict[str, dict[str, dict]]) -> Path:
    """Write <root>/<name>/nodes.json and <subsystem>-subsystem.json.

    ``nodes``: one dict per node: {"cores": n, "memory": gb}. ``subsystems``:
    subsystem -> {node index as str -> metadata fields of the feature it links to}.
    Vertex ids follow fluxion's style (rack, socket levels included).
    """
    vertices = {"0": {"label": "0", "metadata": {"type": "cluster", "size": 1, "name": f"{name}0"}},
                "1": {"label": "1", "metadata": {"type": "rack", "size": 1}}}
    edges = [{"source": "0", "target": "1", "relation": "contains"},
             {"source": "1", "target": "0", "relation": "in"}]
    node_ids, next_id = [], 2
    for spec in nodes:
        nid, sid = str(next_id), str(next_id + 1)
        node_ids.append(nid)
        vertices[nid] = {"label": nid, "metadata": {"type": "node", "size": 1}}
        vertices[sid] = {"label": sid, "metadata": {"type": "socket", "size": 1}}
        edges += [{"source": "1", "target": nid, "relation": "contains"},
                  {"source": nid, "target": sid, "relation": "contains"}]
        next_id += 2
        for _ in range(spec.get("cores", 4)):
            vertices[str(next_id)] = {"label": str(next_id), "metadata": {"type": "core", "size": 1}}
            edges.append({"source": sid, "target": str(next_id), "relation": "contains"})
            next_id += 1
        if "memory" in spec:
            vertices[str(next_id)] = {"label": str(next_id), "metadata": {"type": "memory", "size": spec["memory"]}}
            edges.append({"source": nid, "target": str(next_id), "relation": "contains"})
            next_id += 1
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "nodes.json").write_text(json.dumps({"graph": {"nodes": vertices, "edges": edges}}))
    for subsystem, links in subsystems.items():
        sub_vertices = {f"{subsystem}0": {"label": f"{subsystem}0", "metadata": {"type": subsystem}}}
        sub_edges = []
        for index, fields in links.items():
            fid = f"{subsystem}{int(index) + 1}"
            sub_vertices[fid] = {"label": fid, "metadata": {"type": "feature", **fields}}
            sub_edges.append({"source": node_ids[int(index)], "target": fid, "relation": "contains"})
        (directory / f"{subsystem}-subsystem.json").write_text(
            json.dumps({"graph": {"nodes": sub_vertices, "edges": sub_edges}}))
    return directory


def jobspec(replicas: int = 1, cores: int | None = None, memory: int | None = None,
            requires: list[dict] | None = None) -> dict:
    slot: dict = {"type": "node", "replicas": replicas}
    with_ = ([{"type": "core", "count": cores}] if cores else []) + (
        [{"type": "memory", "count": memory}] if memory else [])
    if with_:
        slot["with"] = with_
    if requires:
        slot["requires"] = requires
    return {"version": 1, "resources": {"app": slot}, "tasks": [{"command": ["app"], "resources": "app"}]}
