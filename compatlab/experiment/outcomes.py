"""What really happens when a workload runs on a MiniCluster.

Computed from the declared properties (the lab model), never from the metadata or
the matcher, so a bug in either shows up as lost accuracy. The first failure a run
would hit wins: it cannot start, then the software it calls is missing or too old
(the command is looked up before anything it runs is executed), then the binary
does not execute, then the build fails, then the device, memory and disk. Each
workload's ``evidence`` (``jobspecs/<name>.yaml``) says what each mode looks like.
"""

from __future__ import annotations

from dataclasses import dataclass

from compatlab.lab import semver
from compatlab.lab.model import MiniCluster, Workload

OK = "ok"
FAILURES = ("unsatisfiable", "exec-format-error", "missing-software", "compile-error", "no-gpu",
            "oom-killed", "disk-full")
OUTCOMES = (OK, *FAILURES)


@dataclass(frozen=True)
class Outcome:
    """What really happens: ``mode`` (``ok`` or one of ``FAILURES``) and a human ``detail``."""

    mode: str
    detail: str

    @property
    def ok(self) -> bool:
        """True when the workload succeeds."""
        return self.mode == OK


def outcome(workload: Workload, mc: MiniCluster) -> Outcome:
    """What happens when ``workload`` runs on ``mc``, from the declared properties only.

    The first failure a run would hit wins: too few nodes, or cores for its tasks
    (``unsatisfiable``), missing or too old software (``missing-software``: the salad
    container on Ubuntu arm64 fails for want of singularity before any arch question),
    the wrong arch (``exec-format-error``), a Go too old to build (``compile-error``),
    no GPU (``no-gpu``), more GB per node than the memory limit (``oom-killed``), more
    GB than the disk limit (``disk-full``). Raises nothing.
    """
    needs = workload.needs
    if workload.nodes > mc.size:
        return Outcome("unsatisfiable", f"needs {workload.nodes} nodes, {mc.name} has {mc.size}")
    cores = workload.tasks_per_node  # Flux gives each task one core
    if cores > mc.cores_per_node:
        return Outcome("unsatisfiable", f"needs {cores} cores per node, {mc.name} has {mc.cores_per_node}")
    installed = mc.software
    for package, minimum in sorted(needs.software.items()):
        have = installed.get(package)
        if have is None or not semver.within(have, minimum):
            return Outcome("missing-software", f"needs {package} >= {minimum}, has {have or 'none'}")
    if needs.binary_arch and needs.binary_arch != mc.arch:
        return Outcome("exec-format-error", f"{needs.binary_arch} binary on {mc.arch}")
    if needs.go and not semver.within(installed.get("go", ""), needs.go):
        return Outcome("compile-error", f"needs Go >= {needs.go}, has {installed.get('go', 'none')}")
    if needs.gpus > mc.gpus:
        return Outcome("no-gpu", f"needs {needs.gpus} GPU, {mc.name} has {mc.gpus}")
    if needs.memory_gb_per_node > mc.memory_gb:
        return Outcome("oom-killed", f"needs {needs.memory_gb_per_node} GB per node, limit {mc.memory_gb} GB")
    if needs.disk_gb > mc.disk_gb:
        return Outcome("disk-full", f"needs {needs.disk_gb} GB of disk, {mc.name} has {mc.disk_gb} GB")
    return Outcome(OK, "")
