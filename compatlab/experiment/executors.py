"""Executors: what a receiver does with a job it got. Each returns an ``Execution`` to record.

- ``simulated`` runs nothing: the outcome model's answer for that workload on
  that cluster, so the whole loop runs on a laptop with no cluster at all;
- ``local`` runs the jobspec's task command in a subprocess with a timeout (for
  kind and for tests) and classifies what it printed (``observe.classify``).

The ``flux`` executor, which runs on a MiniCluster's Flux instance, comes with
the in-cluster receiver.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import yaml

from compatlab.lab.model import Lab

from .observe import OTHER, classify
from .outcomes import outcome
from .records import JobName, tail, utc_now


@dataclass(frozen=True)
class Execution:
    """What running a job gave: times (UTC ISO 8601), exit code (None: nothing ran), outcome, evidence, output.

    ``state`` is the executor's own word for how the job ended (Flux's
    ``INACTIVE/COMPLETED``, ``INACTIVE/FAILED``...), None where there is none.
    """

    executor: str
    executor_job_id: str | None
    start: str
    end: str
    exit_code: int | None
    outcome: str
    evidence: str
    output_tail: tuple[str, ...]
    state: str | None = None


class Executor(Protocol):
    """Runs one received job on ``cluster``. ``name`` says which workload and level it is."""

    name: str

    def execute(self, cluster: str, name: JobName, jobspec: str,
                submitted: Callable[[str], None] = ...) -> Execution:
        """Run it (or predict it) and say what happened. Raises nothing for a job that fails.

        ``submitted`` is told the executor's own job id as soon as one exists, so a
        receiver stopped while the job runs can find it again.
        """
        ...


class SimulatedExecutor:
    """The outcome model's answer, from the lab's declared properties; nothing runs.

    A cluster or workload the lab does not have gives a ``failed-other``
    execution naming it. Raises nothing.
    """

    name = "simulated"

    def __init__(self, lab: Lab) -> None:
        self._clusters = {mc.name: mc for mc in lab.miniclusters}
        self._workloads = {w.name: w for w in lab.workloads}

    def execute(self, cluster: str, name: JobName, jobspec: str,
                submitted: Callable[[str], None] = lambda _: None) -> Execution:
        """``outcome(workload, cluster)`` as the observed outcome, evidence ``simulated: <detail>``."""
        now = utc_now()
        mc, workload = self._clusters.get(cluster), self._workloads.get(name.workload)
        if mc is None or workload is None:
            missing = f"cluster {cluster}" if mc is None else f"workload {name.workload}"
            return Execution(self.name, None, now, now, None, OTHER, f"simulated: the lab has no {missing}", ())
        fate = outcome(workload, mc)
        detail = f"simulated: {fate.detail}" if fate.detail else "simulated"
        return Execution(self.name, None, now, now, None, fate.mode, detail, (detail,))


def task_command(jobspec: str) -> list[str]:
    """The first task's command (argv) of a nextgen jobspec in YAML. Raises ``ValueError`` when there is none."""
    doc = yaml.safe_load(jobspec)
    tasks = doc.get("tasks") if isinstance(doc, dict) else None
    command = tasks[0].get("command") if isinstance(tasks, list) and tasks and isinstance(tasks[0], dict) else None
    if isinstance(command, str):
        return ["/bin/sh", "-c", command]
    if isinstance(command, list) and command and all(isinstance(c, str) for c in command):
        return command
    raise ValueError("the jobspec has no task command")


class LocalExecutor:
    """The task's command in a subprocess on this machine, stdout and stderr together, killed after ``timeout_s``.

    The command runs in its own process group so a timeout kills everything it
    started. ``cwd`` is the working directory (None: the current one).
    """

    name = "local"

    def __init__(self, timeout_s: float = 600.0, cwd: str | None = None) -> None:
        self._timeout = timeout_s
        self._cwd = cwd

    def execute(self, cluster: str, name: JobName, jobspec: str,
                submitted: Callable[[str], None] = lambda _: None) -> Execution:
        """Run the first task's command; classify its exit code and output."""
        start = utc_now()
        try:
            argv = task_command(jobspec)
        except (ValueError, yaml.YAMLError, AttributeError) as err:
            return Execution(self.name, None, start, utc_now(), None, OTHER, f"not runnable: {err}", ())
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self._cwd, start_new_session=True)
        except OSError as err:  # the exec itself failed: say it as a shell would (127 missing, 126 not executable)
            code = 127 if err.errno == errno.ENOENT else 126
            text = f"{argv[0]}: {err.strerror}"
            seen = classify(code, text)
            return Execution(self.name, None, start, utc_now(), code, seen.outcome, seen.evidence, (text,))
        try:
            out, _ = proc.communicate(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            text = out.decode(errors="replace")
            evidence = f"killed after the {self._timeout:g} s timeout"
            return Execution(self.name, str(proc.pid), start, utc_now(), proc.returncode, OTHER, evidence, tail(text))
        text = out.decode(errors="replace")
        seen = classify(proc.returncode, text)
        return Execution(self.name, str(proc.pid), start, utc_now(), proc.returncode, seen.outcome, seen.evidence,
                         tail(text))
