"""The outcome model: what really happens to each seed workload on each kind of MiniCluster."""

from __future__ import annotations

import pytest

from compatlab.experiment.outcomes import outcome


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


def test_the_gpu_job_fails_everywhere(full_lab, fate):
    modes = {fate("gpuburn", mc.name).mode for mc in full_lab.miniclusters}
    assert modes <= {"no-gpu", "exec-format-error"} and "no-gpu" in modes


def test_every_other_workload_runs_somewhere(full_lab, fate):
    for w in full_lab.workloads:
        if w.name != "gpuburn":
            assert any(fate(w.name, mc.name).ok for mc in full_lab.miniclusters), w.name


def test_a_failure_says_needed_and_found(fate):
    assert fate("fractal", "go115-focal-amd64").detail == "needs Go >= 1.20, has 1.15.15"
