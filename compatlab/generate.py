"""The generator: a Lab in, rainbow registration metadata and jobspecs per level out."""

from __future__ import annotations

from .files import dump_json, dump_yaml
from .jobspecs import jobspec
from .metadata import nodes_graph, subsystem_graphs
from .model import Lab
from .validate import check_graph, check_jobspec


def cluster_files(lab: Lab) -> dict[str, bytes]:
    """clusters/<cluster>/nodes.json and clusters/<cluster>/<subsystem>-subsystem.json."""
    files: dict[str, bytes] = {}
    for mc in lab.miniclusters:
        base = f"clusters/{mc.name}"
        graph = nodes_graph(mc)
        check_graph(graph, f"{base}/nodes.json", dominant=True)
        files[f"{base}/nodes.json"] = dump_json(graph)
        for subsystem, sub in subsystem_graphs(mc).items():
            rel = f"{base}/{subsystem}-subsystem.json"
            check_graph(sub, rel, dominant=False)
            files[rel] = dump_json(sub)
    return files


def jobspec_files(lab: Lab) -> dict[str, bytes]:
    """jobspecs/<level>/<workload>.yaml for every level and workload."""
    files: dict[str, bytes] = {}
    for level in lab.levels:
        for workload in lab.workloads:
            rel = f"jobspecs/{level.name}/{workload.name}.yaml"
            doc = jobspec(workload, level)
            check_jobspec(doc, rel, one_item_per_subsystem=True)
            files[rel] = dump_yaml(doc)
    return files


def generate(lab: Lab) -> dict[str, bytes]:
    """Every output file, validated, in memory: nothing is written until all of it is good."""
    return {**cluster_files(lab), **jobspec_files(lab)}
