"""The run loop's commands as functions: connect, register, submit, receive, run, report.

The CLI parses arguments and draws progress; everything else is here, so the
same calls serve a laptop (the embedded scheduler), a rainbow server started
locally, and the rainbow behind the lab's Ingress.

``run --out DIR`` lays a run out as ``DIR/state`` (credentials and journals),
``DIR/results`` (one record per job) and ``DIR/report`` (rebuilt whole at the end).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from compatlab.errors import LabError, clip
from compatlab.files import MARKER, foreign_files, replace_tree, umask, write_file, written_by
from compatlab.formats.generate import generate
from compatlab.inputs import read_bytes
from compatlab.kube.access import KubeAccess
from compatlab.lab.model import Lab
from compatlab.lab.stack import load_lab
from compatlab.scheduler.embedded import EmbeddedScheduler
from compatlab.scheduler.interface import Scheduler
from compatlab.scheduler.rainbow import Endpoint, RainbowScheduler, Retry

from .executors import Executor, LocalExecutor, SimulatedExecutor
from .receiver import Received, receive_loop, receive_round
from .records import ResultRecord, read_records
from .report import run_report_files
from .results import ReportJson, RunLevelJson, confusion, join, level_rows
from .runner import Registered, Submitted, plan, register, submit
from .state import RunState, load_state, new_run_id, open_state

EMBEDDED_STORE = "embedded.jsonl"
RUN_ENTRIES = (MARKER, "state", "results", "report")  # what a run directory holds
EMBEDDED = "embedded"
MAX_REPEATS = 1000  # submissions of one jobspec per level; more says nothing a larger seed set would not
Tick = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    """Which scheduler: rainbow at ``rainbow`` (``HOST:PORT``, TLS with ``tls_ca``), or the embedded one."""

    rainbow: str | None = None
    tls_ca: Path | None = None
    tls_name: str | None = None

    @property
    def name(self) -> str:
        """``embedded``, or rainbow's ``HOST:PORT`` (the state is bound to it)."""
        return self.rainbow or "embedded"


MAX_SECRET_BYTES = 64 << 10  # a token or secret is tens of bytes


def read_secret(env: str, file: Path | None, what: str) -> str | None:
    """A credential from ``file`` (first line, stripped) or else the environment variable ``env``; None if neither.

    Never from a command-line value, which any user could read in ``ps``. Raises
    ``LabError`` naming the file when it cannot be read or is empty.
    """
    if file is not None:
        try:
            value = read_bytes(file, MAX_SECRET_BYTES, f"a file holding the {what}").decode().strip()
        except UnicodeDecodeError:
            raise LabError(file, "", f"is not UTF-8 text; allowed: a file holding the {what}") from None
        if not value:
            raise LabError(file, "", f"is empty; allowed: a file holding the {what}")
        return value
    return os.environ.get(env) or None


CLUSTER = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")  # the lab schema's name, a DNS label
ADDRESS = re.compile(r"(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})")


def check_cluster(cluster: str) -> None:
    """Refuse a cluster name rainbow would misread or that would leave the state directory (``LabError``)."""
    if not CLUSTER.fullmatch(cluster):
        raise LabError("--cluster", "", f"{cluster[:80]!r} is not a minicluster name; allowed: lowercase letters, "
                       "digits and hyphens (rainbow looks names up with SQL LIKE, where _ and % are wildcards)")


def check_target(target: Target) -> None:
    """Refuse, before anything is written, an address that is not ``HOST:PORT`` or a CA that is not a PEM file.

    Raises ``LabError`` naming the flag and what is allowed.
    """
    if target.rainbow is None:
        if target.tls_ca:
            raise LabError("--tls-ca", "", "applies to --rainbow only")
        return
    m = ADDRESS.fullmatch(target.rainbow)
    if m is None or not 1 <= int(m["port"]) <= 65535:
        raise LabError("--rainbow", "", f"{target.rainbow[:80]!r} is not HOST:PORT; allowed: a host name or IP and "
                       "a port 1-65535, e.g. 127.0.0.1:50051 or the stack output rainbowEndpoint")
    if target.tls_ca:
        Endpoint(target.rainbow, target.tls_ca, target.tls_name).channel().close()


def connect(target: Target, state_dir: Path, secret: str | None, timeout_s: float = 30.0,
            retry: Retry | None = None, notify: Callable[[str], None] = lambda _: None) -> Scheduler:
    """The scheduler to talk to: embedded (its store in ``state_dir``) or rainbow over gRPC."""
    check_target(target)
    if target.rainbow is None:
        state_dir.mkdir(parents=True, exist_ok=True)
        return EmbeddedScheduler(state_dir / EMBEDDED_STORE)
    endpoint = Endpoint(target.rainbow, target.tls_ca, target.tls_name)
    return RainbowScheduler(endpoint, secret, timeout_s, retry or Retry(), notify=notify)


def check_probes(lab: Lab, state_dir: Path, trust_metadata: bool = False) -> None:
    """``LabError`` naming ``state_dir/probe.json`` and the first cluster of ``lab`` whose last ``verify``
    contradicted its metadata (unless ``trust_metadata``), or when that file is not one ``verify`` wrote.

    Reads only: ``register`` calls it before it connects, so a refusal leaves the state directory as it was.
    """
    from .verify import PROBE_FILE, disagreeing

    wrong = {n: d for n, d in disagreeing(state_dir).items() if n in {mc.name for mc in lab.miniclusters}}
    if wrong and not trust_metadata:
        first, differences = sorted(wrong.items())[0]
        # A probe's value is the pod's output: a long one would push the way out past the end of the line.
        said = ", ".join(f"{clip(d['field'], 40)} {clip(d['claimed'], 40)} vs {clip(d['observed'], 40)}"
                         for d in differences[:3])
        verb = "disagrees" if len(wrong) == 1 else "disagree"
        raise LabError(state_dir / PROBE_FILE, first, f"its pods contradict its metadata ({said}); {len(wrong)} of "
                       f"the stack's clusters {verb}; allowed: fix the lab and verify again, or --trust-metadata")


def do_register(scheduler: Scheduler, lab: Lab, state_dir: Path, tick: Tick, kube: KubeAccess | None = None,
                trust_metadata: bool = False) -> tuple[RunState, Registered]:
    """Register every MiniCluster and its subsystems; credentials go to ``state_dir/state.json`` (0600).

    With ``kube`` (a ``KubeAccess``), each cluster's token and secret are also
    written to its Secret in the lab, where its receiver reads them. A cluster
    whose last ``verify`` (``state_dir/probe.json``) disagreed with its metadata is
    refused unless ``trust_metadata``: registering it would make rainbow match on
    claims the pods contradict. Raises ``LabError``.
    """
    check_probes(lab, state_dir, trust_metadata)
    state = open_state(state_dir, scheduler.endpoint, lab.stack, lab.source)
    done = register(scheduler, lab, generate(lab), state, tick)
    if kube is not None:
        for name, held in sorted(state.clusters.items()):
            kube.write_credentials(name, held.token, held.secret)
    return state, done


def bound_state(state_dir: Path, scheduler: Scheduler) -> RunState:
    """The state of an earlier ``register`` in ``state_dir``, checked to belong to ``scheduler``."""
    state = load_state(state_dir)
    if state is None:
        raise LabError(state_dir, "state.json", "is missing; allowed: the --state of an earlier compatlab "
                       "register (run it first)")
    if state.scheduler != scheduler.endpoint:
        raise LabError(state.path, "scheduler", f"this state belongs to {state.scheduler!r}, not "
                       f"{scheduler.endpoint!r}; allowed: the --state directory used to register with it")
    return state


def do_submit(scheduler: Scheduler, state: RunState, levels: list[str] | None, repeats: int, seed: int,
              global_token: str | None, tick: Tick, resend_unanswered: bool = False) -> Submitted:
    """Submit every planned job of ``levels`` (None: all), ``repeats`` times each; resumes where it stopped.

    Submissions whose answer a crash lost are resent only with ``resend_unanswered``.
    """
    lab = load_lab(state.stack_file)
    check_repeats(repeats)
    known = [lv.name for lv in lab.levels]
    for name in levels or ():
        if name not in known:
            raise LabError("--level", "", f"{name!r} is not a level of stack {lab.stack}; allowed: {', '.join(known)}")
    if (state.seed, state.repeats) != (seed, repeats) and _journalled(state):
        raise LabError(state.path, "seed/repeats", f"this run was submitted with --seed {state.seed} --repeats "
                       f"{state.repeats}; allowed: the same, or a new --state for a new run")
    state.seed, state.repeats = seed, repeats
    state.save()
    planned = [p for p in plan(lab, state.run, repeats) if levels is None or p.name.level in levels]
    return submit(scheduler, generate(lab), state, planned, global_token, tick, resend_unanswered)


def _journalled(state: RunState) -> bool:
    return (state.directory / "submissions.jsonl").exists()


def check_repeats(repeats: int) -> None:
    """Refuse a number of repeats outside 1..MAX_REPEATS with a ``LabError``."""
    if not 1 <= repeats <= MAX_REPEATS:
        raise LabError("--repeats", "", f"{repeats} is not allowed; allowed: 1 to {MAX_REPEATS}")


EXECUTORS = ("simulated", "local", "flux")


def executor_for(kind: str, state: RunState | None, stack: str | None, timeout_s: float) -> Executor:
    """The executor called ``kind``: ``simulated`` (needs the lab: ``stack`` or the state's), ``local`` or ``flux``."""
    if kind == "simulated":
        if stack and state and load_lab(stack).stack != state.stack:
            raise LabError("--stack", "", f"{stack!r} is not the stack of this state ({state.stack}); allowed: "
                           f"{state.stack}, or no --stack")
        source = stack or (state.stack_file if state else None)
        if source is None:
            raise LabError("--executor", "", "simulated needs the lab: pass --stack, or a --state that register wrote")
        return SimulatedExecutor(load_lab(source))
    if kind == "local":
        return LocalExecutor(timeout_s)
    if kind == "flux":
        from .flux import FluxExecutor

        return FluxExecutor(timeout_s)
    raise LabError("--executor", "", f"{kind!r} is not an executor; allowed: {', '.join(EXECUTORS)}")


def do_receive(scheduler: Scheduler, state_dir: Path, cluster: str, secret: str | None, results: Path,
               executor: Executor, rounds: int | None = 1, interval_s: float = 5.0,
               on_record: Callable[[ResultRecord], None] | None = None) -> Received:
    """Receive on ``cluster`` ``rounds`` times (None: until Ctrl-C), ``interval_s`` seconds apart, running what arrives.

    ``state_dir`` holds the receive journal, and may hold a ``register``'s state.
    The cluster's secret: ``secret`` if given (from its file in a MiniCluster),
    else that state's. Raises ``LabError`` when there is neither, or when the
    state belongs to another scheduler.
    """
    check_cluster(cluster)
    state = load_state(state_dir)
    if state is not None and state.scheduler != scheduler.endpoint:
        raise LabError(state.path, "scheduler", f"this state belongs to {state.scheduler!r}, not "
                       f"{scheduler.endpoint!r}; allowed: the --state directory used to register with it")
    held = state.credentials(cluster) if state else None
    secret = secret or (held.secret if held else None)
    if not secret:
        known = ", ".join(sorted(state.clusters)) if state else "no state here"
        raise LabError(state_dir, f"clusters.{cluster}", f"no secret for cluster {cluster}; allowed: a cluster a "
                       f"register with this --state registered ({known}), or --cluster-secret-file")
    state_dir.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    return receive_loop(scheduler, state_dir, cluster, secret, results, executor, interval_s, rounds, on_record)


@dataclass(frozen=True)
class RunSummary:
    """What ``run`` did, in numbers: the shape of ``run --json`` (without the level rows)."""

    planned: int
    submitted: int
    results: int
    duplicates: int
    out: str


# What compatlab run writes in each part of its directory; a file whose name is none of these is the user's.
# write_file's temp files are ".<name>.<8 characters>" (tempfile.mkstemp).
_RUN_FILES = {
    "state": re.compile(r"\.?(state\.json|probe\.json|submissions\.jsonl|embedded\.jsonl|received-[a-z0-9-]+\.jsonl)"
                        r"(\.[a-z0-9_]{8})?"),
    "results": re.compile(r"\.?[0-9a-f]+\.[a-z0-9-]+\.[a-z0-9]+\.[0-9]+\.json(\.[a-z0-9_]{8})?"),
}


def foreign_in_run(out: Path) -> list[str]:
    """Paths in a run directory ``out`` that compatlab run did not write (or, in ``report/``, changed since).

    ``state/`` and ``results/`` hold only files named as the run names them;
    ``report/`` is checked against its own marker's digests. Raises nothing.
    """
    staged = tuple(f".{e}." for e in RUN_ENTRIES)  # a kill may leave .report.new-* staging copies: ours too
    theirs = []
    for path in sorted(out.iterdir()):
        name = path.name
        if name in _RUN_FILES and path.is_dir() and not path.is_symlink():
            theirs += [f"{name}/{p.name}" for p in sorted(path.iterdir())
                       if p.is_dir() or p.is_symlink() or not _RUN_FILES[name].fullmatch(p.name)]
        elif name == "report" and path.is_dir() and not path.is_symlink():
            theirs += [f"report/{rel}" for rel in foreign_files(path)]
        elif name != MARKER and not name.startswith(staged):
            theirs.append(name)
    return theirs


def prepare_out(out: Path, resume: bool, force: bool) -> None:
    """Make ``out`` ready for a run: new, resumed (``resume``) or started again (``force``).

    Refuses, with a ``LabError``, a directory that holds an earlier run unless
    ``resume`` or ``force`` says what to do with it, and anything compatlab did not
    write. ``force`` removes only a run compatlab wrote, and keeps the rainbow
    registrations of the old run's state (rainbow never answers them again).
    """
    if out.exists() and not out.is_dir():
        raise LabError(out, "", "is a file, not a directory; allowed: a directory for the run")
    out.parent.mkdir(parents=True, exist_ok=True)
    for left in [*out.parent.glob(f".{out.name}.old-*"), *out.parent.glob(f".{out.name}.new-*")]:
        shutil.rmtree(left, ignore_errors=True)  # left by a kill in the middle of an earlier call
    held = out.exists() and any(out.iterdir())
    ours = (out / MARKER).is_file()
    if held and not ours:
        raise LabError(out, "", "is not empty and was not written by compatlab; allowed: a new or empty directory")
    if held and written_by(out) != "run":
        raise LabError(out, "", f"holds the output of compatlab {written_by(out)}, not a run; allowed: a new or "
                       "empty directory, or one compatlab run wrote")
    if held and resume:
        return
    theirs = foreign_in_run(out) if held else []
    if theirs:  # --force removes the run: never a notebook of yours with it
        raise LabError(out, "", f"holds {', '.join(theirs[:3])}{' and more' * (len(theirs) > 3)}, which compatlab "
                       "run did not write or which changed since; allowed: move it elsewhere, then --force")
    if held and not force:
        raise LabError(out, "", "holds an earlier run; allowed: --resume to finish it, --force to start again")
    # rainbow hands a cluster's credentials out once: a fresh run against the same rainbow keeps them
    # (a new run id, the registrations reused); only the embedded scheduler starts from nothing.
    old = load_state(out / "state") if held else None
    # The new run directory appears whole, marker included, and an old one leaves in one rename:
    # a kill at any instant leaves the old run, or a new empty one, never a directory without its marker.
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        os.chmod(staging, 0o777 & ~umask())
        write_file(staging / MARKER, b"compatlab run\n")
        if old is not None and old.scheduler != EMBEDDED and old.clusters:
            (staging / "state").mkdir(mode=0o700)
            RunState(staging / "state", old.scheduler, old.stack, old.stack_file, new_run_id(),
                     clusters=old.clusters).save()
        if held:
            trash = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.replace(out, trash / "run")
            os.replace(staging, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, out)  # onto a missing or empty directory
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def do_run(scheduler: Scheduler, lab: Lab, out: Path, repeats: int, seed: int, global_token: str | None,
           executor: Executor, tick: Callable[[str, str], None],
           report: bool = True) -> tuple[RunSummary, list[RunLevelJson]]:
    """The whole loop on one machine: register, submit every level, receive on every cluster, report.

    A resumed run first receives on every cluster, so a submission whose answer
    was lost is found by its name before anything is submitted again. Without
    ``report`` the level rows are computed but ``out/report`` is not drawn.
    """
    check_repeats(repeats)
    state_dir, results = out / "state", out / "results"
    state = open_state(state_dir, scheduler.endpoint, lab.stack, lab.source)
    files = generate(lab)
    register(scheduler, lab, files, state, lambda n: tick("register", n))
    _drain(scheduler, state, results, executor, tick)
    if (state.seed, state.repeats) != (seed, repeats) and _journalled(state):
        raise LabError(state.path, "seed/repeats", f"this run was started with --seed {state.seed} --repeats "
                       f"{state.repeats}; allowed: the same with --resume, or --force to start again")
    state.seed, state.repeats = seed, repeats
    state.save()
    planned = plan(lab, state.run, repeats)
    # Every queue was drained above, so what is still unanswered was never queued: send it again.
    done = submit(scheduler, files, state, planned, global_token, lambda n: tick("submit", n),
                  resend_unanswered=True)
    _drain(scheduler, state, results, executor, tick)
    rows, _ = write_report(lab, state, results, out / "report" if report else None, files)
    duplicates = _count(state, "duplicate")
    summary = RunSummary(len(planned), done.placed + done.rejected + done.skipped,
                         len(read_records(results)), duplicates, str(out))
    return summary, rows


def _drain(scheduler: Scheduler, state: RunState, results: Path, executor: Executor,
           tick: Callable[[str, str], None]) -> None:
    # Receive until every cluster's queue is empty (a round takes what is queued now).
    results.mkdir(parents=True, exist_ok=True)
    for cluster, held in sorted(state.clusters.items()):
        while True:
            got = receive_round(scheduler, state.directory, cluster, held.secret, results, executor,
                                on_record=lambda r: tick("receive", r.name))
            if got.received == 0 and got.duplicates == 0:
                break


def _count(state: RunState, kind: str) -> int:
    total = 0
    for cluster in state.clusters:
        journal = state.received(cluster)
        total += sum(1 for e in journal.events if e["event"] == kind)
        journal.close()
    return total


def write_report(lab: Lab, state: RunState, results: Path,
                 out: Path | None, files: dict[str, bytes] | None = None,
                 ) -> tuple[list[RunLevelJson], dict[str, dict[str, int]]]:
    """Join the state, the model and the records; write ``out`` whole (None: nothing). Returns (rows, confusion)."""
    files = files or generate(lab)
    if not results.is_dir():
        raise LabError(results, "", "is not a results directory; allowed: the --results of receive or collect "
                       "(run --out DIR keeps it in DIR/results)")
    records = read_records(results)
    planned = plan(lab, state.run, state.repeats)
    joined = join(lab, files, state, planned, records)
    rows = level_rows(lab, joined)
    matrix = confusion(joined)
    if out is None:
        return rows, matrix
    doc = ReportJson(stack=lab.stack, scheduler=state.scheduler, run=state.run, seed=state.seed,
                     repeats=state.repeats, planned=len(planned),
                     results=sum(1 for r in records if r.run == state.run), levels=rows, confusion=matrix)
    title = (f"stack {lab.stack} on {state.scheduler}: run {state.run}, seed {state.seed}, "
             f"{state.repeats} submissions per job")
    replace_tree(out, run_report_files(title, doc, joined), f"compatlab report ({state.run})")
    return rows, matrix
