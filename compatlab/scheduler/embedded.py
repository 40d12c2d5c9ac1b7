"""The embedded scheduler: rainbow's calls answered in process, by the embedded matcher.

It keeps what rainbow keeps (registered clusters with their token and secret,
their graphs, a queue of jobs per cluster) and answers with rainbow's statuses:
REGISTER_EXISTS without credentials for a second registration, denial for a
wrong secret or token, jobs that stay queued until accepted. Its state lives in
a ``Journal`` when given a path, as rainbow keeps clusters and jobs in sqlite,
so a run killed at any instant resumes where it stopped.

Selection among matching clusters is random, like rainbow's default ``random``
selection, but drawn from ``select_key``: the same key always picks the same
cluster, so ``compatlab simulate`` and ``compatlab run --embedded`` agree.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypedDict

from compatlab.files import Journal
from compatlab.formats.jobspecs import jobspec_yaml
from compatlab.formats.nextgen import JobspecDoc

from .clusters import Cluster, build_cluster
from .index import Index
from .interface import Credentials, Denied, Placement, ReceivedJob, Registration, SchedulerError
from .request import read_request

ENDPOINT = "embedded"


# The store's journal: one line per change, tagged by "event" (graphs as the JSON registered).
class RegisterEvent(TypedDict):
    """A cluster registered: its credentials and ``nodes.json``."""

    event: Literal["register"]
    cluster: str
    token: str
    secret: str
    nodes: dict[str, Any]


class SubsystemEvent(TypedDict):
    """A subsystem graph registered for a cluster."""

    event: Literal["subsystem"]
    cluster: str
    subsystem: str
    graph: dict[str, Any]


class SubmitEvent(TypedDict):
    """A job queued on ``cluster`` under rainbow-like ``id``, with its ``name`` and jobspec YAML."""

    event: Literal["submit"]
    id: int
    cluster: str
    name: str
    jobspec: str


class AcceptEvent(TypedDict):
    """Jobs taken off ``cluster``'s queue."""

    event: Literal["accept"]
    cluster: str
    ids: list[int]


StoreEvent = RegisterEvent | SubsystemEvent | SubmitEvent | AcceptEvent


class _Graphs(TypedDict):
    """What a registered cluster has sent: ``nodes.json`` and each subsystem's graph, by name."""

    nodes: dict[str, Any]
    subsystems: dict[str, dict[str, Any]]


class _Queued(TypedDict):
    name: str
    jobspec: str


def selection_key(seed: int, submission: str) -> str:
    """The key of one submission's pick: ``<seed>/<level>.<workload>.<trial>`` (the same in every run of a plan)."""
    return f"{seed}/{submission}"


def select(matches: tuple[str, ...] | list[str], select_key: str) -> str:
    """Pick one of ``matches`` at random, the same one for the same ``select_key`` (a str seed)."""
    return random.Random(select_key).choice(sorted(matches))


class EmbeddedScheduler:
    """rainbow's protocol in process: register, satisfy, submit, receive, accept.

    ``store`` is a journal file that keeps every registration and queued job
    across processes (None: memory only). The caller is in process, so
    registering needs no scheduler secret. Raises ``Denied`` like rainbow for a
    wrong cluster secret or token, ``SchedulerError`` for a graph rainbow would refuse.
    """

    endpoint = ENDPOINT

    def __init__(self, store: Path | None = None) -> None:
        self._credentials: dict[str, Credentials] = {}
        self._graphs: dict[str, _Graphs] = {}
        self._queues: dict[str, dict[int, _Queued]] = {}
        self._next_id = 1
        self._index: tuple[list[Cluster], Index] | None = None
        self._journal: Journal[StoreEvent] | None = Journal(store) if store else None
        for event in self._journal.events if self._journal else ():
            self._apply(event)
        self._applied = len(self._journal.events) if self._journal else 0

    # Every change is an event: applied in memory, and journalled first when there is a store.
    def _record(self, event: StoreEvent) -> None:
        if self._journal:
            self._journal.append(event)
        self._apply(event)

    @contextmanager
    def _shared(self) -> Iterator[None]:
        # Several processes may share a store (a submitter and a receiver looping): each call takes
        # the store's lock and first applies what the others appended, as rainbow's database would.
        if self._journal is None:
            yield
            return
        self._journal.wait_lock()
        try:
            for event in self._journal.events[self._applied:]:
                self._apply(event)
            yield
        finally:
            self._applied = len(self._journal.events)
            self._journal.unlock()

    def _apply(self, event: StoreEvent) -> None:
        if event["event"] == "register":
            self._credentials[event["cluster"]] = Credentials(event["token"], event["secret"])
            self._graphs[event["cluster"]] = {"nodes": event["nodes"], "subsystems": {}}
            self._queues[event["cluster"]] = {}
            self._index = None
        elif event["event"] == "subsystem":
            self._graphs[event["cluster"]]["subsystems"][event["subsystem"]] = event["graph"]
            self._index = None
        elif event["event"] == "submit":
            self._queues[event["cluster"]][event["id"]] = {"name": event["name"], "jobspec": event["jobspec"]}
            self._next_id = max(self._next_id, event["id"] + 1)
        elif event["event"] == "accept":
            for job_id in event["ids"]:
                self._queues[event["cluster"]].pop(job_id, None)

    def _check(self, cluster: str, secret: str, what: str) -> None:
        held = self._credentials.get(cluster)
        if held is None or not secrets.compare_digest(held.secret, secret):
            raise Denied(f"{ENDPOINT} scheduler denied {what} for cluster {cluster}: wrong cluster secret")

    def register(self, cluster: str, nodes: bytes) -> Registration:
        """Register a cluster's ``nodes.json``; a known cluster answers ``existed`` and no credentials."""
        with self._shared():
            if cluster in self._credentials:
                # In process the caller is this scheduler's owner: it may have its credentials back, so a
                # run killed between registering and saving them is not stranded (rainbow cannot do this).
                return Registration(cluster, self._credentials[cluster], existed=True)
            doc = _graph(nodes, cluster, "nodes.json")
            build_cluster(cluster, doc, {}, f"{ENDPOINT}/{cluster}")  # refuse what rainbow would refuse
            creds = Credentials(token=secrets.token_hex(16), secret=secrets.token_hex(16))
            self._record({"event": "register", "cluster": cluster, "token": creds.token, "secret": creds.secret,
                          "nodes": doc})
            return Registration(cluster, creds, existed=False)

    def register_subsystem(self, cluster: str, subsystem: str, graph: bytes, secret: str) -> None:
        """Register one subsystem graph with the cluster's secret; a second time is an error, as in rainbow."""
        with self._shared():
            self._check(cluster, secret, f"registering subsystem {subsystem}")
            if subsystem in self._graphs[cluster]["subsystems"]:
                raise SchedulerError(f"{ENDPOINT} scheduler: subsystem {subsystem} already exists for "
                                     f"cluster {cluster}")
            doc = _graph(graph, cluster, f"{subsystem}-subsystem.json")
            current = self._graphs[cluster]
            build_cluster(cluster, current["nodes"], {**current["subsystems"], subsystem: doc},
                          f"{ENDPOINT}/{cluster}")
            self._record({"event": "subsystem", "cluster": cluster, "subsystem": subsystem, "graph": doc})

    def _matcher(self) -> tuple[list[Cluster], Index]:
        if self._index is None:
            clusters = [build_cluster(name, g["nodes"], g["subsystems"], f"{ENDPOINT}/{name}")
                        for name, g in sorted(self._graphs.items())]
            self._index = (clusters, Index(clusters))
        return self._index

    def satisfy(self, jobspec: JobspecDoc) -> tuple[str, ...]:
        """Names of the registered clusters that satisfy ``jobspec`` (the embedded matcher's semantics)."""
        with self._shared():
            _, index = self._matcher()
            return tuple(index.matches(read_request(jobspec, "submitted jobspec")))

    def submit(self, name: str, jobspec: JobspecDoc, clusters: dict[str, str], select_key: str) -> Placement:
        """Queue the job on one of ``clusters`` (name -> token), picked by ``select(clusters, select_key)``."""
        with self._shared():
            if not clusters:
                raise SchedulerError(f"{ENDPOINT} scheduler: one or more authenticated clusters are required")
            for cluster, token in clusters.items():
                held = self._credentials.get(cluster)
                if held is None or not secrets.compare_digest(held.token, token):
                    raise Denied(f"{ENDPOINT} scheduler denied submitting {name} to cluster {cluster}: wrong token")
            chosen = select(list(clusters), select_key)
            job_id = self._next_id
            self._record({"event": "submit", "id": job_id, "cluster": chosen, "name": name,
                          "jobspec": jobspec_yaml(jobspec)})
            return Placement(name, tuple(sorted(clusters)), chosen, job_id)

    def receive(self, cluster: str, secret: str, max_jobs: int = 0) -> list[ReceivedJob]:
        """The jobs queued for ``cluster`` in id order (at most ``max_jobs``; 0: all). They stay until accepted."""
        with self._shared():
            self._check(cluster, secret, "receiving jobs")
            queue = sorted(self._queues[cluster].items())
            if max_jobs > 0:
                queue = queue[:max_jobs]
            return [ReceivedJob(job_id, cluster, job["name"], job["jobspec"]) for job_id, job in queue]

    def accept(self, cluster: str, secret: str, job_ids: list[int]) -> None:
        """Remove the jobs from ``cluster``'s queue."""
        with self._shared():
            self._check(cluster, secret, "accepting jobs")
            self._record({"event": "accept", "cluster": cluster, "ids": sorted(job_ids)})

    def close(self) -> None:
        """Close the journal."""
        if self._journal:
            self._journal.close()


def _graph(data: bytes, cluster: str, name: str) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads(data)  # build_cluster checks it is a JGF document
    except ValueError as err:
        raise SchedulerError(f"{ENDPOINT} scheduler: cluster {cluster} {name} is invalid: {err}") from None
    return doc
