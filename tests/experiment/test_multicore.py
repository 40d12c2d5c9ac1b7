"""A lab with more than one core per node: a 2-core MiniCluster and a workload of 2 tasks per node.

The stacks' MiniClusters all have one core per node and every workload one task per node, so
nothing else checks that cores per node reach the metadata, the jobspec, the Flux command, the
pods' limits and the outcome model, and that the matcher and the model then agree.
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from compatlab.experiment.outcomes import outcome
from compatlab.formats.generate import generate
from compatlab.kube.minicluster import minicluster
from compatlab.lab.paths import JOBSPECS, STACKS
from compatlab.lab.stack import load_lab
from compatlab.scheduler.clusters import clusters_from_files
from compatlab.scheduler.match import satisfies
from compatlab.scheduler.request import read_request

TWO = "rocky9-amd64"  # given 2 cores per node below; the dev stack's other MiniClusters keep 1


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("multicore")
    workloads = root / "jobspecs"
    shutil.copytree(JOBSPECS, workloads, ignore=shutil.ignore_patterns("__*"))
    # "pair": hwloc's command on 2 nodes with 2 tasks (so 2 cores) on each.
    hwloc = (JOBSPECS / "hwloc.yaml").read_text()
    (workloads / "pair.yaml").write_text(hwloc.replace("workload: hwloc", "workload: pair")
                                         .replace("\nnodes: 1\n", "\nnodes: 2\ntasksPerNode: 2\n"))
    doc = yaml.safe_load((STACKS / "Pulumi.dev.yaml").read_text())
    for mc in doc["config"]["compatlab:miniclusters"]:
        if mc["name"] == TWO:
            mc["coresPerNode"] = 2
    doc["config"]["compatlab:workloads"] = ["pair", "hwloc"]
    stack = root / "Pulumi.multicore.yaml"
    stack.write_text(yaml.safe_dump(doc))
    return load_lab(str(stack), jobspecs=workloads)


def _workload(lab, name):
    return next(w for w in lab.workloads if w.name == name)


def test_the_model_runs_two_tasks_per_node_only_where_there_are_two_cores(lab):
    pair = _workload(lab, "pair")
    assert (pair.nodes, pair.tasks_per_node, pair.tasks) == (2, 2, 4)
    modes = {mc.name: outcome(pair, mc) for mc in lab.miniclusters}
    assert modes[TWO].ok
    others = [mc for mc in lab.miniclusters if mc.name != TWO]
    assert others and all(modes[mc.name].mode == "unsatisfiable" for mc in others)
    assert all(f"needs 2 cores per node, {mc.name} has 1" == modes[mc.name].detail for mc in others)


def test_the_metadata_jobspec_flux_command_and_pods_carry_the_cores(lab):
    files = generate(lab)
    nodes = {c.name: c.of_type("node") for c in clusters_from_files(files)}
    assert [v.counts["core"] for v in nodes[TWO]] == [2, 2]
    assert {v.counts["core"] for name, vs in nodes.items() if name != TWO for v in vs} == {1}
    spec = yaml.safe_load(files["jobspecs/counts/pair.yaml"])
    assert spec["resources"]["pair"]["with"] == [{"type": "core", "count": 2}]
    assert " -N 2 -n 4 " in files["jobspecs/counts/pair.flux.txt"].decode()
    for mc in lab.miniclusters:
        limits = minicluster(lab, mc)["spec"]["containers"][0]["resources"]["limits"]
        assert limits["cpu"] == mc.cores_per_node == (2 if mc.name == TWO else 1)


def test_from_the_counts_level_up_the_matcher_sends_the_job_exactly_where_the_model_runs_it(lab):
    files = generate(lab)
    clusters = clusters_from_files(files)
    runs = {mc.name for mc in lab.miniclusters if outcome(_workload(lab, "pair"), mc).ok}
    assert runs == {TWO}
    levels = [level.name for level in lab.levels]
    for level in levels:
        request = read_request(yaml.safe_load(files[f"jobspecs/{level}/pair.yaml"]), f"{level}/pair.yaml")
        matched = {c.name for c in clusters if satisfies(c, request)}
        if level == "none":
            assert matched == {c.name for c in clusters}  # no counts yet: the 1-core clusters are sent it too
        else:
            # Subsystem edges land on the 2-core nodes too (their ids shift with the cores), so every level matches.
            assert matched == runs, level
    assert len(levels) > 2
