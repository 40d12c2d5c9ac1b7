"""The outcome model: what really happens to each seed workload on each kind of MiniCluster."""

from __future__ import annotations

import pytest

from compatlab.experiment.outcomes import Outcome, outcome


@pytest.fixture(scope="module")
def fate(full_lab):
    workloads = {w.name: w for w in full_lab.workloads}
    clusters = {mc.name: mc for mc in full_lab.miniclusters}
    return lambda workload, cluster: outcome(workloads[workload], clusters[cluster])


@pytest.mark.parametrize(("workload", "cluster", "mode"), [
    ("salad", "rocky9-arm64", "exec-format-error"),  # the amd64 container on arm
    ("salad", "rocky8-amd64", "ok"),
    ("salad", "focal-amd64", "missing-software"),  # no singularity on ubuntu
    ("fractal", "go115-focal-amd64", "compile-error"),
    ("fractal", "focal-arm64", "ok"),  # built from source, any arch
    ("fractal", "twonode-focal-amd64", "unsatisfiable"),
    ("lammps", "lowmem-jammy-amd64", "oom-killed"),
    ("lammps", "rocky9-arm64", "missing-software"),  # no arm LAMMPS from pixi
    ("lammps", "focal-arm64", "ok"),
    ("ior", "tinydisk-jammy-amd64", "disk-full"),
    ("ior", "jammy-amd64", "ok"),
    ("ramble", "jammy-amd64", "ok"),
    ("ramble", "focal-amd64", "missing-software"),
    ("hwloc", "rocky9-arm64", "ok"),
])
def test_seed_scenarios(fate, workload, cluster, mode):
    assert fate(workload, cluster).mode == mode


def test_the_gpu_job_finds_no_gpu_on_every_cluster(full_lab, fate):
    # gpuburn has no binary of its own arch, so the device probe is what stops it, on every arch.
    assert {mc.name: fate("gpuburn", mc.name).mode for mc in full_lab.miniclusters} == {
        mc.name: "no-gpu" for mc in full_lab.miniclusters}
    assert fate("gpuburn", "rocky9-arm64").detail == "needs 1 GPU, rocky9-arm64 has 0"


def test_every_other_workload_runs_somewhere(full_lab, fate):
    for w in full_lab.workloads:
        if w.name != "gpuburn":
            assert any(fate(w.name, mc.name).ok for mc in full_lab.miniclusters), w.name


def test_a_failure_says_needed_and_found(fate):
    assert fate("fractal", "go115-focal-amd64").detail == "needs Go >= 1.20, has 1.15.15"


def _made(full_lab, cluster="jammy-amd64", **needs):
    """hwloc's workload with the given true needs, and a MiniCluster of the full stack."""
    from dataclasses import replace

    from compatlab.lab.model import Needs

    hwloc = next(w for w in full_lab.workloads if w.name == "hwloc")
    mc = next(m for m in full_lab.miniclusters if m.name == cluster)
    return replace(hwloc, needs=Needs(**needs)), mc


@pytest.mark.parametrize(("needs", "mode", "detail"), [
    ({"software": {"singularity": "3.0"}}, "missing-software", "needs singularity >= 3.0, has none"),
    ({"software": {"go": "1.21"}}, "missing-software", "needs go >= 1.21, has 1.20.14"),  # installed, too old
    ({"binary_arch": "arm64"}, "exec-format-error", "arm64 binary on amd64"),
    ({"go": "1.21"}, "compile-error", "needs Go >= 1.21, has 1.20.14"),
    ({"gpus": 1}, "no-gpu", "needs 1 GPU, jammy-amd64 has 0"),
    ({"memory_gb_per_node": 3}, "oom-killed", "needs 3 GB per node, limit 2 GB"),
    ({"disk_gb": 9}, "disk-full", "needs 9 GB of disk, jammy-amd64 has 8 GB"),
    ({"memory_gb_per_node": 2, "disk_gb": 8, "software": {"go": "1.20"}, "go": "1.20"}, "ok", ""),  # exactly enough
])
def test_each_failure_names_the_need_and_what_the_cluster_has(full_lab, needs, mode, detail):
    workload, mc = _made(full_lab, **needs)
    assert (mc.memory_gb, mc.disk_gb, mc.go_version) == (2, 8, "1.20.14")  # what the details below assume
    got = outcome(workload, mc)
    assert (got.mode, got.detail, got.ok) == (mode, detail, mode == "ok")



def test_too_many_nodes_says_how_many_the_cluster_has(full_lab):
    from dataclasses import replace

    workload, mc = _made(full_lab, cluster="twonode-focal-amd64")
    assert outcome(replace(workload, nodes=2), mc).ok
    assert outcome(replace(workload, nodes=3), mc) == Outcome("unsatisfiable",
                                                              "needs 3 nodes, twonode-focal-amd64 has 2")
