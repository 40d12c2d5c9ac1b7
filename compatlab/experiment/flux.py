"""The ``flux`` executor: a received jobspec run on the MiniCluster's own Flux instance.

The jobspec library's Flux transformer (``jobspec`` 0.1.15, the version the lab
installs) turns the nextgen jobspec into the ``flux submit`` line; this module
runs that line, waits for the job (``flux job attach``), and reads its final
state from Flux (``flux jobs``), because the library's own runner prints a
failed submit and exits 0. Everything goes through the ``flux`` command, which
the transformer needs on PATH anyway (inside ``flux proxy`` on the lead broker).

What Flux does, measured on flux-core 0.88 (sched-simple; the lab's Fluxion 0.54
words its alloc exception differently, read from its source): fewer tasks than
nodes is refused by ``flux submit`` (exit 1, "node count must not be greater than
task count"); more nodes than the instance has is accepted and then fails with a
``job.exception type=alloc`` (unsatisfiable), it never pends; a missing command
is ``job.exception type=exec ... No such file or directory`` with exit 127; exit
137 is any SIGKILL, so an out-of-memory kill of a job on the lead broker's pod is
told by the cgroup's ``memory.events`` ``oom_kill`` count before and after the
job (one on another pod takes that pod's container, and ``collect`` reads it from
Kubernetes).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from compatlab.errors import LabError
from compatlab.formats.flux import flux_commands, option
from compatlab.kube.minicluster import MOUNT

from .executors import Execution
from .observe import OTHER, classify
from .records import JobName, tail, utc_now


def memory_events() -> tuple[Path, ...]:
    """Where this container's cgroup counts out-of-memory kills: v2 ``memory.events``, v1 ``memory.oom_control``.

    Read from ``/proc/self/cgroup``: a privileged container (the Rocky bases) has no
    cgroup namespace, so its cgroup is a path below the node's root, not the root.
    """
    found: list[Path] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":
            found.append(Path(f"/sys/fs/cgroup{path}") / "memory.events")
        elif "memory" in controllers.split(","):
            found.append(Path(f"/sys/fs/cgroup/memory{path}") / "memory.oom_control")
    return (*found, Path("/sys/fs/cgroup/memory.events"), Path("/sys/fs/cgroup/memory/memory.oom_control"))
Run = Callable[[list[str], float], tuple[int, str]]  # argv, timeout seconds -> (exit code, stdout+stderr)


def _run(argv: list[str], timeout_s: float) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout_s, check=False)
    except FileNotFoundError:
        return 127, f"{argv[0]}: command not found (is this a Flux shell? run it inside flux proxy)"
    except subprocess.TimeoutExpired as err:
        return -1, (err.output or b"").decode(errors="replace")
    return done.returncode, done.stdout.decode(errors="replace")


def oom_kills(paths: tuple[Path, ...] | None = None) -> int | None:
    """The cgroup's ``oom_kill`` count (an int), or None when no cgroup file says it."""
    for path in paths if paths is not None else memory_events():
        try:
            for line in path.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            continue
    return None


@dataclass(frozen=True)
class FluxJob:
    """A finished Flux job as ``flux jobs`` shows it: state, result, returncode, and its exception if any."""

    state: str
    result: str
    returncode: int | None
    exception: str


def parse_jobs_line(line: str) -> FluxJob:
    """Read ``flux jobs -no '{state}|{result}|{returncode}|{exception.type}|{exception.note}'``'s line."""
    parts = (line.strip().split("|", 4) + ["", "", "", "", ""])[:5]
    state, result, code, kind, note = parts
    try:
        returncode = int(code)
    except ValueError:
        returncode = None
    exception = f"job.exception type={kind} {note}".strip() if kind else ""
    return FluxJob(state, result, returncode, exception)


def placement(nodes: int, size: int | None) -> list[str]:
    """The ``--requires`` (RFC 31) that keeps a job's pod failures away from the receiver, as an argv list.

    Kubernetes answers a pod over its memory or disk limit by killing or evicting
    the whole pod, and rank 0's pod holds the lead broker with the receiver. A
    one-node job on a bigger instance keeps off rank 0 (``-rank:0``). A job of
    several nodes that is smaller than the instance takes ranks 0 to ``nodes - 1``
    (``rank:0-3``): its first task then runs on the lead broker's pod,
    ``<minicluster>-0``, the one host the MiniCluster's service names (the
    fractal's workers find their leader there). A job as big as the instance, or
    an instance of unknown size, gets nothing. Measured on flux-core 0.88: task 0
    runs on the lowest rank of the allocation.
    """
    if size is None or nodes >= size:
        return []
    return ["--requires=-rank:0"] if nodes == 1 else [f"--requires=rank:0-{nodes - 1}"]


def job_environment(env: Mapping[str, str] | None = None) -> list[str]:
    """``--env`` options that keep the receiver's flux-view paths out of the job but the image's own.

    The receiver runs in a Flux shell whose ``PYTHONPATH`` and ``LD_LIBRARY_PATH``
    hold the flux view's and compatlab's directories (below ``/mnt/flux``), which
    would shadow the image's Python and libraries in the job; the image's own
    entries stay (the Rocky images find Open MPI through
    ``LD_LIBRARY_PATH=/usr/lib64/openmpi/lib``). ``env`` defaults to this process's.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    out = []
    for name in ("PYTHONPATH", "LD_LIBRARY_PATH"):
        kept = [p for p in environ.get(name, "").split(os.pathsep) if p and not p.startswith(MOUNT)]
        out.append(f"--env={name}={os.pathsep.join(kept)}" if kept else f"--env=-{name}")
    return out


class FluxExecutor:
    """Runs each job with ``flux submit``, waits with ``flux job attach``, reads its end with ``flux jobs``.

    The transformer's line is used as written, with the changes
    ``compatlab.formats.flux.EXECUTOR_CHANGES`` lists: the job is named after
    rainbow's job (``--job-name``); the receiver's flux-view ``PYTHONPATH`` and
    ``LD_LIBRARY_PATH`` entries are not passed to the job (``job_environment``);
    a job smaller than the instance is placed by ``placement``. A jobspec with
    more than one task is refused (the lab's have one). ``timeout_s`` bounds the
    wait: the job is then cancelled (``flux cancel``) and waited for. ``run`` runs
    a command (argv, timeout) and gives (exit code, output), replaceable for
    tests. Raises ``LabError`` when there is no ``flux`` command: the receiver
    must run in a Flux shell (``flux proxy``), or every job would look like
    missing software.
    """

    name = "flux"

    def __init__(self, timeout_s: float = 3600.0, run: Run = _run,
                 oom: Callable[[], int | None] = oom_kills) -> None:
        if run is _run and shutil.which("flux") is None:
            raise LabError("--executor", "flux", "no flux command on PATH; allowed: run the receiver in a Flux "
                           "shell on the lead broker (. /mnt/flux/flux-view.sh && flux proxy $fluxsocket bash)")
        self._timeout = timeout_s
        self._run = run
        self._oom = oom
        self._size: int | None = None
        self._warned = False

    def instance_nodes(self) -> int | None:
        """How many nodes this Flux instance has (``flux resource info``: ``4 Nodes, 8 Cores, 0 GPUs``).

        Asked until Flux answers, then kept. None while it does not (said once on
        stderr): jobs then run without a placement constraint.
        """
        if self._size is None:
            code, out = self._run(["flux", "resource", "info"], 60.0)
            found = re.search(r"(\d+) Nodes?\b", out) if code == 0 else None
            if found:
                self._size = int(found.group(1))
            elif not self._warned:
                self._warned = True
                print(f"compatlab: flux resource info failed ({' '.join(out.split())[:120] or f'exit {code}'}); "
                      "jobs run without keeping off the lead broker until it answers", file=sys.stderr)
        return self._size

    def submit_line(self, name: JobName, jobspec: str) -> list[str]:
        """The ``flux submit`` argv this executor runs for a jobspec (YAML). Raises ``ValueError``."""
        commands = flux_commands(yaml.safe_load(jobspec))
        if len(commands) != 1:
            raise ValueError(f"{len(commands)} tasks; allowed: one task per jobspec")
        argv = list(commands[0])
        if "--job-name" in argv:
            argv[argv.index("--job-name") + 1] = str(name)
        nodes = option(argv, "-N")
        where = placement(int(nodes), self.instance_nodes()) if nodes and nodes.isdigit() else []
        return [*argv[:2], *job_environment(), *where, *argv[2:]]

    def execute(self, cluster: str, name: JobName, jobspec: str,
                submitted: Callable[[str], None] = lambda _: None) -> Execution:
        """Submit, wait, and classify the job's end; ``submitted`` is told Flux's job id as soon as it exists."""
        start = utc_now()
        try:
            argv = self.submit_line(name, jobspec)
        except (ValueError, yaml.YAMLError) as err:
            return Execution(self.name, None, start, utc_now(), None, OTHER, f"not runnable: {err}", (), None)
        # The container's own OOM count speaks only for a job that runs on this (the lead broker's) pod.
        before = None if "--requires=-rank:0" in argv else self._oom()
        code, out = self._run(argv, 60.0)
        jobid = out.strip().splitlines()[-1].strip() if code == 0 and out.strip() else None
        if code != 0 or not jobid:  # refused by flux submit: no job exists
            seen = classify(code if code else 1, out)
            return Execution(self.name, None, start, utc_now(), code, seen.outcome, seen.evidence, tail(out),
                             "refused by flux submit")
        submitted(jobid)
        return self._wait(jobid, start, before)

    def resume(self, jobid: str, start: str) -> Execution | None:
        """The end of a job submitted before the receiver was stopped, or None when this Flux does not know it.

        A Flux instance restarted with its container (an out-of-memory kill takes
        the whole container on Kubernetes 1.28 and later) has forgotten the job.
        """
        code, _ = self._run(["flux", "jobs", "--no-header", "--format", "{state}", jobid], 60.0)
        if code != 0:
            return None
        return self._wait(jobid, start, None)

    def _wait(self, jobid: str, start: str, before: int | None) -> Execution:
        attach_code, output = self._run(["flux", "job", "attach", jobid], self._timeout)
        timed_out = attach_code == -1
        if timed_out:
            self._run(["flux", "cancel", jobid], 60.0)
        # attach returns when the job finishes; its result is final once the job is clean.
        self._run(["flux", "job", "wait-event", "-t", "60", jobid, "clean"], 90.0)
        _, line = self._run(["flux", "jobs", "--no-header", "--format",
                             "{state}|{result}|{returncode}|{exception.type}|{exception.note}", jobid], 60.0)
        job = parse_jobs_line(line.strip().splitlines()[-1] if line.strip() else "")
        after = self._oom()
        oom = before is not None and after is not None and after > before
        code = job.returncode if job.returncode is not None else attach_code
        evidence_text = "\n".join(x for x in (output, job.exception) if x)
        if timed_out:
            seen_outcome, evidence = OTHER, f"cancelled after the {self._timeout:g} s timeout"
        else:
            seen = classify(code, evidence_text, oom_killed=oom)
            seen_outcome, evidence = seen.outcome, seen.evidence
        state = "/".join(x for x in (job.state, job.result) if x) or None
        return Execution(self.name, jobid, start, utc_now(), code, seen_outcome, evidence, tail(output), state)
