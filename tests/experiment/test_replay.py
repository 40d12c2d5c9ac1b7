"""Replaying a rainbow experiment: exact expectations, intervals, levels, truth, and rainbow's answers."""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
from pathlib import Path

import numpy as np
import pytest

from compatlab.bench import synthetic_cluster, synthetic_jobspec, write_reliabuild
from compatlab.cli import main
from compatlab.experiment.replay import read_levels, read_truth, replay, replay_corpus
from compatlab.experiment.stats import expected, sample, wilson
from compatlab.scheduler.corpus import jobspec_paths, read_corpus
from compatlab.scheduler.index import Index
from compatlab.scheduler.rainbow_index import CODES, RainbowIndex
from compatlab.scheduler.rainbow_walk import outcome
from compatlab.scheduler.request import read_request
from tests.cli import one_line


def test_wilson_interval_of_half_of_a_hundred():
    low, high = wilson(50, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)


def test_exact_expectation_equals_enumerating_every_pick():
    rng = random.Random(3)
    for _ in range(30):
        jobs, clusters = rng.randint(1, 4), rng.randint(1, 4)
        matches = np.array([[rng.random() < 0.5 for _ in range(clusters)] for _ in range(jobs)])
        runnable = np.array([[rng.random() < 0.5 for _ in range(clusters)] for _ in range(jobs)])
        # Every equally likely way the picks can fall: one matching cluster per job (or a rejection).
        choices = [list(np.flatnonzero(row)) or [None] for row in matches]
        outcomes = []
        for picks in itertools.product(*choices):
            correct = [runnable[j, c] if c is not None else not runnable[j].any() for j, c in enumerate(picks)]
            outcomes.append(sum(correct) / jobs)
        assert expected(matches, runnable).accuracy == pytest.approx(sum(outcomes) / len(outcomes))


def test_a_large_sampled_run_falls_inside_its_interval_around_the_exact_value():
    share = np.random.default_rng(2024).random(2000)  # a stream of its own: not one the samples draw from
    exact = float(share.mean())
    for seed in range(5):
        s = sample(share, 50, seed)
        assert s.low <= exact <= s.high
        assert s.high - s.low < 0.01


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("reliabuild")
    clusters, jobspecs = write_reliabuild(root, clusters=6, subsystems=12, jobspecs=80, requires=4, seed=2)
    return root, clusters, jobspecs


def test_replay_answers_equal_match_answers(corpus, capsys, tmp_path):
    root, clusters, jobspecs = corpus
    files = [str(p) for p in jobspec_paths(jobspecs)]
    assert main(["match", "--clusters", str(clusters), *files, "--json"]) == 0
    matched = {a["jobspec"]: a["matches"] for a in json.loads(capsys.readouterr().out)}
    assert all(isinstance(a, list) for a in matched.values())  # no reasons computed without --explain
    assert main(["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--out", str(tmp_path / "r"),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [level["level"] for level in doc["levels"]] == ["none", "all"]
    rows = list(csv.DictReader((tmp_path / "r" / "replay.csv").open()))
    full = {r["jobspec"]: int(r["matches"]) for r in rows if r["level"] == "all"}
    assert full == {str(jobspecs.joinpath(k).relative_to(jobspecs)): len(v) for k, v in
                    ((f.split("/")[-1], m) for f, m in matched.items())}
    assert sum(full.values()) > 0  # the corpus really matches somewhere
    assert doc["levels"][-1]["expected_accuracy"] == 1.0  # truth is the full jobspec
    assert (tmp_path / "r" / "accuracy.png").read_bytes()[:4] == b"\x89PNG"


def test_levels_file_adds_subsystems_cumulatively_and_truth_file_is_used(corpus, capsys, tmp_path):
    root, clusters, jobspecs = corpus
    levels = tmp_path / "levels.yaml"
    levels.write_text("first: [pkg000, pkg001]\nsecond: [pkg002]\n")
    names = [str(p.relative_to(jobspecs)) for p in jobspec_paths(jobspecs)]
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({n: ["cluster000"] for n in names}))
    assert main(["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--levels", str(levels),
                 "--truth", str(truth), "--repeats", "20", "--out", str(tmp_path / "r"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [lv["level"] for lv in doc["levels"]] == ["none", "first", "second", "all"]
    assert doc["levels"][2]["subsystems"] == ["pkg000", "pkg001", "pkg002"]
    assert doc["truth"] == "file"
    none = doc["levels"][0]  # no metadata: every job matches all 6 clusters, one of which runs it
    assert none["expected_accuracy"] == pytest.approx(1 / 6, abs=1e-6)  # rounded to 6 places
    s = none["sampled"]
    assert s["trials"] == 20 * len(names) and s["low"] <= 1 / 6 <= s["high"]


@pytest.mark.parametrize(("text", "words"), [
    ("none: [pkg000]\n", "is not a level name"),
    ("a: [pkg000]\nb: [pkg000]\n", "already added by an earlier level"),
    ("a: pkg000\n", "is not allowed; allowed: a list of subsystem names"),
])
def test_a_bad_levels_file_isone_line(corpus, capsys, tmp_path, text, words):
    _, clusters, jobspecs = corpus
    levels = tmp_path / "levels.yaml"
    levels.write_text(text)
    assert main(["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--levels", str(levels),
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"compatlab: error: {levels}: ") and words in err and err.count("\n") == 1


def test_a_truth_file_that_leaves_a_jobspec_out_isone_line(corpus, capsys, tmp_path):
    _, clusters, jobspecs = corpus
    truth = tmp_path / "truth.yaml"
    truth.write_text("spec00000.yaml: [cluster000]\n")
    assert main(["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--truth", str(truth),
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "is missing (79 jobspecs are); allowed: every jobspec named" in err and err.count("\n") == 1


def test_reading_across_processes_gives_what_one_process_reads(corpus):
    _, clusters, jobspecs = corpus
    paths = jobspec_paths(jobspecs)
    waited = []
    both = read_corpus(clusters, paths, processes=2, while_waiting=lambda: waited.append(True))
    assert both == read_corpus(clusters, paths, processes=1)
    assert len(waited) <= 1  # called at most once, and only while the other process still reads


def test_a_replay_from_files_across_processes_equals_one_in_memory(corpus, tmp_path):
    # Each process answers the share it read; the parent only joins answer matrices: nothing may shift a row.
    _, clusters, jobspecs = corpus
    paths = jobspec_paths(jobspecs)
    names = [p.name for p in paths]
    levels = tmp_path / "levels.yaml"
    levels.write_text("first: [pkg003, pkg007]\n")
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({n: ["cluster001", "cluster004"] if i % 3 else [] for i, n in enumerate(names)}))
    both = read_corpus(clusters, paths, processes=1)
    seen = {r.subsystem for q in both.requests for s in q.slots for r in s.requires}
    for given in (None, truth):
        told = None if given is None else read_truth(given, names, [c.name for c in both.clusters])
        alone = replay(both.clusters, both.requests, names, read_levels(levels, seen), told, repeats=3, seed=4)
        for processes in (1, 2, 3):
            assert replay_corpus(clusters, paths, names, levels, given, repeats=3, seed=4,
                                 processes=processes) == alone, (given, processes)
    assert [lv.level for lv in alone.levels] == ["none", "first", "all"]
    assert len({lv.expected_accuracy for lv in alone.levels}) > 1  # the levels really differ


def test_a_levels_file_naming_every_subsystem_has_no_all_level(corpus, tmp_path):
    _, clusters, jobspecs = corpus
    paths = jobspec_paths(jobspecs)
    seen = {r.subsystem for q in read_corpus(clusters, paths).requests for s in q.slots for r in s.requires}
    levels = tmp_path / "levels.yaml"
    levels.write_text(f"everything: [{', '.join(sorted(seen))}]\n")
    result = replay_corpus(clusters, paths, [p.name for p in paths], levels, processes=2)
    assert [lv.level for lv in result.levels] == ["none", "everything"]
    assert result.levels[-1].expected_accuracy == 1.0  # every subsystem is the full jobspec: the truth


def test_the_first_bad_file_is_reported_whichever_process_read_it(corpus, tmp_path, capsys):
    _, clusters, jobspecs = corpus
    bad = tmp_path / "jobspecs"
    bad.mkdir()
    for i, p in enumerate(jobspec_paths(jobspecs)):
        text = p.read_text()
        (bad / p.name).write_text(text.replace("version: 1", "version: 2") if i in (50, 70) else text)
    assert main(["replay", "--clusters", str(clusters), "--jobspecs", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.startswith(f"compatlab: error: {bad}/spec00050.yaml: version: ")


def test_rainbows_answers_in_bulk_equal_its_walk_pair_by_pair():
    rng = random.Random(5)
    # Small clusters (at most 4 nodes): the walk explores every order of a vertex's children.
    clusters = [c for c in (synthetic_cluster(i, rng) for i in range(120)) if len(c.of_type("node")) <= 4][:20]
    requests = [read_request(synthetic_jobspec(i, rng), f"{i}.yaml") for i in range(40)]
    bulk = RainbowIndex(clusters, Index(clusters))
    for request in requests:
        answers = bulk.answers(request)
        assert [CODES[outcome(c, request.rainbow)] for c in clusters] == list(answers), request.source
    assert 0 < bulk.walked < len(clusters) * len(requests) // 2  # both roads taken, the fast one mostly


def test_a_negative_seed_samples_as_any_other(corpus, tmp_path, capsys):
    _, clusters, jobspecs = corpus
    argv = ["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--repeats", "5", "--json"]
    assert main([*argv, "--seed=-1", "--out", str(tmp_path / "a")]) == 0
    first = json.loads(capsys.readouterr().out)
    assert all(level["sampled"]["repeats"] == 5 for level in first["levels"])


@pytest.mark.parametrize("value", ["[[a]]", "[{a: 1}]", "[7]"])
def test_a_truth_file_naming_a_cluster_that_is_not_text_isone_line(corpus, tmp_path, capsys, value):
    _, clusters, jobspecs = corpus
    names = [str(p.relative_to(jobspecs)) for p in jobspec_paths(jobspecs)]
    truth = tmp_path / "truth.yaml"
    truth.write_text("".join(f"{n}: {value if i == 0 else '[]'}\n" for i, n in enumerate(names)))
    err = one_line(capsys, ["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--truth",
                             str(truth), "--out", str(tmp_path / "r")])
    assert "is not a cluster of the replay; allowed:" in err


def test_a_jobspec_file_name_that_is_not_utf8_isone_line(tmp_path, capsys):
    clusters, jobspecs = write_reliabuild(tmp_path / "c", clusters=2, subsystems=3, jobspecs=2, requires=2)
    (jobspecs / os.fsdecode(b"bad\xff.yaml")).write_bytes((jobspecs / "spec00000.yaml").read_bytes())
    err = one_line(capsys, ["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--out",
                             str(tmp_path / "r")])
    assert "holds a byte that is not UTF-8" in err and not (tmp_path / "r").exists()


def test_a_level_naming_a_subsystem_no_jobspec_requires_is_refused(corpus, tmp_path, capsys):
    _, clusters, jobspecs = corpus
    levels = tmp_path / "levels.yaml"
    levels.write_text("arch: [archspecs]\n")
    err = one_line(capsys, ["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--levels",
                             str(levels), "--out", str(tmp_path / "r")])
    assert "subsystem 'archspecs' is required by no jobspec; allowed:" in err


def test_an_output_inside_the_jobspecs_is_refused(corpus, tmp_path, capsys):
    _, clusters, jobspecs = corpus
    err = one_line(capsys, ["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--out",
                             str(jobspecs / "res")])
    assert "is inside --jobspecs" in err and not (jobspecs / "res").exists()


def test_a_usage_error_that_says_what_is_allowed_says_it_once(capsys):
    err = one_line(capsys, ["replay", "--clusters", "c", "--jobspecs", "j", "--out", "o", "--repeats", "2000"])
    assert err.count("allowed:") == 1


@pytest.mark.parametrize(("successes", "trials"), [(0, 500), (500, 500), (0, 5), (1, 3), (999, 1000)])
def test_the_wilson_interval_always_holds_the_observed_share(successes, trials):
    low, high = wilson(successes, trials)
    assert 0.0 <= low <= successes / trials <= high <= 1.0


def _children(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":  # (state, ppid): living children (not zombies)
            found.append(int(stat.parent.name))
    return found


def test_kill_9_of_a_replay_leaves_its_workers_silent_dead_and_no_output(tmp_path):
    # A killed parent must take its workers with it (they would read on, holding the caller's pipes), none may
    # print a traceback, and --out never appears half.
    import signal
    import subprocess
    import sys
    import time

    clusters, jobspecs = write_reliabuild(tmp_path / "c", clusters=20, subsystems=20, jobspecs=4000, requires=10)
    proc = subprocess.Popen([sys.executable, "-m", "compatlab", "replay", "--clusters", str(clusters), "--jobspecs",
                             str(jobspecs), "--out", str(tmp_path / "out")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    workers = []
    while not workers and time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)  # the reading across processes has begun
        time.sleep(0.01)
    assert workers, "the replay never started a worker"
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    time.sleep(1.0)
    assert "Traceback" not in err and not (tmp_path / "out").exists()
    alive = [w for w in workers if Path(f"/proc/{w}/stat").exists()
             and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert alive == []


def test_jobspec_paths_are_every_jobspec_below_in_path_order(tmp_path):
    # Sorted as paths sort (part by part): "a/b.yaml" before "a-b.yaml", though "-" sorts before "/" as text.
    for rel in ("a-b.yaml", "a/b.yaml", "a/c/d.yml", "z.json", "top.yaml", ".hidden.yaml", ".git/x.yaml",
                "notes.txt", "a/.h/e.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("version: 1\n")
    found = jobspec_paths(tmp_path)
    assert found == sorted(found)
    assert [str(p.relative_to(tmp_path)) for p in found] == ["a/b.yaml", "a/c/d.yml", "a-b.yaml", "top.yaml", "z.json"]
    assert jobspec_paths(tmp_path / "a") == [tmp_path / "a" / "b.yaml", tmp_path / "a" / "c" / "d.yml"]


def test_jobspec_suffixes_are_read_in_any_case(tmp_path):
    for name in ("a.YAML", "b.Yml", "c.JSON", "d.yaml.bak"):
        (tmp_path / name).write_text("version: 1\n")
    assert [p.name for p in jobspec_paths(tmp_path)] == ["a.YAML", "b.Yml", "c.JSON"]


@pytest.mark.parametrize("flag", ["--out", "--clusters", "--jobspecs", "--levels", "--truth"])
def test_an_empty_path_is_refused_before_anything_is_read_or_written(tmp_path, capsys, monkeypatch, flag):
    # An unset variable (--out "$OUT") is "", which the OS takes for the current directory.
    monkeypatch.chdir(tmp_path)
    argv = {"--out": str(tmp_path / "o"), "--clusters": "c", "--jobspecs": "j"}
    argv[flag] = ""
    err = one_line(capsys, ["replay", *(x for pair in argv.items() for x in pair)])
    assert f"argument {flag}: '' is not a path; allowed:" in err and list(tmp_path.iterdir()) == []


def test_a_misspelt_key_in_a_requires_item_is_refused(tmp_path, capsys):
    clusters, jobspecs = write_reliabuild(tmp_path / "c", clusters=2, subsystems=3, jobspecs=2, requires=2)
    spec = jobspecs / "spec00001.yaml"
    spec.write_text(spec.read_text().replace("field: version", "field: version\n      mxa: '9'", 1))
    err = one_line(capsys, ["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--out",
                             str(tmp_path / "r")])
    assert err == (f"compatlab: error: {spec}: resources.spec.requires[0].mxa: is not a key of a requires item; "
                   "allowed: name, field, match, min, max\n")


def test_an_output_inside_the_clusters_is_refused(corpus, tmp_path, capsys):
    _, clusters, jobspecs = corpus
    err = one_line(capsys, ["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--out",
                             str(clusters / "res")])
    assert "is inside --clusters" in err and not (clusters / "res").exists()


def test_jobspecs_given_as_the_current_directory_keep_their_names(corpus, tmp_path, capsys, monkeypatch):
    _, clusters, jobspecs = corpus
    monkeypatch.chdir(jobspecs)
    assert main(["replay", "--clusters", str(clusters), "--jobspecs", ".", "--out", str(tmp_path / "r")]) == 0
    rows = list(csv.DictReader((tmp_path / "r" / "replay.csv").open()))
    assert {r["jobspec"] for r in rows} == {p.name for p in jobspecs.iterdir()}


@pytest.mark.parametrize(("text", "words"), [
    ('"a\\x1b[31m": [pkg000]\n', "the level name holds the control character U+001B; allowed: printable"),
    ("a: [pkg000, pkg000]\n", "subsystem 'pkg000' is already added in this level; allowed: each subsystem once"),
])
def test_a_level_name_or_list_that_cannot_be_shown_or_repeats_is_refused(corpus, tmp_path, capsys, text, words):
    _, clusters, jobspecs = corpus
    levels = tmp_path / "levels.yaml"
    levels.write_text(text)
    err = one_line(capsys, ["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--levels",
                             str(levels), "--out", str(tmp_path / "r")])
    assert words in err and "\x1b" not in err


def test_a_version_bound_of_ten_thousand_characters_is_refused_as_too_long(tmp_path, capsys):
    clusters, jobspecs = write_reliabuild(tmp_path / "c", clusters=2, subsystems=3, jobspecs=2, requires=2)
    spec = jobspecs / "spec00000.yaml"
    spec.write_text(spec.read_text().replace('min: "', 'min: "' + "1" * 10_000, 1))
    err = one_line(capsys, ["replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs), "--out",
                             str(tmp_path / "r")])
    assert "is not a version bound (longer than 256 characters)" in err


def test_a_jobspec_that_starts_with_a_byte_order_mark_reads_as_without(tmp_path):
    clusters, jobspecs = write_reliabuild(tmp_path / "c", clusters=2, subsystems=3, jobspecs=2, requires=2)
    plain = read_corpus(clusters, jobspec_paths(jobspecs)).requests
    for p in jobspec_paths(jobspecs):
        p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    marked = read_corpus(clusters, jobspec_paths(jobspecs)).requests
    assert [(r.slots, r.rainbow) for r in marked] == [(r.slots, r.rainbow) for r in plain]
