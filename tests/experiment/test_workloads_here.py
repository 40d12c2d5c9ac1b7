"""The workloads' own commands, run for real on this machine by the local executor, and classified.

What runs depends on what this machine has (CI installs Debian's hwloc-nox and golang-go:
see .ci/run); whatever it lacks is skipped with the reason. The classifier is tested on
the exit codes and messages real tools print, not on strings written into the tests.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from compatlab.experiment.executors import LocalExecutor
from compatlab.experiment.observe import classify
from compatlab.experiment.records import JobName
from compatlab.formats.generate import generate
from compatlab.lab.catalogue import commands

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def jobspecs(full_lab):
    """The full stack's most descriptive jobspec of each workload, as the receiver gets it (YAML)."""
    files = generate(full_lab)
    top = full_lab.levels[-1].name
    return {w.name: files[f"jobspecs/{top}/{w.name}.yaml"].decode() for w in full_lab.workloads}


@pytest.fixture(scope="module")
def workloads(full_lab):
    return {w.name: w for w in full_lab.workloads}


def run(jobspec: str, workload: str, cwd: Path, timeout_s: float = 300.0):
    return LocalExecutor(timeout_s=timeout_s, cwd=str(cwd)).execute("here", JobName("0123abcd", "gpu", workload, 0),
                                                                    jobspec)


def with_ulimit(jobspec: str, kbytes: int) -> str:
    """The same job under a virtual-memory ulimit, as a cgroup-free stand-in for a pod's memory limit."""
    doc = yaml.safe_load(jobspec)
    command = doc["tasks"][0]["command"]
    doc["tasks"][0]["command"] = ["/bin/bash", "-c", f"ulimit -v {kbytes}; exec \"$@\"", "ulimit", *command]
    return yaml.safe_dump(doc)


def missing_here(workload) -> list[str]:
    return [commands()[p] for p in workload.needs.software if shutil.which(commands()[p]) is None]


@pytest.mark.parametrize("name", ["ior", "lammps", "salad", "ramble", "hwloc"])
def test_a_workload_whose_software_is_not_here_is_missing_software(name, jobspecs, workloads, tmp_path):
    missing = missing_here(workloads[name])
    if not missing:
        pytest.skip(f"{name}'s software is installed here")
    done = run(jobspecs[name], name, tmp_path)
    assert (done.outcome, done.exit_code) == ("missing-software", 127), done
    # Here Python's exec or the script says it; in the lab Flux's exec or the script does (the documented message).
    assert missing[0] in done.evidence and missing[0] in workloads[name].evidence["missing-software"].message


@pytest.mark.skipif(shutil.which("lstopo") is None, reason="no lstopo here (Debian: apt-get install hwloc-nox)")
def test_hwloc_runs_and_runs_again_on_the_same_node(jobspecs, tmp_path):
    first, again = run(jobspecs["hwloc"], "hwloc", tmp_path), run(jobspecs["hwloc"], "hwloc", tmp_path)
    assert first.outcome == "ok" and again.outcome == "ok", (first, again)
    assert b"<topology" in Path("/tmp/topology.xml").read_bytes()[:4096]


@pytest.mark.skipif(Path("/dev/nvidia0").exists(), reason="this machine has a GPU")
def test_the_gpu_job_stops_at_its_probe_with_the_documented_message(jobspecs, workloads, tmp_path):
    done = run(jobspecs["gpuburn"], "gpuburn", tmp_path)
    said = workloads["gpuburn"].evidence["no-gpu"]
    assert (done.outcome, done.exit_code) == ("no-gpu", said.exit_code), done
    assert done.evidence.startswith(said.message)


def go_version() -> tuple[int, int] | None:
    if shutil.which("go") is None:
        return None
    found = re.search(r"go(\d+)\.(\d+)", subprocess.run(["go", "version"], capture_output=True, text=True).stdout)
    return (int(found[1]), int(found[2])) if found else None


@pytest.mark.skipif(go_version() is None, reason="no Go here (Debian: apt-get install golang-go)")
def test_the_fractal_build_fails_on_a_go_older_than_its_module(jobspecs, workloads, tmp_path, monkeypatch):
    if go_version() >= (1, 20):
        pytest.skip(f"this machine's Go {go_version()} builds a Go 1.20 module; the failure needs an older Go")
    # The workload's own script, building a module that needs Go 1.20 as distributed-fractal does.
    monkeypatch.setenv("COMPATLAB_FRACTAL_SRC", str(FIXTURES / "fractal-go120"))
    monkeypatch.setenv("HOME", str(tmp_path))
    done = run(jobspecs["fractal"], "fractal", tmp_path)
    said = workloads["fractal"].evidence["compile-error"]
    # The fixture imports crypto/ecdh (Go 1.20) where the fractal imports runtime/metrics (Go 1.16): same failure.
    assert (done.outcome, done.exit_code) == ("compile-error", said.exit_code), done
    assert "package crypto/ecdh is not in GOROOT" in done.evidence


@pytest.mark.skipif(go_version() is None, reason="no Go here to build a binary for the other arch")
def test_a_binary_for_the_other_arch_is_an_exec_format_error(tmp_path):
    other = "arm64" if platform.machine() in ("x86_64", "AMD64") else "amd64"
    if any(p.name.startswith("qemu-") for p in Path("/proc/sys/fs/binfmt_misc").glob("qemu-*")):
        pytest.skip("binfmt_misc runs foreign binaries here through QEMU")
    (tmp_path / "main.go").write_text('package main\n\nfunc main() { println("hi") }\n')
    binary = tmp_path / "hello"
    env = {**os.environ, "GOARCH": other, "GOCACHE": str(tmp_path / "cache"), "GO111MODULE": "off"}
    subprocess.run(["go", "build", "-o", str(binary), str(tmp_path / "main.go")], check=True, env=env,
                   capture_output=True)
    job = yaml.safe_dump({"version": 1, "resources": {"salad": {"type": "node", "replicas": 1}},
                          "tasks": [{"command": [str(binary)], "resources": "salad"}]})
    done = run(job, "salad", tmp_path)
    assert done.outcome == "exec-format-error" and done.exit_code == 126, done
    through_bash = run(job.replace(str(binary), f"/bin/bash\n  - -c\n  - {binary}"), "salad", tmp_path)
    assert through_bash.outcome == "exec-format-error" and through_bash.exit_code == 126, through_bash


def lammps_here(tmp_path: Path, monkeypatch) -> None:
    """A stand-in ``lmp`` (LAMMPS is not installed here) so the lammps script gets past its check to its memory step."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "lmp").write_text("#!/bin/sh\necho 'Total wall time: 0:00:01'\n")
    (bin_dir / "lmp").chmod(0o755)
    (tmp_path / "HNS").mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("COMPATLAB_LAMMPS_INPUTS", str(tmp_path / "HNS"))


def test_the_lammps_memory_step_fails_under_1_gb(jobspecs, workloads, tmp_path, monkeypatch):
    lammps_here(tmp_path, monkeypatch)
    done = run(with_ulimit(jobspecs["lammps"], 1_000_000), "lammps", tmp_path)
    assert done.outcome == "oom-killed" and "memory exhausted" in done.evidence, done
    assert workloads["lammps"].needs.memory_gb_per_node == 2


def test_the_lammps_memory_step_fits_in_the_2_gb_it_declares(jobspecs, tmp_path, monkeypatch):
    lammps_here(tmp_path, monkeypatch)
    done = run(with_ulimit(jobspecs["lammps"], 2_000_000), "lammps", tmp_path)
    assert done.outcome == "ok" and "Total wall time" in "\n".join(done.output_tail), done


def test_a_full_small_disk_says_no_space_left(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 16 MB tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        job = yaml.safe_dump({"version": 1, "resources": {"ior": {"type": "node", "replicas": 1}}, "tasks": [
            {"command": ["/bin/bash", "-c", f"head -c 64MB /dev/zero > {disk}/testfile"], "resources": "ior"}]})
        done = run(job, "ior", tmp_path)
        assert done.outcome == "disk-full" and done.exit_code == 1, done
        assert classify(done.exit_code, done.evidence).outcome == "disk-full"
    finally:
        subprocess.run(["umount", str(disk)], check=False)
