"""The local simulation of the full experiment, and the match/simulate commands."""

from __future__ import annotations

import csv
import json
import typing

import pytest
import yaml

from compatlab.cli import main
from compatlab.experiment.outcomes import OUTCOMES
from compatlab.experiment.simulate import simulate
from compatlab.scheduler.answers import MatchAnswer
from tests.graphs import cluster_dir, jobspec


@pytest.fixture(scope="module")
def sim(full_lab):
    return simulate(full_lab, seed=3, repeats=10)


def level(sim, name):
    return next(s for s in sim.levels if s.level == name)


def test_same_seed_same_results(full_lab, sim):
    again = simulate(full_lab, seed=3, repeats=10)
    assert again.records == sim.records
    other = simulate(full_lab, seed=4, repeats=10)
    assert [r.cluster for r in other.records] != [r.cluster for r in sim.records]


def test_without_metadata_jobs_land_anywhere_and_fail_in_several_ways(sim, full_lab):
    none = level(sim, "none")
    assert none.rejected == 0
    assert sum(1 for n in none.placed_failed.values() if n) >= 4
    placed = {r.cluster for r in sim.records if r.level == "none"}
    assert len(placed) >= len(full_lab.miniclusters) - 2


def test_fully_described_jobs_succeed_where_they_land_and_the_gpu_job_is_rejected(sim):
    gpu = level(sim, "gpu")
    assert gpu.accuracy == 1.0 and gpu.match_precision == 1.0
    assert sum(gpu.placed_failed.values()) == 0 and gpu.rejected_runnable == 0
    rejected = {r.workload for r in sim.records if r.level == "gpu" and r.outcome == "rejected"}
    assert rejected == {"gpuburn"}


def test_precision_never_drops_as_metadata_grows(sim):
    precisions = [s.match_precision for s in sim.levels]
    assert precisions == sorted(precisions) and precisions[0] < 0.7


def test_the_report_names_what_real_rainbow_would_have_allowed(sim):
    memory = {(d["workload"], d["cluster"], d["outcome"]) for d in level(sim, "memory").rainbow_would_also_place}
    # Checked against a real rainbow server: 1.5 GB per node passes on 1 GB nodes (the cluster's total counts),
    # while the 4-node fractal is refused by the 2-node cluster's pre-check (2 memory vertices < 4 replicas).
    assert memory == {("lammps", "lowmem-jammy-amd64", "oom-killed")}
    assert level(sim, "none").rainbow_would_also_place == []


def test_records_are_consistent_with_the_matcher(sim):
    for r in sim.records:
        assert (r.cluster in r.matches) if r.matches else (r.cluster is None and r.outcome == "rejected")
        assert r.outcome in (*OUTCOMES, "rejected")


def test_simulate_writes_csv_json_and_plot(tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["simulate", "--stack", "dev", "--seed", "1", "--repeats", "3", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"stack", "seed", "repeats", "clusters", "workloads", "levels", "out"}
    assert set(summary["levels"][0]) == {"level", "jobs", "placed_ok", "placed_failed", "rejected",
                                         "rejected_runnable", "accuracy", "match_precision",
                                         "rainbow_would_also_place", "expected_accuracy", "accuracy_low",
                                         "accuracy_high", "rainbow_expected_accuracy"}
    assert summary["levels"][0]["jobs"] == 4 * 3
    for row in summary["levels"]:  # the sampled accuracy sits in its interval, the exact one is a share
        assert row["accuracy_low"] <= row["accuracy"] <= row["accuracy_high"]
        assert 0 <= row["expected_accuracy"] <= 1 and 0 <= row["rainbow_expected_accuracy"] <= 1
    assert summary["levels"][-1]["expected_accuracy"] == 1.0
    rows = list(csv.DictReader((out / "records.csv").open()))
    assert len(rows) == 7 * 4 * 3 and rows[0]["level"] == "none"
    assert json.loads((out / "records.json").read_text())[0]["workload"] == rows[0]["workload"]
    assert (out / "outcomes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "generated/clusters/rocky9-arm64/nodes.json").exists()


def test_simulate_prints_a_readable_summary(tmp_path, capsys):
    assert main(["simulate", "--stack", "full", "--out", str(tmp_path / "r")]) == 0
    text = capsys.readouterr().out
    for word in ("none", "gpu", "accuracy", "oom-killed", "lammps on lowmem-jammy-amd64", str(tmp_path / "r")):
        assert word in text


def test_match_json_answers_for_clusters_it_did_not_generate(tmp_path, capsys):
    clusters = tmp_path / "clusters"
    cluster_dir(clusters, "big", [{"cores": 8}] * 4, {"arch": {str(i): {"cpu.target": "arm64"} for i in range(4)}})
    cluster_dir(clusters, "tiny", [{"cores": 2}] * 2, {"arch": {"0": {"cpu.target": "arm64"}}})
    arm = tmp_path / "arm.yaml"
    arm.write_text(yaml.safe_dump(jobspec(replicas=1, requires=[
        {"name": "arch", "field": "cpu.target", "match": "arm64"}])))
    wide = tmp_path / "wide.yaml"
    wide.write_text(yaml.safe_dump(jobspec(replicas=3, cores=4)))
    assert main(["match", "--clusters", str(clusters), str(wide), str(arm), "--json", "--explain"]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert [a["jobspec"] for a in answers] == [str(wide), str(arm)]
    assert all(set(a) == set(typing.get_type_hints(MatchAnswer)) for a in answers)
    assert answers[0]["matches"] == ["big"] and answers[0]["rejected"] == {"tiny": "needs 3 nodes, has 2"}
    assert answers[1] == {"jobspec": str(arm), "matches": ["big", "tiny"], "rejected": {}}
    # Without --explain no reason is computed: the rejected clusters alone.
    assert main(["match", "--clusters", str(clusters), str(wide), str(arm), "--json"]) == 0
    assert [a["rejected"] for a in json.loads(capsys.readouterr().out)] == [["tiny"], []]


def test_match_without_json_prints_a_table(tmp_path, capsys):
    assert main(["generate", "--stack", "dev", "--out", str(tmp_path / "g")]) == 0
    capsys.readouterr()
    spec = tmp_path / "g/jobspecs/arch/salad.yaml"
    assert main(["match", "--clusters", str(tmp_path / "g/clusters"), str(spec)]) == 0
    text = capsys.readouterr().out
    assert "rocky9-amd64" in text and "rocky9-arm64: needs archspec cpu.target == amd64" in text


def test_match_bad_input_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "clusters/nothing").mkdir(parents=True)
    spec = tmp_path / "job.yaml"
    spec.write_text(yaml.safe_dump(jobspec()))
    assert main(["match", "--clusters", str(tmp_path / "clusters"), str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nothing: nodes.json: is missing" in err
