"""Observed outcomes: a real run's exit code and output, classified into the outcome model's modes.

Each mode is recognised only by evidence that names it, and the line that did is
kept; a failure with no such evidence is ``failed-other``, never forced into a
known mode. Sources of the messages: Linux's ``ENOEXEC``/``ENOSPC`` texts, bash's
127 for a missing command, the Go toolchain's version check (``note: module
requires Go 1.20``) and its missing standard packages (``package runtime/metrics is
not in GOROOT``: a Go older than the package), apptainer's arch check, the NVIDIA/CUDA runtimes and the
lab's own GPU probe, GNU coreutils' ``memory exhausted`` (an allocation refused
under a ulimit), the kubelet's eviction messages for ephemeral storage
(``pkg/kubelet/eviction/helpers.go``), and Flux's job exceptions (measured on
flux-core 0.88 with sched-simple).
Exit 137 alone is any SIGKILL, so an out-of-memory kill needs its own evidence
(the cgroup's ``memory.events`` ``oom_kill`` count, which executors pass as
``oom_killed``, or a message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from compatlab.errors import clip

OTHER = "failed-other"

# (mode, pattern): the first mode whose pattern matches a line of output wins.
_PATTERNS = (
    ("unsatisfiable", r"unsatisfiable|node count must not be greater than task count|alloc denied"),
    ("exec-format-error", r"exec format error|architecture \(\w+\) could not run on the host"),
    ("compile-error", r"go\.mod requires go\b|requires go >= ?\d|module requires go \d|invalid go version"
                      r"|go: cannot find GOROOT|toolchain not available|package [\w./]+ is not in (GOROOT|std)"),
    ("no-gpu", r"no cuda-capable device|cuda driver version is insufficient|nvidia-smi has failed"
               r"|cudaErrorNoDevice|no gpus? (found|detected|available)|could not find any nvidia gpu"),
    ("missing-software", r"command not found|error while loading shared libraries|start failed: .*no such file"
                         r"|executable file not found|: not found$|^[^ ]+: no such file or directory$"),
    ("oom-killed", r"out of memory|oomkilled|oom-kill|cannot allocate memory|std::bad_alloc|memoryerror"
                   r"|: memory exhausted$"),
    ("disk-full", r"no space left on device|disk quota exceeded|ephemeral local storage|local ephemeral storage"),
)
SUMMARY = re.compile(r"flux-job: task\(s\) |[0-9.]+s: flux-shell\[[0-9]+\]: ")
_EVIDENCE = tuple((mode, re.compile(pattern, re.IGNORECASE)) for mode, pattern in _PATTERNS)


@dataclass(frozen=True)
class Observation:
    """A classified run: ``outcome`` (``ok``, a failure mode of the model, or ``failed-other``) and its ``evidence``."""

    outcome: str
    evidence: str


def classify(exit_code: int | None, output: str, oom_killed: bool = False) -> Observation:
    """Classify one run from its exit code, its output (stdout and stderr) and the cgroup's OOM record.

    ``exit_code`` None means the job never started; 0 is ``ok`` (an OOM count or a
    failure-like line of output does not overrule the job's own success). Exit 127
    is a missing command (bash). Raises nothing.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if exit_code == 0:  # whatever else was killed on the way, the job says it succeeded
        return Observation("ok", "exit 0")
    if oom_killed:
        return Observation("oom-killed", "the cgroup's memory.events counted an oom_kill during the job")
    for mode, pattern in _EVIDENCE:
        for line in lines:
            if pattern.search(line):
                return Observation(mode, clip(line, 200))
    if exit_code == 127:
        return Observation("missing-software", "exit 127: command not found")
    if exit_code == 137:
        return Observation(OTHER, "exit 137 (SIGKILL) with no out-of-memory record")
    # The job's own last words, not the launcher's summary (flux job attach adds "flux-job: task(s) ...").
    own = [line for line in lines if not SUMMARY.match(line)]
    tail = clip((own or lines)[-1], 200) if lines else "no output"
    return Observation(OTHER, f"exit {exit_code}: {tail}")
