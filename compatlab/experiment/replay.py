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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TypedDict, cast

import numpy as np

from compatlab.errors import LabError, brief, unprintable
from compatlab.files import dump_json
from compatlab.inputs import load_yaml
from compatlab.scheduler.clusters import Cluster
from compatlab.scheduler.corpus import map_jobspecs, paused_gc, read_clusters_across
from compatlab.scheduler.index import Index
from compatlab.scheduler.rainbow_index import RainbowIndex
from compatlab.scheduler.rainbow_plan import Plan, SlotNeeds
from compatlab.scheduler.request import Request, Slot

from .stats import Sampled, SampledJson, expected, sample

NONE, ALL = "none", "all"
EXAMPLES = 20  # pairs listed per kind of disagreement with real rainbow (the counts are complete)


@dataclass(frozen=True)
class Level:
    """A level's name and the subsystems whose items a jobspec keeps there (None: every one)."""

    name: str
    subsystems: frozenset[str] | None


def parse_levels(path: Path) -> list[tuple[str, list[str]]]:
    """A levels file as ``[(level name, subsystems it adds), ...]`` in the file's order, checked for shape alone.

    The file is YAML: ``{level name: [subsystem, ...]}``. Raises ``LabError`` naming the
    file and key for anything else (a level named ``none`` or ``all``, a subsystem given
    twice, a level with no subsystem). ``settle_levels`` checks the subsystems against the jobspecs.
    """
    doc = load_yaml(path)
    if not isinstance(doc, dict) or not doc:
        raise LabError(path, "", f"{brief(doc)} is not a map of levels; allowed: {{level name: [subsystem, ...]}}")
    so_far: set[str] = set()
    for name, subsystems in doc.items():
        if not isinstance(name, str) or not name or name in (NONE, ALL):
            raise LabError(path, brief(name), f"{brief(name)} is not a level name; allowed: a string other than "
                           f"{NONE} (always first) and {ALL} (added last when the file leaves subsystems out)")
        bad = unprintable(name)
        if bad:  # level names go into tables, plots, CSV and JSON
            raise LabError(path, brief(name), f"the level name holds {bad}; allowed: printable UTF-8 text")
        if not isinstance(subsystems, list) or not subsystems or not all(isinstance(s, str) for s in subsystems):
            raise LabError(path, name, f"{brief(subsystems)} is not allowed; allowed: a list of subsystem names")
        for sub in subsystems:
            if sub in so_far:
                where = "in this level" if subsystems.count(sub) > 1 else "by an earlier level"
                raise LabError(path, name, f"subsystem {sub!r} is already added {where}; allowed: each "
                               "subsystem once")
            so_far.add(sub)
    return list(doc.items())


def _cumulative(parsed: Sequence[tuple[str, list[str]]]) -> list[Level]:
    levels, so_far = [Level(NONE, frozenset())], frozenset[str]()
    for name, subsystems in parsed:
        so_far = so_far | frozenset(subsystems)
        levels.append(Level(name, so_far))
    return levels


def settle_levels(parsed: Sequence[tuple[str, list[str]]] | None, seen: set[str], path: Path | None) -> list[Level]:
    """``none``, the parsed levels (cumulative), then ``all`` if some subsystem in ``seen`` is left out.

    Without a file (``parsed`` None): ``none`` and ``all``. Raises ``LabError`` naming
    ``path`` and the level when a subsystem is required by no jobspec (``seen``): a typo
    would make the level silently equal to the one before it.
    """
    if parsed is None:
        return [Level(NONE, frozenset()), Level(ALL, None)]
    for name, subsystems in parsed:
        for sub in subsystems:
            if sub not in seen:
                known = sorted(seen)
                raise LabError(path or "", name, f"subsystem {brief(sub)} is required by no jobspec; allowed: "
                               f"{', '.join(known[:8])}{', ...' if len(known) > 8 else ''}")
    levels = _cumulative(parsed)
    if seen - cast(frozenset[str], levels[-1].subsystems):  # _cumulative's levels all have a set
        levels.append(Level(ALL, None))
    return levels


def read_levels(path: Path | None, seen: set[str]) -> list[Level]:
    """``parse_levels`` then ``settle_levels``: the levels of a replay whose jobspecs require ``seen``."""
    return settle_levels(parse_levels(path) if path is not None else None, seen, path)


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
    """The request with only the ``requires`` items (and rainbow's needs) of ``subsystems``; None keeps all.

    A slot that loses nothing is the same object (the indexes key their caches by identity).
    """
    if subsystems is None:
        return request
    slots = []
    for s in request.slots:
        kept = tuple([r for r in s.requires if r.subsystem in subsystems])
        slots.append(s if len(kept) == len(s.requires) else Slot(s.type, s.replicas, s.counts, kept))
    plan = request.rainbow
    if plan is not None:
        candidates = []
        for labelled in plan.slots:
            one = []
            for c in labelled:
                needs = tuple([n for n in c.needs if n[0][1] in subsystems])
                one.append(c if len(needs) == len(c.needs) else SlotNeeds(c.replicas, c.counts, needs))
            candidates.append(tuple(one))
        plan = Plan(plan.precheck, tuple(candidates))
    return Request(request.source, tuple(slots), plan)


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
    unsettled_pairs: int
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


# A replay.csv row: level, jobspec, matches, runnable, expected success, rainbow: matches, varies, unsettled.
ReplayRow = tuple[str, str, int, int, float, int, int, int]


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
    rows: tuple[ReplayRow, ...]  # (level, jobspec, matches, runnable, share, rainbow: matches, varies, unsettled)

    def summary(self) -> ReplayJson:
        """The JSON-ready ``replay.json`` document."""
        return {"clusters": len(self.clusters), "jobspecs": len(self.jobspecs), "truth": self.truth,
                "seed": self.seed, "repeats": self.repeats,
                "levels": cast(list[LevelResultJson], [asdict(level) for level in self.levels])}


def _pairs(mask: np.ndarray, jobspecs: Sequence[str], clusters: Sequence[str]) -> list[Pair]:
    rows, cols = np.nonzero(mask)
    return [{"jobspec": jobspecs[r], "cluster": clusters[c]} for r, c in zip(rows[:EXAMPLES], cols[:EXAMPLES],
                                                                             strict=True)]


Answers = tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]  # the truth, each level's (ours, rainbow's)


def answer(index: Index, rainbow: RainbowIndex, requests: Sequence[Request], levels: Sequence[Level],
           truth: np.ndarray | None) -> Answers:
    """``truth`` (when None: each request's fits for its full jobspec) and, per level, (our fits, real rainbow's
    answers): boolean and int8 (0 no, 1 yes, 2 varies, 3 unsettled) (requests x clusters) matrices."""
    full = index.fits_all(requests) if truth is None else truth
    out = []
    for level in levels:
        leveled = [restrict(r, level.subsystems) for r in requests]
        ours = full if level.subsystems is None and truth is None else index.fits_all(leveled)
        out.append((ours, rainbow.answers_all(leveled)))
    return full, out


def replay(clusters: Sequence[Cluster], requests: Sequence[Request], names: Sequence[str], levels: Sequence[Level],
           truth: np.ndarray | None = None, repeats: int = 0, seed: int = 0) -> Replay:
    """Match every jobspec at every level with our matcher and real rainbow's, in this process; figures per level.

    ``names`` name the jobspecs (as the truth file does); ``truth`` None means "satisfies
    the full jobspec". ``replay_corpus`` does the same from files, across the cores.
    Raises nothing on valid inputs.
    """
    with paused_gc():  # a full collection walks every object of the corpus, again and again
        index = Index(clusters)
        answers = answer(index, RainbowIndex(clusters, index), requests, levels, truth)
        return _summarise([c.name for c in clusters], names, levels, truth is not None, answers, repeats, seed)


def _answer_share(index: Index, rainbow: RainbowIndex, levels: Sequence[Level], told: bool, start: int,
                  requests: list[Request]) -> tuple[Answers, set[str]]:
    """A share of jobspecs answered where it was read: its answers, and the subsystems it requires.

    With a truth file (``told``) the share's truth rows are a stand-in (no ``fits_all`` of
    the full jobspecs): the parent uses the file's own matrix.
    """
    stand_in = np.zeros((len(requests), len(index.names)), dtype=bool) if told else None
    seen = {r.subsystem for request in requests for slot in request.slots for r in slot.requires}
    return answer(index, rainbow, requests, levels, stand_in), seen


def replay_corpus(clusters: Path, jobspecs: Sequence[Path], names: Sequence[str], levels: Path | None = None,
                  truth: Path | None = None, repeats: int = 0, seed: int = 0, processes: int | None = None,
                  while_waiting: Callable[[], None] | None = None) -> Replay:
    """``replay`` from files: a registration directory, jobspec files (named ``names``), a levels and a truth file.

    The clusters are read first (across the cores), the indexes built once, then each
    process reads a share of the jobspecs and answers it there, so only answer matrices
    cross between processes (``corpus.map_jobspecs``). Every level of the file and ``all``
    are answered before the jobspecs say whether ``all`` is needed. Raises the
    ``LabError`` of the first bad file: the levels file's shape, the clusters, the truth
    file, the jobspecs, then a level's subsystem that no jobspec requires.
    """
    parsed = parse_levels(levels) if levels is not None else None
    found = read_clusters_across(clusters, processes)
    cluster_names = [c.name for c in found]
    told = read_truth(truth, names, cluster_names) if truth is not None else None
    index = Index(found)
    every = [*_cumulative(parsed or []), Level(ALL, None)]
    # The forked readers inherit the work with its indexes (map_jobspecs never pickles it).
    work = partial(_answer_share, index, RainbowIndex(found, index), every, told is not None)
    shares = map_jobspecs(jobspecs, work, processes=processes, while_waiting=while_waiting)
    seen = set().union(*(share_seen for _, share_seen in shares))
    settled = settle_levels(parsed, seen, levels)
    keep = [every.index(level) if level.subsystems is not None else len(every) - 1 for level in settled]
    full = told if told is not None else np.concatenate([share[0][0] for share in shares])
    answers = [(np.concatenate([share[0][1][k][0] for share in shares]),
                np.concatenate([share[0][1][k][1] for share in shares])) for k in keep]
    return _summarise(cluster_names, names, settled, told is not None, (full, answers), repeats, seed)


def _summarise(cluster_names: Sequence[str], names: Sequence[str], levels: Sequence[Level], told: bool,
               answers: Answers, repeats: int, seed: int) -> Replay:
    truth, per_level = answers
    results: list[LevelResult] = []
    rows: list[ReplayRow] = []
    for number, (level, (ours, theirs)) in enumerate(zip(levels, per_level, strict=True)):
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
                     "unsettled_pairs": int((theirs == 3).sum()),
                     "also_place_pairs": int((may & ~ours).sum()), "refuses_pairs": int((ours & ~may).sum()),
                     "also_place": _pairs(may & ~ours, names, cluster_names),
                     "refuses": _pairs(ours & ~may, names, cluster_names)}))
        # Per jobspec, counted for all rows at once (one numpy call per column, not per row).
        rows.extend(zip([level.name] * len(names), names, ours.sum(axis=1).tolist(), truth.sum(axis=1).tolist(),
                        [round(x, 6) for x in exact.share.tolist()], sure.sum(axis=1).tolist(),
                        (theirs == 2).sum(axis=1).tolist(), (theirs == 3).sum(axis=1).tolist(), strict=True))
    return Replay(tuple(cluster_names), tuple(names), "file" if told else "full jobspec", seed, repeats,
                  tuple(results), tuple(rows))


CSV_COLUMNS = ("level", "jobspec", "matches", "runnable", "expected_success", "rainbow_matches", "rainbow_varies",
               "rainbow_unsettled")


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
