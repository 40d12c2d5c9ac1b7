"""Every jobspec's task shape, as the jobspec library's own Flux transformer turns it into a command."""

from __future__ import annotations

import shlex

import pytest
import yaml

from compatlab.formats.flux import EXECUTOR_CHANGES, flux_commands, option
from compatlab.formats.generate import generate
from compatlab.formats.jobspecs import RUN
from compatlab.scheduler.request import read_request


@pytest.fixture(scope="module")
def full_files(full_lab):
    return generate(full_lab)


def pairs(lab):
    return [(level, workload) for level in lab.levels for workload in lab.workloads]


def test_the_flux_line_has_the_workloads_nodes_and_tasks_at_every_level(full_lab, full_files):
    for level, workload in pairs(full_lab):
        doc = yaml.safe_load(full_files[f"jobspecs/{level.name}/{workload.name}.yaml"])
        [argv] = flux_commands(doc)
        nodes, tasks = int(option(argv, "-N")), int(option(argv, "-n"))
        where = f"{level.name}/{workload.name}: {argv[:8]}"
        # Never fewer tasks than nodes: flux submit refuses that (measured on flux-core 0.88).
        assert (nodes, tasks) == (workload.nodes, workload.tasks) and tasks >= nodes, where
        assert argv[-len(workload.command):] == list(workload.command), where


def test_the_fractal_runs_one_task_per_node_with_a_leader_and_workers(full_lab, full_files):
    fractal = next(w for w in full_lab.workloads if w.name == "fractal")
    script = fractal.command[-1]
    for level in full_lab.levels:
        [argv] = flux_commands(yaml.safe_load(full_files[f"jobspecs/{level.name}/fractal.yaml"]))
        assert argv[argv.index("-N"):argv.index("-N") + 4] == ["-N", "4", "-n", "4"], level.name
    # Task 0 leads and starts the rendering; every other task is a worker that finds the leader by the
    # MiniCluster's own service name, where the operator's headless service names the lead broker's pod.
    assert "FLUX_TASK_RANK" in script and "fractal worker --host ${CLUSTER_NAME}-0.flux-service:50051" in script
    assert "leader --host 0.0.0.0:50051 --force-exit" in script and "localhost:9092/start" in script


def test_rainbow_sees_the_slot_grow_while_flux_gets_the_same_command(full_lab, full_files):
    fractal = next(w for w in full_lab.workloads if w.name == "fractal")
    lines = set()
    for level in full_lab.levels:
        rel = f"jobspecs/{level.name}/fractal.yaml"
        doc = yaml.safe_load(full_files[rel])
        [slot] = read_request(doc, rel).slots  # `run` is not a slot: rainbow passes over it
        assert slot.replicas == (fractal.nodes if "counts" in level.facets else 1), level.name
        assert doc["tasks"][0]["resources"] == RUN
        lines.add(shlex.join(flux_commands(doc)[0]))
    assert len(lines) == 1


def test_a_flux_txt_beside_every_jobspec_says_the_exact_line(full_lab, full_files):
    for level, workload in pairs(full_lab):
        rel = f"jobspecs/{level.name}/{workload.name}"
        text = full_files[f"{rel}.flux.txt"].decode()
        [argv] = flux_commands(yaml.safe_load(full_files[f"{rel}.yaml"]))
        header, _, rest = text.partition("\n")
        body, _, changes = rest.partition("# compatlab's flux executor then adds:\n")
        assert header.startswith("# The jobspec library's Flux transformer") and changes, rel
        assert shlex.split(body) == argv, rel  # a shell reads back exactly the transformer's argv
        assert all(change in text for change in EXECUTOR_CHANGES)


def test_a_jobspec_without_replicas_still_makes_each_resource_a_slot():
    doc = {"version": 1, "resources": {"a": {"type": "node", "count": 2}, "b": {"type": "core", "count": 3}},
           "tasks": [{"command": ["true"], "resources": "a"}]}
    slots = read_request(doc, "j.yaml").slots
    assert [(s.type, s.replicas) for s in slots] == [("node", 2), ("core", 3)]
