"""Observed outcomes: real exit codes and messages classified into the model's modes, and nothing forced."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
import yaml

from compatlab.experiment.executors import LocalExecutor, SimulatedExecutor, task_command
from compatlab.experiment.observe import OTHER, classify
from compatlab.experiment.records import JobName

NAME = JobName("abcdef01", "none", "probe", 0)


@pytest.mark.parametrize(("code", "output", "mode"), [
    (0, "all good", "ok"),
    (1, "bash: line 1: /tmp/fractal/bin/fractal: cannot execute binary file: Exec format error", "exec-format-error"),
    (1, "go: go.mod requires go >= 1.20 (running go 1.15.15; GOTOOLCHAIN=local)", "compile-error"),
    (1, "note: module requires Go 1.20", "compile-error"),
    (127, "bash: line 1: singularity: command not found", "missing-software"),
    (127, "lmp: error while loading shared libraries: libmpi.so.40: cannot open shared object file",
     "missing-software"),
    (1, "flux-job: task(s) exited with exit code 1\nstart failed: gpu_burn: No such file or directory",
     "missing-software"),
    (1, "CUDA error: no CUDA-capable device is detected", "no-gpu"),
    (1, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver", "no-gpu"),
    (1, "ior ERROR: write(), errno 28, No space left on device", "disk-full"),
    (137, "slurmstepd: error: Detected 1 oom-kill event", "oom-killed"),
    (1, "MemoryError", "oom-killed"),
    (1, "job.exception type=alloc severity=0 alloc denied due to type=\"unsatisfiable\"", "unsatisfiable"),
    (1, "flux-submit: ERROR: node count must not be greater than task count", "unsatisfiable"),
    (2, "segmentation fault (core dumped)", OTHER),
    (1, "", OTHER),
])
def test_messages_name_their_mode(code, output, mode):
    seen = classify(code, output)
    assert seen.outcome == mode
    if mode not in ("ok", OTHER):
        assert seen.evidence in output  # the line that decided it is kept


def test_exit_137_alone_is_not_an_out_of_memory_kill():
    assert classify(137, "Killed").outcome == OTHER
    assert classify(137, "Killed", oom_killed=True).outcome == "oom-killed"


def test_exit_127_with_no_message_is_a_missing_command():
    assert classify(127, "").outcome == "missing-software"


def job(command) -> str:
    return yaml.safe_dump({"version": 1, "resources": {"probe": {"type": "node", "replicas": 1}},
                           "tasks": [{"command": command, "resources": "probe"}]})


@pytest.fixture
def local(tmp_path):
    return LocalExecutor(timeout_s=20, cwd=str(tmp_path))


def test_a_command_that_succeeds(local):
    done = local.execute("c", NAME, job(["sh", "-c", "echo hello"]))
    assert (done.exit_code, done.outcome, done.output_tail) == (0, "ok", ("hello",))


def test_a_command_this_machine_lacks(local):
    done = local.execute("c", NAME, job(["singularity-not-installed-here", "run", "x"]))
    assert (done.exit_code, done.outcome) == (127, "missing-software")


def test_a_command_run_by_the_shell_that_is_missing(local):
    done = local.execute("c", NAME, job(["/bin/sh", "-c", "lstopo-not-installed-here --of png"]))
    assert (done.exit_code, done.outcome) == (127, "missing-software")


def test_a_binary_of_another_format_gives_exec_format_error(local, tmp_path):
    binary = tmp_path / "foreign"
    binary.write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\xb7\x00" + b"\x00" * 100)  # not runnable
    binary.chmod(0o755)
    done = local.execute("c", NAME, job([str(binary)]))
    assert done.outcome == "exec-format-error", done


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_says_no_space_left(local):
    done = local.execute("c", NAME, job(["dd", "if=/dev/zero", "of=/dev/full", "bs=1k", "count=1"]))
    assert done.exit_code != 0 and done.outcome == "disk-full"


def test_memory_beyond_a_limit_is_out_of_memory(local):
    script = "import resource; resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20)); b = bytearray(1 << 30)"
    done = local.execute("c", NAME, job([sys.executable, "-c", script]))
    assert done.exit_code == 1 and done.outcome == "oom-killed"


def test_a_job_past_its_timeout_is_killed_with_everything_it_started(tmp_path):
    marker = tmp_path / "child.pid"
    done = LocalExecutor(timeout_s=0.5, cwd=str(tmp_path)).execute(
        "c", NAME, job(["sh", "-c", f"sleep 30 & echo $! > {marker}; wait"]))
    assert done.outcome == OTHER and "timeout" in done.evidence
    child = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        for _ in range(50):
            os.kill(child, 0)  # raises once the child is gone (reaped by init after the group was killed)
            time.sleep(0.05)


def test_a_jobspec_without_a_command_is_not_runnable(local):
    done = local.execute("c", NAME, "version: 1\n")
    assert done.outcome == OTHER and "no task command" in done.evidence
    with pytest.raises(ValueError):
        task_command("version: 1\ntasks: []\n")


def test_the_simulated_executor_takes_the_models_answer(full_lab):
    sim = SimulatedExecutor(full_lab)
    arm = sim.execute("rocky9-arm64", JobName("abcdef01", "none", "lammps", 0), "")
    assert (arm.outcome, arm.exit_code) == ("missing-software", None)
    unknown = sim.execute("nowhere", JobName("abcdef01", "none", "lammps", 0), "")
    assert unknown.outcome == OTHER and "no cluster nowhere" in unknown.evidence
