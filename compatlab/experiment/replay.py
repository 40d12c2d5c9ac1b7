"""Replay any rainbow experiment: a registration directory and a directory of jobspecs in, per-level accuracy out.

A level is a cumulative set of subsystems: at each level every jobspec keeps the
``requires`` items of those subsystems only (counts and replicas stay), ``none`` first
(no items). Levels come from a YAML file (level name -> subsystems it adds, in order);
a last level ``all`` keeps every item when the file leaves some out (without a file:
``none`` and ``all``). A cluster can run a job when it satisfies the fully descriptive
jobspec (every item), unless a truth file names the runnable clusters of every jobspec.

Per level: the exact expected accuracy (``stats``), match precision, rejections, and what
real rainbow would answer (``scheduler.rainbow_index``): its own expected accuracy, the
pairs it matches and we do not, those it refuses, those where it varies between calls.
A varying pair is counted as a match in rainbow's headline accuracy (rainbow can place
the job there) and as a miss in ``expected_accuracy_certain``: the two bracket what a
run sees. With ``repeats``, each job is also submitted that many times (seeded) and the
sampled accuracy comes with its 95% Wilson interval.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypedDict, cast

import numpy as np

from compatlab.errors import LabError, brief
from compatlab.files import dump_json
from compatlab.inputs import load_yaml
from compatlab.scheduler.clusters import Cluster
from compatlab.scheduler.corpus import paused_gc, quiet_worker, workers
from compatlab.scheduler.index import Index
from compatlab.scheduler.rainbow_index import RainbowIndex
from compatlab.scheduler.rainbow_plan import Plan
from compatlab.scheduler.request import Request

from .stats import Sampled, SampledJson, expected, sample

NONE, ALL = "none", "all"
EXAMPLES = 20  # pairs listed per kind of disagreement with real rainbow (the counts are complete)


@dataclass(frozen=True)
class Level:
    """A level's name and the subsystems whose items a jobspec keeps there (None: every one)."""

    name: str
    subsystems: frozenset[str] | None


def read_levels(path: Path | None, seen: set[str]) -> list[Level]:
    """``none``, the file's levels (cumulative), then ``all`` if some subsystem in ``seen`` is left out.

    The file is YAML: ``{level name: [subsystem, ...]}``, in order. Raises ``LabError``
    naming the file and key for anything else (a level named ``none`` or ``all``, a
    subsystem given twice or required by no jobspec, a level with no subsystem).
    """
    levels = [Level(NONE, frozenset())]
    if path is None:
        return [*levels, Level(ALL, None)]
    doc = load_yaml(path)
    if not isinstance(doc, dict) or not doc:
        raise LabError(path, "", f"{brief(doc)} is not a map of levels; allowed: {{level name: [subsystem, ...]}}")
    so_far: set[str] = set()
    for name, subsystems in doc.items():
        if not isinstance(name, str) or not name or name in (NONE, ALL):
            raise LabError(path, brief(name), f"{brief(name)} is not a level name; allowed: a string other than "
                           f"{NONE} (always first) and {ALL} (added last when the file leaves subsystems out)")
        if not isinstance(subsystems, list) or not subsystems or not all(isinstance(s, str) for s in subsystems):
            raise LabError(path, name, f"{brief(subsystems)} is not allowed; allowed: a list of subsystem names")
        for sub in subsystems:
            if sub not in seen:  # a typo would make the level silently equal to the one before it
                known = sorted(seen)
                raise LabError(path, name, f"subsystem {brief(sub)} is required by no jobspec; allowed: "
                               f"{', '.join(known[:8])}{', ...' if len(known) > 8 else ''}")
            if sub in so_far:
                raise LabError(path, name, f"subsystem {sub!r} is already added by an earlier level; allowed: each "
                               "subsystem once")
            so_far.add(sub)
        levels.append(Level(name, frozenset(so_far)))
    if seen - so_far:
        levels.append(Level(ALL, None))
    return levels


def read_truth(path: Path, jobspecs: Sequence[str], clusters: Sequence[str]) -> np.ndarray:
    """A (jobs x clusters) boolean matrix from a YAML/JSON file ``{jobspec: [runnable cluster, ...]}``.

    Jobspecs are named as listed (their path relative to the jobspec directory). Raises
    ``LabError`` naming the file and key for an unknown jobspec or cluster, or a jobspec left out.
    """
    doc = load_yaml(path, limit=64 << 20)
    if not isinstance(doc, dict):
        raise LabError(path, "", f"{brief(doc)} is not a map; allowed: {{jobspec: [cluster, ...]}}")
    row = {name: i for i, name in enumerate(jobspecs)}
    col = {name: i for i, name in enumerate(clusters)}
    truth = np.zeros((len(jobspecs), len(clusters)), dtype=bool)
    for name, runnable in doc.items():
        if name not in row:
            raise LabError(path, brief(name), f"{brief(name)} is not a jobspec of the replay; allowed: "
                           f"{', '.join(list(row)[:5])}{', ...' if len(row) > 5 else ''}")
        if not isinstance(runnable, list):
            raise LabError(path, name, f"{brief(runnable)} is not a list; allowed: the clusters that can run it")
        for cluster in runnable:
            if not isinstance(cluster, str) or cluster not in col:
                raise LabError(path, name, f"{brief(cluster)} is not a cluster of the replay; allowed: "
                               f"{', '.join(list(col)[:5])}{', ...' if len(col) > 5 else ''}")
            truth[row[name], col[cluster]] = True
    missing = [j for j in jobspecs if j not in doc]
    if missing:
        raise LabError(path, brief(missing[0]), f"is missing ({len(missing)} jobspecs are); allowed: every jobspec "
                       "named, with [] when no cluster can run it")
    return truth


def restrict(request: Request, subsystems: frozenset[str] | None) -> Request:
    """The request with only the ``requires`` items (and rainbow's needs) of ``subsystems``; None keeps all."""
    if subsystems is None:
        return request
    slots = tuple(replace(s, requires=tuple(r for r in s.requires if r.subsystem in subsystems))
                  for s in request.slots)
    plan = request.rainbow
    if plan is not None:
        plan = Plan(plan.precheck, tuple(tuple(replace(c, needs=tuple(n for n in c.needs if n[0][1] in subsystems))
                                               for c in candidates) for candidates in plan.slots))
    return replace(request, slots=slots, rainbow=plan)


class Pair(TypedDict):
    """A (jobspec, cluster) pair where real rainbow's answer differs from ours."""

    jobspec: str
    cluster: str


class RainbowLevel(TypedDict):
    """Real rainbow at one level: its expected accuracy (varying pairs as matches, and as misses), pair counts,
    and up to ``EXAMPLES`` pairs it places and we do not (``also_place``), and the reverse (``refuses``)."""

    expected_accuracy: float
    expected_accuracy_certain: float
    matching_pairs: int
    varies_pairs: int
    also_place_pairs: int
    refuses_pairs: int
    also_place: list[Pair]
    refuses: list[Pair]


class LevelResultJson(TypedDict):
    """A ``LevelResult`` in ``replay.json``: its fields."""

    level: str
    subsystems: list[str] | None
    jobs: int
    expected_accuracy: float
    match_precision: float | None
    rejected: int
    rejected_runnable: int
    matching_pairs: int
    sampled: SampledJson | None
    rainbow: RainbowLevel


class ReplayJson(TypedDict):
    """``replay.json``: cluster and jobspec counts, where the truth came from, seed, repeats, the levels."""

    clusters: int
    jobspecs: int
    truth: str
    seed: int
    repeats: int
    levels: list[LevelResultJson]


# A replay.csv row: level, jobspec, matches, runnable, expected success, rainbow's matches, rainbow varies.
ReplayRow = tuple[str, str, int, int, float, int, int]


@dataclass(frozen=True)
class LevelResult:
    """One level of a replay (shares in 0..1)."""

    level: str
    subsystems: list[str] | None
    jobs: int
    expected_accuracy: float
    match_precision: float | None
    rejected: int
    rejected_runnable: int
    matching_pairs: int
    sampled: Sampled | None
    rainbow: RainbowLevel


@dataclass(frozen=True)
class Replay:
    """A whole replay: inputs, per-level results, and per (level, jobspec) rows for ``replay.csv``."""

    clusters: tuple[str, ...]
    jobspecs: tuple[str, ...]
    truth: str
    seed: int
    repeats: int
    levels: tuple[LevelResult, ...]
    rows: tuple[ReplayRow, ...]  # (level, jobspec, matches, runnable, share, rainbow matches, rainbow varies)

    def summary(self) -> ReplayJson:
        """The JSON-ready ``replay.json`` document."""
        return {"clusters": len(self.clusters), "jobspecs": len(self.jobspecs), "truth": self.truth,
                "seed": self.seed, "repeats": self.repeats,
                "levels": cast(list[LevelResultJson], [asdict(level) for level in self.levels])}


def _pairs(mask: np.ndarray, jobspecs: Sequence[str], clusters: Sequence[str]) -> list[Pair]:
    rows, cols = np.nonzero(mask)
    return [{"jobspec": jobspecs[r], "cluster": clusters[c]} for r, c in zip(rows[:EXAMPLES], cols[:EXAMPLES],
                                                                             strict=True)]


PARALLEL_FROM = 2000  # requests: fewer are answered in one process (a fork costs more than it saves)
# What a forked answering process inherits (never pickled): index, rainbow, requests, levels, truth.
_WORK: tuple[Any, ...] = ()


def _answer_rows(lo: int, hi: int) -> tuple[np.ndarray | None, list[tuple[np.ndarray, np.ndarray]]]:
    """Rows ``lo:hi`` of the truth (None when given) and of each level's (ours, real rainbow's) answers."""
    index, rainbow, requests, levels, truth = _WORK
    part = requests[lo:hi]
    full = index.fits_all(part) if truth is None else truth[lo:hi]
    out = []
    for level in levels:
        leveled = [restrict(r, level.subsystems) for r in part]
        ours = full if level.subsystems is None and truth is None else index.fits_all(leveled)
        out.append((ours, rainbow.answers_all(leveled)))
    return (full if truth is None else None), out


def _answers(clusters: Sequence[Cluster], requests: Sequence[Request], levels: Sequence[Level],
             truth: np.ndarray | None) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The truth matrix and each level's (ours, rainbow's) answer matrices, split by rows across the cores.

    The index is built once, before the fork, so each process inherits it (and the
    requests) instead of receiving them; only the answer matrices come back.
    """
    with paused_gc():
        return _answers_of(clusters, requests, levels, truth)


def _answers_of(clusters: Sequence[Cluster], requests: Sequence[Request], levels: Sequence[Level],
                truth: np.ndarray | None) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    global _WORK
    index = Index(clusters)
    _WORK = (index, RainbowIndex(clusters, index), list(requests), list(levels), truth)
    n = min(workers(), 2) if len(requests) >= PARALLEL_FROM else 1
    try:
        if n == 1:
            full, answers = _answer_rows(0, len(requests))
            return cast(np.ndarray, truth if full is None else full), answers  # full is None: truth was given
        cut = len(requests) // 2
        with multiprocessing.get_context("fork").Pool(1, initializer=quiet_worker) as pool:
            theirs = pool.apply_async(_answer_rows, (cut, len(requests)))
            first = _answer_rows(0, cut)
            second = theirs.get()
    finally:
        _WORK = ()
    full = truth if first[0] is None else np.concatenate([first[0], second[0]])
    return cast(np.ndarray, full), [(np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]]))
                  for a, b in zip(first[1], second[1], strict=True)]


def replay(clusters: Sequence[Cluster], requests: Sequence[Request], names: Sequence[str], levels: Sequence[Level],
           truth: np.ndarray | None = None, repeats: int = 0, seed: int = 0) -> Replay:
    """Match every jobspec at every level with our matcher and real rainbow's; figures per level.

    ``names`` name the jobspecs (as the truth file does); ``truth`` None means "satisfies
    the full jobspec". Raises nothing on valid inputs.
    """
    with paused_gc():  # a full collection walks every object of the corpus, again and again
        return _replay(clusters, requests, names, levels, truth, repeats, seed)


def _replay(clusters: Sequence[Cluster], requests: Sequence[Request], names: Sequence[str], levels: Sequence[Level],
            truth: np.ndarray | None, repeats: int, seed: int) -> Replay:
    cluster_names = [c.name for c in clusters]
    told = "file" if truth is not None else "full jobspec"
    truth, answers = _answers(clusters, requests, levels, truth)
    results: list[LevelResult] = []
    rows: list[ReplayRow] = []
    for number, (level, (ours, theirs)) in enumerate(zip(levels, answers, strict=True)):
        exact = expected(ours, truth)
        may, sure = theirs >= 1, theirs == 1
        rainbow_exact, rainbow_sure = expected(may, truth), expected(sure, truth)
        results.append(LevelResult(
            level=level.name, subsystems=sorted(level.subsystems) if level.subsystems is not None else None,
            jobs=exact.jobs, expected_accuracy=round(exact.accuracy, 6),
            match_precision=None if exact.match_precision is None else round(exact.match_precision, 6),
            rejected=exact.rejected, rejected_runnable=exact.rejected_runnable, matching_pairs=int(ours.sum()),
            sampled=sample(exact.share, repeats, seed * 1_000_003 + number) if repeats else None,
            rainbow={"expected_accuracy": round(rainbow_exact.accuracy, 6),
                     "expected_accuracy_certain": round(rainbow_sure.accuracy, 6),
                     "matching_pairs": int(sure.sum()), "varies_pairs": int((theirs == 2).sum()),
                     "also_place_pairs": int((may & ~ours).sum()), "refuses_pairs": int((ours & ~may).sum()),
                     "also_place": _pairs(may & ~ours, names, cluster_names),
                     "refuses": _pairs(ours & ~may, names, cluster_names)}))
        # Per jobspec, counted for all rows at once (one numpy call per column, not per row).
        rows.extend(zip([level.name] * len(names), names, ours.sum(axis=1).tolist(), truth.sum(axis=1).tolist(),
                        [round(x, 6) for x in exact.share.tolist()], sure.sum(axis=1).tolist(),
                        (theirs == 2).sum(axis=1).tolist(), strict=True))
    return Replay(tuple(cluster_names), tuple(names), told, seed, repeats,
                  tuple(results), tuple(rows))


CSV_COLUMNS = ("level", "jobspec", "matches", "runnable", "expected_success", "rainbow_matches", "rainbow_varies")


def replay_csv(result: Replay) -> bytes:
    """``replay.csv``: one row per (level, jobspec), ``CSV_COLUMNS``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(result.rows)
    return buffer.getvalue().encode()


def replay_files(result: Replay, plot: bytes) -> dict[str, bytes]:
    """What ``replay`` writes: ``replay.json``, ``replay.csv``, ``accuracy.png`` (``plot``)."""
    return {"replay.json": dump_json(result.summary()), "replay.csv": replay_csv(result), "accuracy.png": plot}
