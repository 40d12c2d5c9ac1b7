"""Every simulated job checked against the reference matcher and the outcome model, one at a time,
and each level's summary against sums done here from the records."""

from __future__ import annotations

import pytest
import yaml

from compatlab.experiment.outcomes import FAILURES, Outcome, outcome
from compatlab.experiment.simulate import JobRecord, simulate, summarise
from compatlab.experiment.stats import wilson
from compatlab.scheduler.clusters import clusters_from_files
from compatlab.scheduler.embedded import select, selection_key
from compatlab.scheduler.match import rainbow_satisfies, satisfies
from compatlab.scheduler.request import read_request


@pytest.fixture(scope="module")
def run(dev_lab):
    return simulate(dev_lab, seed=5, repeats=3)


def test_each_job_went_where_the_reference_matcher_allows_and_fared_as_the_model_says(dev_lab, run):
    # First in the file: mutmut links simulate() to the test that first uses the module's fixture, so this one
    # also checks what the simulation says of itself.
    assert (run.stack, run.seed, run.repeats) == ("dev", 5, 3)
    clusters = clusters_from_files(run.files)
    fates = {(w.name, mc.name): outcome(w, mc) for w in dev_lab.workloads for mc in dev_lab.miniclusters}
    expected_order = [(level.name, w.name, trial) for level in dev_lab.levels for w in dev_lab.workloads
                      for trial in range(3)]
    assert [(r.level, r.workload, r.trial) for r in run.records] == expected_order
    for r in run.records:
        rel = f"jobspecs/{r.level}/{r.workload}.yaml"
        request = read_request(yaml.safe_load(run.files[rel]), rel)
        matches = tuple(c.name for c in clusters if satisfies(c, request))
        assert (r.jobspec, r.matches) == (rel, matches)
        assert r.runnable_on == tuple(sorted(mc.name for mc in dev_lab.miniclusters if fates[r.workload, mc.name].ok))
        assert r.rainbow_also == tuple(c.name for c in clusters
                                       if rainbow_satisfies(c, request) and c.name not in matches)
        if matches:
            chosen = select(matches, selection_key(5, f"{r.level}.{r.workload}.{r.trial}"))
            fate = fates[r.workload, chosen]
            assert (r.cluster, r.outcome, r.detail) == (chosen, fate.mode, fate.detail)
        else:
            assert (r.cluster, r.outcome, r.detail) == (None, "rejected", "no cluster matched")


def _share(record: JobRecord, allowed: tuple[str, ...]) -> float:
    """The chance a random pick among ``allowed`` is right: runnable there, or rejected with nowhere to run."""
    if not allowed:
        return 0.0 if record.runnable_on else 1.0
    return sum(1 for name in allowed if name in record.runnable_on) / len(allowed)


def test_each_level_sums_its_own_records(dev_lab, run):
    assert [s.level for s in run.levels] == [level.name for level in dev_lab.levels]
    assert (run.stack, run.seed, run.repeats) == ("dev", 5, 3)
    assert run.clusters == tuple(sorted(mc.name for mc in dev_lab.miniclusters))
    for s in run.levels:
        mine = [r for r in run.records if r.level == s.level]
        first = [r for r in mine if r.trial == 0]
        correct = sum(1 for r in mine if r.outcome == "ok" or (r.outcome == "rejected" and not r.runnable_on))
        pairs = [(r, n) for r in first for n in r.matches]
        assert s.jobs == len(mine) == 3 * len(dev_lab.workloads)
        assert s.placed_ok == sum(1 for r in mine if r.outcome == "ok")
        assert s.placed_failed == {mode: sum(1 for r in mine if r.outcome == mode) for mode in FAILURES}
        assert s.rejected == sum(1 for r in mine if r.outcome == "rejected")
        assert s.rejected_runnable == sum(1 for r in mine if r.outcome == "rejected" and r.runnable_on)
        assert s.accuracy == round(correct / len(mine), 4)
        good = sum(1 for r, n in pairs if n in r.runnable_on)
        assert s.match_precision == (round(good / len(pairs), 4) if pairs else None)
        assert (s.accuracy_low, s.accuracy_high) == tuple(round(x, 4) for x in wilson(correct, len(mine)))
        assert s.expected_accuracy == round(sum(_share(r, r.matches) for r in first) / len(first), 4)
        assert s.rainbow_expected_accuracy == round(
            sum(_share(r, tuple(sorted(r.matches + r.rainbow_also))) for r in first) / len(first), 4)


def test_the_summary_is_the_settings_and_every_level(run):
    summary = run.summary()
    assert (summary["stack"], summary["seed"], summary["repeats"]) == ("dev", 5, 3)
    assert summary["clusters"] == len(run.clusters) and summary["workloads"] == 4
    assert [row["level"] for row in summary["levels"]] == [s.level for s in run.levels]
    assert summary["levels"][0]["placed_failed"] == run.levels[0].placed_failed


def _record(outcome, runnable_on=(), matches=(), trial=0, workload="w", rainbow_also=()):
    return JobRecord(level="l", workload=workload, trial=trial, jobspec="j", matches=matches,
                     cluster=matches[0] if matches else None, outcome=outcome, detail="",
                     runnable_on=runnable_on, rainbow_also=rainbow_also)


def test_a_summary_of_hand_made_records():
    fates = {"w": {"a": Outcome("ok", ""), "b": Outcome("oom-killed", "x"), "c": Outcome("disk-full", "y")}}
    records = [
        _record("ok", runnable_on=("a",), matches=("a", "b", "c"), rainbow_also=("c",)),  # 1 of 3 pairs good
        _record("oom-killed", runnable_on=("a",), matches=("b", "a"), trial=1),
        _record("rejected", runnable_on=(), trial=2),  # nowhere to run: a right rejection
        _record("rejected", runnable_on=("a",), trial=3),  # runnable somewhere: a wrong one
        _record("failed-other", runnable_on=("a",), matches=("a",), trial=4),  # an observed mode the model lacks
        _record("pending", runnable_on=("a",), matches=("a",), trial=5),
    ]
    s = summarise("l", records, fates, exact=(0.123456, 0.654321))
    assert (s.level, s.jobs, s.placed_ok, s.rejected, s.rejected_runnable) == ("l", 6, 1, 2, 1)
    assert s.placed_failed == {**{mode: 0 for mode in FAILURES}, "oom-killed": 1, "failed-other": 1, "pending": 1}
    assert list(s.placed_failed)[-2:] == ["failed-other", "pending"]
    assert s.accuracy == round(2 / 6, 4) and s.match_precision == 0.3333
    assert s.rainbow_would_also_place == [{"workload": "w", "cluster": "c", "outcome": "disk-full"}]
    assert (s.expected_accuracy, s.rainbow_expected_accuracy) == (0.1235, 0.6543)
    assert (s.accuracy_low, s.accuracy_high) == tuple(round(x, 4) for x in wilson(2, 6))


def test_a_summary_without_records_or_matches_says_so():
    empty = summarise("l", [], {})
    assert (empty.jobs, empty.accuracy, empty.match_precision, empty.expected_accuracy) == (0, 0.0, None, None)
    assert (empty.accuracy_low, empty.accuracy_high, empty.rainbow_expected_accuracy) == (None, None, None)
    alone = summarise("l", [_record("rejected")], {})
    assert (alone.accuracy, alone.match_precision) == (1.0, None)
