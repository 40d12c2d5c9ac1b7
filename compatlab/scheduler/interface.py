"""One interface over every scheduler the experiment runs against.

The same loop (register, submit per level, receive, record) drives the embedded
matcher (``embedded.EmbeddedScheduler``), a rainbow server started locally and
the rainbow behind the lab's Ingress (``rainbow.RainbowScheduler``). The calls
and their order are rainbow's own (its Python client 0.0.16 and server, main
branch): ``Register`` then ``RegisterSubsystem`` per subsystem; ``Satisfy`` then
``SubmitJob`` with a token per matching cluster; ``ReceiveJobs`` then
``AcceptJobs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from compatlab.formats.nextgen import JobspecDoc


@dataclass(frozen=True)
class Credentials:
    """What registering a cluster hands back: ``token`` (submitters send it) and ``secret`` (the cluster's own).

    rainbow answers these once, on the first registration; a second registration
    answers REGISTER_EXISTS with neither (rainbow ``pkg/database/register.go``), so
    they must be kept from the first answer.
    """

    token: str
    secret: str


@dataclass(frozen=True)
class Registration:
    """The answer to registering one cluster: new ``credentials``, or ``existed``.

    rainbow answers an existing cluster with no credentials; the embedded
    scheduler, whose caller owns it, hands the kept ones back.
    """

    cluster: str
    credentials: Credentials | None
    existed: bool


@dataclass(frozen=True)
class Placement:
    """The answer to one submission.

    ``matches``: the clusters whose graphs satisfy the jobspec (``Satisfy``);
    ``cluster``: the one the scheduler selected, None when nothing matched (the
    job is rejected and never reaches ``SubmitJob``); ``job_id``: the scheduler's
    job id when it says one (real rainbow answers 0, so the id is learned on receive).
    """

    name: str
    matches: tuple[str, ...]
    cluster: str | None
    job_id: int | None = None


@dataclass(frozen=True)
class ReceivedJob:
    """A job handed to a cluster: rainbow's ``id``, the submission ``name`` and the jobspec as YAML text."""

    job_id: int
    cluster: str
    name: str
    jobspec: str


class SchedulerError(Exception):
    """The scheduler refused or failed a call; ``str(err)`` is one line naming the endpoint and the call."""


class Denied(SchedulerError):
    """The scheduler denied a secret or token; the message names the cluster. The CLI exits 2."""


class Unavailable(SchedulerError):
    """The scheduler did not answer after every retry (UNAVAILABLE or DEADLINE_EXCEEDED). The CLI exits 1."""


class Scheduler(Protocol):
    """What the experiment loop needs of a scheduler. Every method may raise ``SchedulerError``."""

    endpoint: str

    def register(self, cluster: str, nodes: bytes) -> Registration:
        """Register a cluster's dominant graph (``nodes.json`` bytes) with the scheduler secret."""
        ...

    def register_subsystem(self, cluster: str, subsystem: str, graph: bytes, secret: str) -> None:
        """Register one ``<subsystem>-subsystem.json`` for a cluster, with that cluster's secret."""
        ...

    def satisfy(self, jobspec: JobspecDoc) -> tuple[str, ...]:
        """Names of the registered clusters whose graphs satisfy the jobspec, sorted."""
        ...

    def submit(self, name: str, jobspec: JobspecDoc, clusters: dict[str, str], select_key: str) -> Placement:
        """Submit a jobspec under ``name`` to one of ``clusters`` (name -> token), as the scheduler selects.

        ``select_key`` seeds the embedded scheduler's random pick, so a run can be
        repeated; real rainbow picks with its own randomness and ignores it.
        """
        ...

    def receive(self, cluster: str, secret: str, max_jobs: int = 0) -> list[ReceivedJob]:
        """The jobs queued for ``cluster`` (at most ``max_jobs``; 0: all), still queued until accepted."""
        ...

    def accept(self, cluster: str, secret: str, job_ids: list[int]) -> None:
        """Take jobs off ``cluster``'s queue: from now on only the receiver's own records hold them."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
