"""A run's results joined: submissions (the state), predictions (the outcome model), observations (the records).

Per planned job: what the scheduler matched and where it placed it (or that it
rejected it), what the outcome model predicts there, and what the result record
observed. The per-level rows have the shape of ``simulate``'s, plus what only a
real run can show: jobs still ``pending`` (placed, no record yet) and placements
the embedded matcher would have refused, with its reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, TypedDict, cast

import yaml

from compatlab.lab.model import Lab
from compatlab.scheduler.clusters import clusters_from_files
from compatlab.scheduler.index import Index
from compatlab.scheduler.match import explain
from compatlab.scheduler.request import read_request

from .outcomes import outcome
from .records import ResultRecord
from .runner import Planned
from .simulate import REJECTED, JobRecord, LevelCountsJson, summarise
from .state import RunState

PENDING = "pending"  # placed, but no result record yet
NOT_SUBMITTED = "not-submitted"


class EmbeddedRejects(TypedDict):
    """A (workload, cluster) the scheduler placed jobs on that the embedded matcher refuses: why, and how many."""

    workload: str
    cluster: str
    reason: str
    jobs: int


class RunLevelJson(LevelCountsJson):
    """One level of a run (``report.json``'s and ``run --json``'s ``levels``): ``LevelSummaryJson``'s fields
    but ``rainbow_would_also_place``, plus the counts only a run has. Shares in 0..1."""

    expected_accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None
    rainbow_expected_accuracy: float | None
    decided: int
    pending: int
    not_submitted: int
    placed_where_embedded_rejects: list[EmbeddedRejects]


class ReportJson(TypedDict):
    """``report.json``: the run's settings and counts, a ``RunLevelJson`` per level, and the confusion matrix
    (predicted mode -> observed mode -> placed jobs with a record)."""

    stack: str
    scheduler: str
    run: str
    seed: int
    repeats: int
    planned: int
    results: int
    levels: list[RunLevelJson]
    confusion: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Joined:
    """One planned job, joined: placement, prediction, observation.

    ``observed`` is the record's outcome, ``rejected``, ``pending`` or
    ``not-submitted``; ``predicted`` is the model's mode on the placed cluster
    (None when not placed); ``embedded_rejects`` is the embedded matcher's
    reason when the scheduler placed the job where it would not have.
    """

    name: str
    level: str
    workload: str
    trial: int
    matches: tuple[str, ...]
    cluster: str | None
    predicted: str | None
    observed: str
    evidence: str
    exit_code: int | None
    runnable_on: tuple[str, ...]
    embedded_rejects: str | None


def join(lab: Lab, files: dict[str, bytes], state: RunState, planned: list[Planned],
         records: list[ResultRecord]) -> list[Joined]:
    """Join every planned job with its journal events and its record (records of other runs are ignored)."""
    journal = state.submissions()
    try:
        events = {e["name"]: e for e in journal.events if e["event"] == "placed" or e["event"] == "rejected"}
    finally:
        journal.close()
    received = state.received_names()
    by_name = {r.name: r for r in records}
    clusters = {c.name: c for c in clusters_from_files(files)}
    index = Index(list(clusters.values()))
    fates = {w.name: {mc.name: outcome(w, mc) for mc in lab.miniclusters} for w in lab.workloads}
    requests: dict[str, Any] = {}
    out = []
    for job in planned:
        name = str(job.name)
        if job.jobspec not in requests:
            request = read_request(yaml.safe_load(files[job.jobspec]), job.jobspec)
            requests[job.jobspec] = (request, tuple(index.matches(request)))
        request, embedded = requests[job.jobspec]
        here = fates[job.name.workload]
        runnable = tuple(sorted(n for n, f in here.items() if f.ok))
        event, record = events.get(name), by_name.get(name)
        placed = event.get("cluster") if event is not None and event["event"] == "placed" else None
        cluster = record.cluster if record else placed or received.get(name)
        # What the scheduler matched; a job received before its answer was journalled has the embedded
        # matcher's answer, and one never submitted has none.
        matches = tuple(event["matches"]) if event else (embedded if cluster else ())
        if record:
            observed, evidence, code = record.outcome, record.evidence, record.exit_code
        elif event and event["event"] == "rejected":
            observed, evidence, code = REJECTED, "no cluster matched", None
        elif cluster:
            observed, evidence, code = PENDING, "placed; no result record yet", None
        else:
            observed, evidence, code = NOT_SUBMITTED, "not submitted yet", None
        predicted = here[cluster].mode if cluster in here else None
        refused = None
        if cluster and cluster in clusters and cluster not in embedded:
            refused = explain(clusters[cluster], request)
        out.append(Joined(name, job.name.level, job.name.workload, job.name.trial, matches, cluster, predicted,
                          observed, evidence, code, runnable, refused))
    return out


def level_rows(lab: Lab, joined: list[Joined]) -> list[RunLevelJson]:
    """Per level, ``simulate --json``'s row plus what only a run has.

    ``jobs`` counts every planned job; ``decided`` those with an outcome (a record
    or a rejection), over which accuracy and the failure counts are taken;
    ``pending`` those placed without a record yet; ``not_submitted`` the rest;
    ``placed_where_embedded_rejects`` where the scheduler placed a job the
    embedded matcher refuses, and why. For a finished run, the rows equal
    ``simulate``'s when the scheduler is the embedded one.
    """
    fates = {w.name: {mc.name: outcome(w, mc) for mc in lab.miniclusters} for w in lab.workloads}
    rows = []
    for level in lab.levels:
        mine = [j for j in joined if j.level == level.name]
        decided = [j for j in mine if j.observed not in (PENDING, NOT_SUBMITTED)]
        records = [JobRecord(j.level, j.workload, j.trial, f"jobspecs/{j.level}/{j.workload}.yaml", j.matches,
                             j.cluster, j.observed, j.evidence, j.runnable_on, ()) for j in decided]
        row: dict[str, Any] = asdict(summarise(level.name, records, fates))
        row["jobs"], row["decided"] = len(mine), len(decided)
        row["pending"] = sum(1 for j in mine if j.observed == PENDING)
        row["not_submitted"] = sum(1 for j in mine if j.observed == NOT_SUBMITTED)
        refused = Counter((j.workload, j.cluster or "", j.embedded_rejects) for j in mine if j.embedded_rejects)
        row["placed_where_embedded_rejects"] = [
            EmbeddedRejects(workload=w, cluster=c, reason=why, jobs=n) for (w, c, why), n in sorted(refused.items())]
        row.pop("rainbow_would_also_place")
        rows.append(cast(RunLevelJson, row))  # the keys RunLevelJson names: tests/test_json_shapes.py
    return rows


def confusion(joined: list[Joined]) -> dict[str, dict[str, int]]:
    """Predicted mode -> observed mode -> count, over placed jobs that have a record."""
    counts = Counter((j.predicted, j.observed) for j in joined
                     if j.predicted is not None and j.observed not in (PENDING, NOT_SUBMITTED, REJECTED))
    table: dict[str, dict[str, int]] = {}
    for (predicted, observed), n in sorted(counts.items()):
        table.setdefault(predicted, {})[observed] = n
    return table
