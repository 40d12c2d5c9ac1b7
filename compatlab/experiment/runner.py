"""The experiment through a scheduler: register every MiniCluster, submit every level, receive, record.

One loop for every scheduler behind ``scheduler.interface.Scheduler``: the
embedded matcher, a rainbow server on this machine, the rainbow behind the lab's
Ingress. Each step is journalled (``state``) before the next begins, so a run
killed at any point and started again with the same state ends with every
planned submission recorded exactly once: a submission whose answer was lost
(``sending`` in the journal) is recognised when a receiver gets it by its name,
and only submitted again if no cluster did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from compatlab.errors import LabError
from compatlab.lab.model import Lab
from compatlab.scheduler.embedded import selection_key
from compatlab.scheduler.interface import Scheduler, SchedulerError

from .records import JobName
from .state import ClusterState, RunState

SUFFIX = "-subsystem.json"
Tick = Callable[[str], None]  # told what was just done (for a progress bar)


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class Planned:
    """One planned submission: its name and the generated jobspec it submits (``jobspecs/<level>/<workload>.yaml``)."""

    name: JobName
    jobspec: str

    @property
    def key(self) -> str:
        """``<level>.<workload>.<trial>``: the submission within any run of the same plan."""
        return f"{self.name.level}.{self.name.workload}.{self.name.trial}"


def plan(lab: Lab, run: str, repeats: int) -> list[Planned]:
    """Every level's every workload ``repeats`` times, in the simulation's order (level, workload, trial)."""
    return [Planned(JobName(run, level.name, workload.name, trial), f"jobspecs/{level.name}/{workload.name}.yaml")
            for level in lab.levels for workload in lab.workloads for trial in range(repeats)]


@dataclass(frozen=True)
class Registered:
    """What ``register`` did: clusters newly ``registered``, ``reused`` (REGISTER_EXISTS), subsystems sent."""

    registered: tuple[str, ...]
    reused: tuple[str, ...]
    subsystems: int


def register(scheduler: Scheduler, lab: Lab, files: dict[str, bytes], state: RunState,
             tick: Tick = _quiet) -> Registered:
    """Register every MiniCluster's ``nodes.json`` and each of its subsystem files, exactly as generated.

    Credentials are saved the moment they arrive. A cluster the scheduler already
    knows (REGISTER_EXISTS) reuses the state's credentials; one the state has no
    credentials for is a ``LabError`` naming it (rainbow never gives them again).
    A scheduler that forgot a cluster (a restarted rainbow) registers it anew.
    """
    registered, reused, sent = [], [], 0
    for mc in lab.miniclusters:
        prefix = f"clusters/{mc.name}/"
        answer = scheduler.register(mc.name, files[f"{prefix}nodes.json"])
        if answer.existed and mc.name not in state.clusters and answer.credentials:
            state.clusters[mc.name] = ClusterState(answer.credentials.token, answer.credentials.secret)
            state.save()
            reused.append(mc.name)
        elif answer.existed:
            if mc.name not in state.clusters:
                raise LabError(state.path, f"clusters.{mc.name}",
                               f"cluster {mc.name} is already registered with {scheduler.endpoint}, but its token "
                               "and secret are not in this state (rainbow answers them once: another --state, or a "
                               "registration killed before its answer was saved); allowed: the --state directory "
                               "of its first registration, or a rainbow restarted with --cleanup")
            reused.append(mc.name)
        else:
            assert answer.credentials is not None
            if mc.name in state.clusters:
                # The scheduler forgot this cluster (a rainbow restarted with a new database): the jobs it
                # had queued there are gone, so they must be submitted again.
                journal = state.submissions()
                journal.append({"event": "forgotten", "cluster": mc.name})
                journal.close()
            state.clusters[mc.name] = ClusterState(answer.credentials.token, answer.credentials.secret)
            state.save()
            registered.append(mc.name)
        held = state.clusters[mc.name]
        for rel in sorted(r for r in files if r.startswith(prefix) and r.endswith(SUFFIX)):
            subsystem = rel[len(prefix):-len(SUFFIX)]
            if subsystem in held.subsystems:
                continue
            try:
                scheduler.register_subsystem(mc.name, subsystem, files[rel], held.secret)
            except SchedulerError as err:
                # Registered before a crash lost the answer: the same generated file, so it is done.
                if f"subsystem {subsystem} already exists" not in str(err):
                    raise
            held.subsystems.append(subsystem)
            state.save()
            sent += 1
        tick(mc.name)
    return Registered(tuple(registered), tuple(reused), sent)


@dataclass(frozen=True)
class Submitted:
    """What ``submit`` did: ``placed`` and ``rejected`` now, ``skipped`` (done before), ``planned`` in all.

    ``unanswered``: submissions sent before a crash whose answer never came, and
    not resent (they may be queued: receive first, or resend them on purpose).
    """

    planned: int
    placed: int
    rejected: int
    skipped: int
    unanswered: int = 0


def submission_status(state: RunState) -> tuple[set[str], set[str]]:
    """(names submitted for good, names sent whose answer was lost), from the journals.

    Submitted: placed or rejected, or received by a cluster; a placement on a
    cluster the scheduler later forgot (``forgotten``) counts only if it was received.
    """
    journal = state.submissions()
    try:
        events = list(journal.events)
    finally:
        journal.close()
    received = state.received_names()
    placed: dict[str, str | None] = {}
    sending: set[str] = set()
    for event in events:
        if event["event"] == "sending":
            sending.add(event["name"])
        elif event["event"] == "placed" or event["event"] == "rejected":
            placed[event["name"]] = event.get("cluster") if event["event"] == "placed" else None
            sending.discard(event["name"])
        elif event["event"] == "forgotten":
            lost = {n for n, c in placed.items() if c == event["cluster"] and n not in received}
            for name in lost:
                del placed[name]
    done = set(placed) | set(received)
    return done, sending - done


def submit(scheduler: Scheduler, files: dict[str, bytes], state: RunState, planned: list[Planned],
           global_token: str | None = None, tick: Tick = _quiet, resend_unanswered: bool = False) -> Submitted:
    """Submit each planned job not yet submitted: ``Satisfy``, then ``SubmitJob`` to the matching clusters.

    A jobspec no cluster satisfies is journalled ``rejected`` and never reaches
    ``SubmitJob``, as rainbow's client does. Tokens come from the state, else the
    scheduler's global token. A submission whose answer was lost in a crash may be
    queued already: it is resent only with ``resend_unanswered`` (``run`` receives
    on every cluster first, so what is still unanswered then was never queued).
    Raises ``SchedulerError``; everything journalled stays.
    """
    done, unanswered = submission_status(state)
    journal = state.submissions()
    journal.lock("another submit is using this state")
    placed = rejected = skipped = held_back = 0
    try:
        for job in planned:
            name = str(job.name)
            if name in done:
                skipped += 1
                tick(name)
                continue
            if name in unanswered and not resend_unanswered:
                held_back += 1
                tick(name)
                continue
            doc: dict[str, Any] = yaml.safe_load(files[job.jobspec])
            matches = scheduler.satisfy(doc)
            if not matches:
                journal.append({"event": "rejected", "name": name, "matches": []})
                rejected += 1
                tick(name)
                continue
            by_cluster = {c: _token(state, c, global_token) for c in matches}
            tokens = {c: t for c, t in by_cluster.items() if t}
            if not tokens:
                raise SchedulerError(f"{scheduler.endpoint} matched {name} to {', '.join(matches)}, but this state "
                                     "holds no token for them and no global token was given")
            journal.append({"event": "sending", "name": name})
            answer = scheduler.submit(name, doc, tokens, selection_key(state.seed, job.key))
            journal.append({"event": "placed", "name": name, "matches": list(matches), "cluster": answer.cluster,
                            "job_id": answer.job_id})
            placed += 1
            tick(name)
    finally:
        journal.close()
    return Submitted(len(planned), placed, rejected, skipped, held_back)


def _token(state: RunState, cluster: str, global_token: str | None) -> str | None:
    held = state.clusters.get(cluster)
    return held.token if held else global_token
