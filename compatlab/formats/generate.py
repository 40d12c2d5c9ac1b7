"""The generator: a Lab in, rainbow registration metadata and jobspecs per level out."""

from __future__ import annotations

from compatlab.files import dump_json
from compatlab.lab.model import Lab

from .flux import flux_text
from .graphs import nodes_graph, subsystem_graphs
from .jobspecs import jobspec, jobspec_yaml
from .validate import check_graph, check_jobspec


def cluster_files(lab: Lab) -> dict[str, bytes]:
    """Every MiniCluster's registration as ``{relative path: bytes}``.

    Paths are ``clusters/<cluster>/nodes.json`` and ``clusters/<cluster>/<subsystem>-subsystem.json``.

    Each graph is checked against ``schemas/jgf.schema.json`` and rainbow's rules
    first; raises ``LabError`` naming the file if one is not (a generator bug).
    """
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
    """Every level's jobspecs and their Flux commands: ``jobspecs/<level>/<workload>.yaml`` and ``.flux.txt``.

    Each jobspec is checked against the ``jobspec`` package's nextgen schema with at
    most one ``requires`` item per subsystem (real rainbow keeps only the last); the
    ``.flux.txt`` beside it is the ``flux submit`` line the jobspec library's Flux
    transformer writes for it (``formats.flux.flux_text``), so a reviewer sees what
    will run before anything is submitted. Raises ``LabError`` (a bad jobspec) or
    ``ValueError`` (the library cannot turn it into a command).
    """
    files: dict[str, bytes] = {}
    for level in lab.levels:
        for workload in lab.workloads:
            rel = f"jobspecs/{level.name}/{workload.name}"
            doc = jobspec(workload, level)
            check_jobspec(doc, f"{rel}.yaml", one_item_per_subsystem=True)
            files[f"{rel}.yaml"] = jobspec_yaml(doc).encode()  # storable by real rainbow, or LabError
            files[f"{rel}.flux.txt"] = flux_text(doc).encode()
    return files


def generate(lab: Lab) -> dict[str, bytes]:
    """Every output file of ``compatlab generate``, validated, in memory: ``{relative path: bytes}``.

    Nothing is written until all of it is good. Raises ``LabError``.
    """
    return {**cluster_files(lab), **jobspec_files(lab)}
