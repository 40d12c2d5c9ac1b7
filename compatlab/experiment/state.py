"""A run's state on disk: credentials in ``state.json``, progress in append-only journals.

``<dir>/state.json`` (mode 0600, written whole): the scheduler it belongs to, the
stack, the run's id, seed and repeats, and per cluster the token and secret its
registration answered with and the subsystems registered. rainbow answers those
credentials once only, so they are saved the moment they arrive.

``<dir>/submissions.jsonl``: one event per submission step (``sending`` before
``SubmitJob``, then ``placed`` or ``rejected``). ``<dir>/received-<cluster>.jsonl``:
each job a receiver got (``received``, with its jobspec), then ``accepted``. All
are ``files.Journal``s, so a run killed at any instant (kill -9) loses nothing it
has been told, and a resumed run knows exactly what is left.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

from compatlab.errors import LabError
from compatlab.files import Journal, read_events, write_file
from compatlab.scheduler.interface import Credentials

STATE = "state.json"
SUBMISSIONS = "submissions.jsonl"


class ClusterStateJson(TypedDict):
    """A cluster in ``state.json``: its credentials and the subsystems registered (sorted)."""

    token: str
    secret: str
    subsystems: list[str]


class StateJson(TypedDict):
    """``state.json``, version 1: the scheduler, the stack and its file, the run's id, seed, repeats, clusters."""

    version: int
    scheduler: str
    stack: str
    stack_file: str
    run: str
    seed: int
    repeats: int
    clusters: dict[str, ClusterStateJson]


# submissions.jsonl: one line per step of a submission, tagged by "event".
class SendingEvent(TypedDict):
    """About to call ``SubmitJob`` for ``name`` (a kill after this leaves the answer unknown)."""

    event: Literal["sending"]
    name: str


class PlacedEvent(TypedDict):
    """The scheduler answered ``name``: the clusters that ``matches``, the ``cluster`` chosen and its ``job_id``."""

    event: Literal["placed"]
    name: str
    matches: list[str]
    cluster: str | None
    job_id: int | None


class RejectedEvent(TypedDict):
    """No cluster matched ``name`` (``matches`` is empty): it was never submitted."""

    event: Literal["rejected"]
    name: str
    matches: list[str]


class ForgottenEvent(TypedDict):
    """The scheduler forgot ``cluster`` (a rainbow restarted): the jobs queued there are submitted again."""

    event: Literal["forgotten"]
    cluster: str


SubmissionEvent = SendingEvent | PlacedEvent | RejectedEvent | ForgottenEvent


# received-<cluster>.jsonl: what one cluster's receiver got and did, tagged by "event".
class ReceivedEvent(TypedDict):
    """A job received and kept: rainbow's ``job_id``, its ``name``, the ``cluster``, the ``jobspec`` YAML."""

    event: Literal["received"]
    job_id: int
    name: str
    cluster: str
    jobspec: str


class DuplicateEvent(TypedDict):
    """A job received twice under one name: accepted, never run."""

    event: Literal["duplicate"]
    job_id: int
    name: str
    cluster: str


class AcceptedEvent(TypedDict):
    """``AcceptJobs`` took ``job_ids`` off the cluster's queue."""

    event: Literal["accepted"]
    job_ids: list[int]
    cluster: str


class StartedEvent(TypedDict):
    """The receiver started running the job (``start``, UTC ISO 8601)."""

    event: Literal["started"]
    job_id: int
    name: str
    start: str


class SubmittedEvent(TypedDict):
    """The executor has the job under its own id (``executor_job_id``: Flux's), so a restart can find it."""

    event: Literal["submitted"]
    job_id: int
    name: str
    executor_job_id: str


ReceiverEvent = ReceivedEvent | DuplicateEvent | AcceptedEvent | StartedEvent | SubmittedEvent


def read_receiver_events(path: Path) -> list[ReceiverEvent]:
    """The events of a ``received-<cluster>.jsonl`` journal, read without opening it for writing."""
    return cast(list[ReceiverEvent], read_events(path))  # lines a receiver's Journal.append wrote


def new_run_id() -> str:
    """A short random id (8 hex digits) that makes a run's job names unique on a shared scheduler."""
    return secrets.token_hex(4)


@dataclass
class ClusterState:
    """One registered cluster: its credentials and the subsystems already registered."""

    token: str
    secret: str
    subsystems: list[str] = field(default_factory=list)


@dataclass
class RunState:
    """What ``state.json`` holds.

    ``scheduler`` is ``embedded`` or rainbow's ``HOST:PORT``; ``stack`` the stack's
    name and ``stack_file`` its file (absolute), so later commands load the same lab.
    """

    directory: Path
    scheduler: str
    stack: str
    stack_file: str
    run: str
    seed: int = 0
    repeats: int = 1
    clusters: dict[str, ClusterState] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """``<directory>/state.json``."""
        return self.directory / STATE

    def save(self) -> None:
        """Write ``state.json`` whole, mode 0600 (it holds every cluster's secret)."""
        doc: StateJson = {"version": 1, "scheduler": self.scheduler, "stack": self.stack, "stack_file": self.stack_file,
               "run": self.run, "seed": self.seed,
               "repeats": self.repeats,
               "clusters": {n: {"token": c.token, "secret": c.secret, "subsystems": sorted(c.subsystems)}
                            for n, c in sorted(self.clusters.items())}}
        write_file(self.path, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode(), mode=0o600)

    def credentials(self, cluster: str) -> Credentials | None:
        """The cluster's token and secret, if this state registered it."""
        held = self.clusters.get(cluster)
        return Credentials(held.token, held.secret) if held else None

    def submissions(self) -> Journal[SubmissionEvent]:
        """The submissions journal (opened; close it when done)."""
        return Journal(self.directory / SUBMISSIONS)

    def received(self, cluster: str) -> Journal[ReceiverEvent]:
        """The journal of what ``cluster``'s receiver got (opened; close it when done)."""
        return received_journal(self.directory, cluster)

    def received_names(self) -> dict[str, str]:
        """Submission name -> the cluster that received it, from every receiver journal in the directory."""
        names: dict[str, str] = {}
        for path in sorted(self.directory.glob("received-*.jsonl")):
            for event in read_receiver_events(path):
                if event["event"] == "received":
                    names.setdefault(event["name"], event["cluster"])
        return names


def received_journal(directory: Path, cluster: str) -> Journal[ReceiverEvent]:
    """``<directory>/received-<cluster>.jsonl``, opened: a receiver needs only this, not a whole run state."""
    return Journal(directory / f"received-{cluster}.jsonl")


def load_state(directory: Path) -> RunState | None:
    """The state in ``directory``, or None when it has none yet.

    Raises ``LabError`` naming ``state.json`` when it does not parse or lacks a key.
    """
    path = directory / STATE
    if not path.exists():
        return None
    try:
        doc: dict[str, Any] = json.loads(path.read_text())  # any JSON: a key missing or mistyped is a LabError
        clusters = {n: ClusterState(c["token"], c["secret"], list(c.get("subsystems", [])))
                    for n, c in doc["clusters"].items()}
        return RunState(directory, doc["scheduler"], doc["stack"], doc["stack_file"], doc["run"],
                        int(doc.get("seed", 0)),
                        int(doc.get("repeats", 1)), clusters)
    except OSError as err:
        raise LabError(path, "", f"cannot read: {err.strerror}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise LabError(path, "", f"is not a compatlab run state ({type(err).__name__}: {err}); "
                       "allowed: the state.json compatlab register wrote") from None


def open_state(directory: Path, scheduler: str, stack: str, stack_file: Path) -> RunState:
    """The state in ``directory``, created for ``scheduler`` and ``stack`` when there is none.

    Raises ``LabError`` when the directory's state belongs to another scheduler
    (its tokens would mean nothing there) or another stack.
    """
    state = load_state(directory)
    if state is None:
        directory.mkdir(parents=True, exist_ok=True)
        state = RunState(directory, scheduler, stack, str(stack_file.resolve()), new_run_id())
        state.save()
        return state
    if state.scheduler != scheduler:
        raise LabError(state.path, "scheduler", f"this state belongs to {state.scheduler!r}, not {scheduler!r}; "
                       "allowed: another --state directory for another scheduler")
    if state.stack != stack:
        raise LabError(state.path, "stack", f"this state belongs to stack {state.stack!r}, not {stack!r}; "
                       "allowed: another --state directory for another stack")
    return state
