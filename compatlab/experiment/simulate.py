"""The experiment without a cloud: every workload at every level, through the embedded matcher.

For each level, each workload's jobspec goes to the embedded scheduler; one of the
matching clusters is picked at random (seeded, like rainbow's default random
selection) and the outcome model says what would happen there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TypedDict, cast

import numpy as np
import yaml

from compatlab.formats.generate import generate
from compatlab.lab.model import Lab
from compatlab.scheduler.clusters import clusters_from_files
from compatlab.scheduler.embedded import select, selection_key
from compatlab.scheduler.index import Index
from compatlab.scheduler.rainbow_index import RainbowIndex
from compatlab.scheduler.request import read_request

from .outcomes import FAILURES, OK, Outcome, outcome
from .stats import expected, wilson

REJECTED = "rejected"


@dataclass(frozen=True)
class JobRecord:
    """One submitted job: where it could go, where it went, what happened."""

    level: str
    workload: str
    trial: int
    jobspec: str
    matches: tuple[str, ...]
    cluster: str | None
    outcome: str  # an outcome mode, or "rejected" when no cluster matched
    detail: str
    runnable_on: tuple[str, ...]  # where it would really succeed
    rainbow_also: tuple[str, ...]  # where real rainbow would also place it (we reject)


class JobRecordJson(TypedDict):
    """A ``JobRecord`` as JSON (``records.json``, an array of them): its fields, tuples as lists of names."""

    level: str
    workload: str
    trial: int
    jobspec: str
    matches: list[str]
    cluster: str | None
    outcome: str
    detail: str
    runnable_on: list[str]
    rainbow_also: list[str]


class RainbowAlsoPlaces(TypedDict):
    """A (workload, cluster) pair real rainbow would place that the embedded matcher rejects, and its outcome."""

    workload: str
    cluster: str
    outcome: str


class LevelCountsJson(TypedDict):
    """What a level's row holds in a simulation and in a run alike: counts of jobs, and shares in 0..1."""

    level: str
    jobs: int
    placed_ok: int
    placed_failed: dict[str, int]
    rejected: int
    rejected_runnable: int
    accuracy: float
    match_precision: float | None


class LevelSummaryJson(LevelCountsJson):
    """A ``LevelSummary`` as JSON (``summary.json``'s ``levels``): its fields, shares in 0..1."""

    rainbow_would_also_place: list[RainbowAlsoPlaces]
    expected_accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None
    rainbow_expected_accuracy: float | None


class SummaryJson(TypedDict):
    """``summary.json``: the settings, cluster and workload counts, and a ``LevelSummaryJson`` per level."""

    stack: str
    seed: int
    repeats: int
    clusters: int
    workloads: int
    levels: list[LevelSummaryJson]


@dataclass(frozen=True)
class LevelSummary:
    """One level's results: counts of jobs by outcome, rejections, accuracy and precision (shares, 0..1).

    ``rainbow_would_also_place`` lists ``{workload, cluster, outcome}`` that real
    rainbow's deviations (DESIGN.md) would allow although the embedded matcher rejects them.
    """

    level: str
    jobs: int
    placed_ok: int
    placed_failed: dict[str, int]
    rejected: int
    rejected_runnable: int  # rejected although some cluster could run it
    accuracy: float  # placed and succeeded, or rejected with nowhere to run
    match_precision: float | None  # share of matched (job, cluster) pairs that would succeed
    rainbow_would_also_place: list[RainbowAlsoPlaces] = field(default_factory=list)
    # The exact expectation of accuracy under random selection, the sampled accuracy's 95% Wilson interval,
    # and real rainbow's expected accuracy (emulated; a pair where its answer varies counts as a match).
    expected_accuracy: float | None = None
    accuracy_low: float | None = None
    accuracy_high: float | None = None
    rainbow_expected_accuracy: float | None = None

    def as_json(self) -> LevelSummaryJson:
        """The level as JSON: ``asdict`` of its fields."""
        return cast(LevelSummaryJson, asdict(self))  # asdict gives exactly the fields LevelSummaryJson names


@dataclass(frozen=True)
class Simulation:
    """A whole simulated experiment.

    Its settings, every ``JobRecord``, a ``LevelSummary`` per level, and the
    generated files (``{relative path: bytes}``) that were matched.
    """

    stack: str
    seed: int
    repeats: int
    clusters: tuple[str, ...]
    records: tuple[JobRecord, ...]
    levels: tuple[LevelSummary, ...]
    files: dict[str, bytes]  # the generated metadata and jobspecs that were matched

    def summary(self) -> SummaryJson:
        """The JSON-ready summary: ``{stack, seed, repeats, clusters, workloads, levels: [LevelSummary as dict]}``."""
        return {
            "stack": self.stack,
            "seed": self.seed,
            "repeats": self.repeats,
            "clusters": len(self.clusters),
            "workloads": len({r.workload for r in self.records}),
            "levels": [level.as_json() for level in self.levels],
        }


def simulate(lab: Lab, seed: int = 0, repeats: int = 10) -> Simulation:
    """Submit every workload ``repeats`` times per level to the embedded matcher (fresh random picks each time).

    One matching cluster is picked at random with ``seed`` (like rainbow's default
    random selection); the outcome model says what happens there. Raises ``LabError``
    only if the generated files are invalid.
    """
    files = generate(lab)
    clusters = clusters_from_files(files)
    index = Index(clusters)
    rainbow_index = RainbowIndex(clusters, index)
    names = [c.name for c in clusters]
    # What really happens depends on the workload and the cluster, never on the level.
    fates = {w.name: {mc.name: outcome(w, mc) for mc in lab.miniclusters} for w in lab.workloads}
    records = []
    exact: dict[str, tuple[float, float]] = {}
    for level in lab.levels:
        ours, theirs, runnable_on = [], [], []
        for workload in lab.workloads:
            rel = f"jobspecs/{level.name}/{workload.name}.yaml"
            request = read_request(yaml.safe_load(files[rel]), rel)
            matches = index.matches(request)
            here = fates[workload.name]
            runnable = tuple(sorted(n for n, f in here.items() if f.ok))
            may = rainbow_index.answers(request) >= 1  # match, or varies between calls
            rainbow = tuple(sorted(n for n, m in zip(names, may, strict=True) if m and n not in matches))
            ours.append([n in matches for n in names])
            theirs.append(may)
            runnable_on.append([n in runnable for n in names])
            for trial in range(repeats):
                # The embedded scheduler's own pick, so `compatlab run --embedded` lands the same way.
                chosen = select(matches, selection_key(seed, f"{level.name}.{workload.name}.{trial}")) \
                    if matches else None
                fate = here[chosen] if chosen else None
                records.append(JobRecord(
                    level=level.name, workload=workload.name, trial=trial, jobspec=rel, matches=tuple(matches),
                    cluster=chosen, outcome=fate.mode if fate else REJECTED,
                    detail=fate.detail if fate else "no cluster matched",
                    runnable_on=runnable, rainbow_also=rainbow,
                ))
        truth = np.array(runnable_on, dtype=bool)
        exact[level.name] = (expected(np.array(ours, dtype=bool), truth).accuracy,
                             expected(np.array(theirs, dtype=bool), truth).accuracy)
    summaries = tuple(summarise(level.name, [r for r in records if r.level == level.name], fates, exact[level.name])
                      for level in lab.levels)
    cluster_names = tuple(sorted(mc.name for mc in lab.miniclusters))
    return Simulation(lab.stack, seed, repeats, cluster_names, tuple(records), summaries, files)


def summarise(level: str, records: list[JobRecord], fates: dict[str, dict[str, Outcome]],
              exact: tuple[float, float] | None = None) -> LevelSummary:
    """One level's ``LevelSummary`` from its job records (simulated, or observed in a run).

    ``placed_failed`` counts every failure mode of the model (zeros included) and
    any other observed mode (``failed-other``, ``pending``) that occurs; accuracy
    counts ``ok`` and rejections of jobs no cluster can run; match precision is
    over the first trial's matching (job, cluster) pairs. ``exact`` is (our expected
    accuracy, real rainbow's), when known; the interval is Wilson's at 95%.
    """
    modes = Counter(r.outcome for r in records)
    rejected = [r for r in records if r.outcome == REJECTED]
    correct = modes["ok"] + sum(1 for r in rejected if not r.runnable_on)
    first = [r for r in records if r.trial == 0]
    pairs = [(r, name) for r in first for name in r.matches]
    good = sum(1 for r, name in pairs if name in r.runnable_on)
    differs: list[RainbowAlsoPlaces] = [
        {"workload": r.workload, "cluster": name, "outcome": fates[r.workload][name].mode}
        for r in first for name in r.rainbow_also]
    extra = sorted(m for m in modes if m not in (OK, REJECTED, *FAILURES))
    return LevelSummary(
        level=level,
        jobs=len(records),
        placed_ok=modes[OK],
        placed_failed={mode: modes[mode] for mode in (*FAILURES, *extra)},
        rejected=len(rejected),
        rejected_runnable=sum(1 for r in rejected if r.runnable_on),
        accuracy=round(correct / len(records), 4) if records else 0.0,
        match_precision=round(good / len(pairs), 4) if pairs else None,
        rainbow_would_also_place=differs,
        expected_accuracy=round(exact[0], 4) if exact else None,
        accuracy_low=round(wilson(correct, len(records))[0], 4) if records else None,
        accuracy_high=round(wilson(correct, len(records))[1], 4) if records else None,
        rainbow_expected_accuracy=round(exact[1], 4) if exact else None,
    )
