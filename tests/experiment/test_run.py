"""The run loop: register, submit per level, receive, record, report; on the embedded scheduler and over gRPC."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest

from compatlab.cli import main
from compatlab.errors import LabError
from compatlab.experiment.executors import SimulatedExecutor
from compatlab.experiment.records import read_records
from compatlab.experiment.session import Target, connect, do_run, prepare_out
from compatlab.experiment.simulate import simulate
from compatlab.files import Journal
from compatlab.lab.stack import load_lab
from compatlab.scheduler.rainbow import Retry
from tests.rainbow_double import RainbowDouble

ROW_KEYS = ("level", "jobs", "placed_ok", "placed_failed", "rejected", "rejected_runnable", "accuracy",
            "match_precision")
FAST = Retry(attempts=3, first_s=0.0, cap_s=0.0)


def run_json(capsys, *argv: str) -> dict:
    if "--repeats" not in argv:
        argv += ("--repeats", "1")  # one trial is enough where the number of trials is not the point
    assert main(["run", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def same_rows(rows: list[dict], levels) -> None:
    for row, level in zip(rows, levels, strict=True):
        expected = asdict(level)
        assert {k: row[k] for k in ROW_KEYS} == {k: expected[k] for k in ROW_KEYS}, row["level"]


def exactly_once(out: Path, planned: int) -> Counter:
    """Every planned job has one record; no job was received twice; returns outcomes."""
    state = json.loads((out / "state" / "state.json").read_text())
    records = [r for r in read_records(out / "results") if r.run == state["run"]]
    submissions = Journal(out / "state" / "submissions.jsonl").events
    names = {e["name"] for e in submissions if e["event"] in ("placed", "rejected", "sending")}
    received = [e for p in (out / "state").glob("received-*.jsonl") for e in Journal(p).events
                if e["event"] == "received"]
    rejected = {e["name"] for e in submissions if e["event"] == "rejected"}
    assert len(names) == planned
    assert len(records) + len(rejected) == planned
    assert len({e["name"] for e in received}) == len(received) == len(records)
    return Counter(r.outcome for r in records)


def test_an_embedded_run_agrees_with_simulate_for_the_same_seed(tmp_path, capsys, full_lab):
    summary = run_json(capsys, "--stack", "full", "--embedded", "--out", str(tmp_path / "run"),
                       "--repeats", "3", "--seed", "4")
    assert summary["planned"] == summary["submitted"] == 7 * 7 * 3
    assert summary["duplicates"] == 0
    same_rows(summary["levels"], simulate(full_lab, seed=4, repeats=3).levels)
    exactly_once(tmp_path / "run", 7 * 7 * 3)


def test_every_result_record_carries_what_the_seed_asks_to_keep(tmp_path, capsys):
    run_json(capsys, "--stack", "dev", "--embedded", "--out", str(tmp_path / "run"))
    records = read_records(tmp_path / "run" / "results")
    assert records
    for r in records:
        assert r.level and r.workload and r.cluster and r.rainbow_job_id > 0 and r.outcome
        assert r.start.endswith("Z") and "T" in r.start and r.jobspec.startswith("version: 1")
    gpu = {r.outcome for r in records if r.workload == "gpuburn"}
    assert "no-gpu" in gpu and "ok" not in gpu  # placed below the gpu level, it fails wherever it lands


def test_a_run_against_rainbow_places_jobs_only_where_satisfy_allows(tmp_path, capsys, monkeypatch):
    double = RainbowDouble(secret="s3").start()
    monkeypatch.setenv("COMPATLAB_RAINBOW_SECRET", "s3")
    try:
        summary = run_json(capsys, "--stack", "dev", "--rainbow", double.address, "--out", str(tmp_path / "run"),
                           "--repeats", "2")
    finally:
        double.stop()
    out = tmp_path / "run"
    outcomes = exactly_once(out, summary["planned"])
    placed = {e["name"]: e for e in Journal(out / "state" / "submissions.jsonl").events if e["event"] == "placed"}
    for record in read_records(out / "results"):
        assert record.cluster in placed[record.name]["matches"]
    assert double.queued() == []
    assert double.calls["SubmitJob"] == len(placed) and outcomes["ok"] > 0


def test_the_secret_never_reaches_output_records_or_reports(tmp_path, capsys, monkeypatch):
    double = RainbowDouble(secret="never-print-this-secret").start()
    monkeypatch.setenv("COMPATLAB_RAINBOW_SECRET", "never-print-this-secret")
    try:
        run_json(capsys, "--stack", "dev", "--rainbow", double.address, "--out", str(tmp_path / "run"))
        printed = capsys.readouterr()
    finally:
        double.stop()
    cluster_secrets = [c["secret"] for c in double.clusters.values()]
    state = tmp_path / "run" / "state" / "state.json"
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    for path in (p for p in (tmp_path / "run").rglob("*") if p.is_file() and p != state):
        text = path.read_bytes()
        assert b"never-print-this-secret" not in text, path
        assert not any(s.encode() in text for s in cluster_secrets), path
    assert "never-print-this-secret" not in printed.out + printed.err


def test_transient_failures_do_not_lose_or_repeat_jobs(tmp_path, capsys, monkeypatch):
    double = RainbowDouble(secret="s").start()
    for method in ("Register", "RegisterSubsystem", "Satisfy", "SubmitJob", "ReceiveJobs", "AcceptJobs"):
        double.fail(method, 2)
    monkeypatch.setattr("compatlab.scheduler.rainbow.Retry.first_s", 0.0)
    lab = load_lab("dev")
    try:
        scheduler = connect(Target(double.address), tmp_path / "state", "s", retry=Retry(attempts=3, first_s=0.0))
        prepare_out(tmp_path / "run", resume=False, force=False)
        summary, _ = do_run(scheduler, lab, tmp_path / "run", 1, 0, None, SimulatedExecutor(lab),
                            lambda *_: None)
    finally:
        double.stop()
    assert summary.duplicates == 0
    exactly_once(tmp_path / "run", summary.planned)


class Crash(BaseException):
    """A stand-in for kill -9: raised instead of the k-th write (journal event or state file), caught by the test."""


def crash_at(monkeypatch, k: int) -> None:
    import compatlab.experiment.state as state_module

    real_append, real_write = Journal.append, state_module.write_file
    count = {"n": 0}

    def step() -> None:
        count["n"] += 1
        if count["n"] == k:
            raise Crash(k)

    def append(self, event):
        step()
        return real_append(self, event)

    def write_file(path, data, mode=None):
        step()
        return real_write(path, data, mode)

    monkeypatch.setattr(Journal, "append", append)
    monkeypatch.setattr(state_module, "write_file", write_file)


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory):
    """The dev lab with two levels and two workloads: every step of a run in a few dozen journal writes."""
    import yaml

    from compatlab.lab.paths import STACKS

    doc = yaml.safe_load((STACKS / "Pulumi.dev.yaml").read_text())
    doc["config"]["compatlab:levels"] = ["none", "gpu"]
    doc["config"]["compatlab:workloads"] = ["salad", "gpuburn"]
    path = tmp_path_factory.mktemp("small") / "Pulumi.small.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def run_until_done(lab, out: Path, target: Target, secret: str | None, crash_step: int, monkeypatch) -> bool:
    """Run once with a crash at ``crash_step``; then resume without one. True if the crash happened."""
    crashed = False
    with monkeypatch.context() as m:
        crash_at(m, crash_step)
        prepare_out(out, resume=True, force=False)
        scheduler = connect(target, out / "state", secret, retry=FAST)
        try:
            do_run(scheduler, lab, out, 1, 0, None, SimulatedExecutor(lab), lambda *_: None, report=False)
        except Crash:
            crashed = True
        finally:
            scheduler.close()
    scheduler = connect(target, out / "state", secret, retry=FAST)
    try:
        do_run(scheduler, lab, out, 1, 0, None, SimulatedExecutor(lab), lambda *_: None, report=False)
    finally:
        scheduler.close()
    return crashed


def test_a_run_killed_at_every_step_and_resumed_records_each_job_once_embedded(tmp_path, monkeypatch, small_stack):
    lab = load_lab(small_stack)
    planned = 2 * 2  # two levels, two workloads, one trial
    step, crashes = 1, 0
    while True:
        out = tmp_path / f"run{step}"
        if not run_until_done(lab, out, Target(), None, step, monkeypatch):
            break
        crashes += 1
        outcomes = exactly_once(out, planned)
        assert sum(outcomes.values()) == 3  # the gpu job is rejected at the gpu level
        step += 1
    assert crashes > 20  # every journal write of the run was a crash point


def test_a_run_killed_at_every_step_and_resumed_records_each_job_once_over_grpc(tmp_path, monkeypatch, small_stack):
    lab = load_lab(small_stack)
    step, stranded = 1, 0
    while True:
        double = RainbowDouble(secret="s").start()
        out = tmp_path / f"run{step}"
        try:
            crashed = run_until_done(lab, out, Target(double.address), "s", step, monkeypatch)
        except LabError as err:
            # Killed after rainbow registered a cluster and before its one answer was saved: rainbow never
            # answers the credentials again, so the resume stops with a line that says what to do.
            assert "is already registered with" in str(err) and "--cleanup" in str(err)
            stranded += 1
            step += 1
            continue
        finally:
            double.stop()
        exactly_once(out, 4)
        assert double.queued() == []
        if not crashed:
            break
        step += 1
    assert step > 15
    assert stranded == len(lab.miniclusters)  # only the instant between Register's answer and its save


def test_kill_9_at_random_moments_then_resume(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "compatlab", "run", "--stack", "dev", "--embedded", "--out", str(out),
            "--repeats", "3", "--resume"]
    rng = random.Random(11)
    kills = 0
    for _ in range(8):
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 2.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    final = subprocess.run(argv + ["--json"], capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["duplicates"] == 0 and summary["planned"] == summary["submitted"] == 7 * 4 * 3
    exactly_once(out, 7 * 4 * 3)
    assert kills >= 1


def test_an_earlier_run_is_not_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    first = run_json(capsys, "--stack", "dev", "--embedded", "--out", str(out))
    assert main(["run", "--stack", "dev", "--embedded", "--out", str(out), "--repeats", "1"]) == 2
    assert "holds an earlier run; allowed: --resume to finish it, --force to start again" in capsys.readouterr().err
    again = run_json(capsys, "--stack", "dev", "--embedded", "--out", str(out), "--force")
    assert again["planned"] == first["planned"]
    runs = {r.run for r in read_records(out / "results")}
    assert len(runs) == 1  # the first run's records went with it


def test_a_force_killed_between_its_renames_leaves_the_old_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    run_json(capsys, "--stack", "dev", "--embedded", "--out", str(out))
    before = sorted(p.name for p in (out / "results").iterdir())
    real = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(".run.new-"):  # the old run moved aside, the new one not yet in
            raise Crash("kill")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Crash):
        prepare_out(out, resume=False, force=True)
    monkeypatch.undo()
    leftovers = sorted(p.name.split("-")[0] for p in tmp_path.iterdir() if p.name.startswith("."))
    assert leftovers == [".run.old"] and not out.exists()  # a real kill would leave .run.new-* too
    prepare_out(out, resume=True, force=False)  # the next call cleans up and starts a new run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"] and (out / ".compatlab").is_file()
    assert before  # the old run's records went only with an explicit --force


def test_a_directory_compatlab_did_not_write_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["run", "--stack", "dev", "--embedded", "--out", str(tmp_path), "--force"]) == 2
    assert "was not written by compatlab" in capsys.readouterr().err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_register_twice_reuses_the_first_credentials(tmp_path, capsys, monkeypatch):
    double = RainbowDouble(secret="s").start()
    monkeypatch.setenv("COMPATLAB_RAINBOW_SECRET", "s")
    state = tmp_path / "state"
    try:
        args = ["register", "--stack", "dev", "--rainbow", double.address, "--state", str(state), "--json"]
        assert main(args) == 0
        first = json.loads(capsys.readouterr().out)
        saved = json.loads((state / "state.json").read_text())["clusters"]
        assert main(args) == 0
        second = json.loads(capsys.readouterr().out)
    finally:
        double.stop()
    assert sorted(first["registered"]) == sorted(second["reused"]) == sorted(saved)
    assert second["registered"] == [] and second["subsystems"] == 0
    assert json.loads((state / "state.json").read_text())["clusters"] == saved
    assert all(c["secret"] == double.clusters[n]["secret"] for n, c in saved.items())


def test_a_cluster_the_server_knows_but_the_state_does_not_is_named(tmp_path, capsys, monkeypatch):
    double = RainbowDouble(secret="s").start()
    monkeypatch.setenv("COMPATLAB_RAINBOW_SECRET", "s")
    try:
        assert main(["register", "--stack", "dev", "--rainbow", double.address, "--state", str(tmp_path / "a")]) == 0
        capsys.readouterr()
        code = main(["register", "--stack", "dev", "--rainbow", double.address, "--state", str(tmp_path / "b")])
    finally:
        double.stop()
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "cluster rocky9-amd64 is already registered with" in err and "not in this state" in err


def test_a_wrong_secret_is_one_line_naming_the_cluster(tmp_path, capsys, monkeypatch):
    double = RainbowDouble(secret="right").start()
    monkeypatch.setenv("COMPATLAB_RAINBOW_SECRET", "wrong")
    try:
        code = main(["register", "--stack", "dev", "--rainbow", double.address, "--state", str(tmp_path / "s")])
    finally:
        double.stop()
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "denied registering for cluster rocky9-amd64" in err
    assert "wrong" not in err.split("denied")[0]


def test_submit_and_receive_as_separate_commands_then_report(tmp_path, capsys, monkeypatch):
    double = RainbowDouble(secret="s").start()
    monkeypatch.setenv("COMPATLAB_RAINBOW_SECRET", "s")
    state, results = tmp_path / "state", tmp_path / "results"
    where = ["--rainbow", double.address, "--state", str(state)]
    try:
        assert main(["register", "--stack", "dev", *where]) == 0
        assert main(["submit", *where, "--level", "none", "--level", "gpu", "--repeats", "2", "--json"]) == 0
        capsys.readouterr()
        assert main(["submit", *where, "--level", "none", "--level", "gpu", "--repeats", "2", "--json"]) == 0
        again = json.loads(capsys.readouterr().out)
        assert again["placed"] == again["rejected"] == 0 and again["already"] == 16
        for mc in load_lab("dev").miniclusters:
            assert main(["receive", "--cluster", mc.name, *where, "--results", str(results), "--once"]) == 0
    finally:
        double.stop()
    assert double.queued() == []
    capsys.readouterr()
    assert main(["report", "--results", str(results), "--state", str(state), "--out", str(tmp_path / "report"),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    levels = {row["level"]: row for row in report["levels"]}
    assert levels["gpu"]["rejected"] == 2 and levels["none"]["pending"] == levels["gpu"]["pending"] == 0
    assert levels["arch"]["not_submitted"] == levels["arch"]["jobs"] == 4 * 2 and levels["arch"]["decided"] == 0
    assert (tmp_path / "report" / "report.csv").read_text().count("\n") == 1 + 7 * 4 * 2
    assert report["confusion"]["no-gpu"] == {"no-gpu": 2}


def test_submit_refuses_a_level_the_stack_does_not_have(tmp_path, capsys):
    assert main(["register", "--stack", "dev", "--embedded", "--state", str(tmp_path)]) == 0
    assert main(["submit", "--embedded", "--state", str(tmp_path), "--level", "nope"]) == 2
    assert "'nope' is not a level of stack dev; allowed: none, counts" in capsys.readouterr().err


def test_receive_with_the_local_executor_classifies_real_exit_codes(tmp_path, capsys):
    state, results = tmp_path / "state", tmp_path / "results"
    where = ["--embedded", "--state", str(state)]
    assert main(["register", "--stack", "dev", *where]) == 0
    assert main(["submit", *where, "--level", "arch"]) == 0
    for mc in load_lab("dev").miniclusters:
        assert main(["receive", "--cluster", mc.name, *where, "--results", str(results), "--executor", "local",
                     "--timeout", "30"]) == 0
    records = {r.workload: r for r in read_records(results)}
    # No singularity, lammps or lstopo on this machine: a shell reports 127 and the classifier says so.
    for workload in ("salad", "lammps", "hwloc"):
        if workload in records and records[workload].exit_code == 127:
            assert records[workload].outcome == "missing-software"
    assert all(r.executor == "local" for r in records.values())


# --- what a new user found: restarts, wrong directories, duplicates, hostile flags -------------------------------


def test_a_rainbow_restarted_with_a_fresh_database_loses_no_job(tmp_path, capsys, monkeypatch):
    """Job ids start at 1 again and the queued jobs are gone: new jobs still run, lost ones are sent again."""
    monkeypatch.setenv("COMPATLAB_RAINBOW_SECRET", "s")
    first = RainbowDouble(secret="s").start()
    port = int(first.address.rsplit(":", 1)[1])
    out = tmp_path / "run"
    argv = ["run", "--stack", "dev", "--rainbow", first.address, "--out", str(out), "--repeats", "1", "--json"]
    state = out / "state"
    # First life: submit everything, receive only on one cluster, then the server goes away with its queues.
    prepare_out(out, resume=False, force=False)
    lab = load_lab("dev")
    scheduler = connect(Target(first.address), state, "s", retry=FAST)
    from compatlab.experiment.runner import plan, register, submit
    from compatlab.experiment.state import open_state
    from compatlab.formats.generate import generate

    files = generate(lab)
    run_state = open_state(state, first.address, lab.stack, lab.source)
    register(scheduler, lab, files, run_state)
    submit(scheduler, files, run_state, plan(lab, run_state.run, 1))
    scheduler.close()
    first.stop()
    # Second life on the same address: a fresh database, ids from 1 again.
    second = RainbowDouble(secret="s").start(port)
    try:
        assert main([*argv, "--resume"]) == 0
    finally:
        second.stop()
    summary = json.loads(capsys.readouterr().out)
    exactly_once(out, summary["planned"])
    forgotten = [e for e in Journal(state / "submissions.jsonl").events if e["event"] == "forgotten"]
    assert len(forgotten) == len(lab.miniclusters)


def test_job_ids_reused_by_a_restarted_rainbow_are_new_jobs_to_the_receiver(tmp_path):
    from compatlab.experiment.executors import LocalExecutor
    from compatlab.experiment.receiver import receive_round
    from compatlab.scheduler.interface import ReceivedJob

    class Queue:
        endpoint = "stub"

        def __init__(self, jobs):
            self.jobs = jobs

        def receive(self, cluster, secret, max_jobs=0):
            return self.jobs

        def accept(self, cluster, secret, ids):
            self.jobs = []

    spec = "version: 1\ntasks:\n- command: [sh, -c, 'echo ran']\n"
    first = Queue([ReceivedJob(1, "c1", "abcdef01.none.hwloc.0", spec)])
    receive_round(first, tmp_path, "c1", "s", tmp_path / "results", LocalExecutor(10))
    again = Queue([ReceivedJob(1, "c1", "abcdef01.counts.hwloc.0", spec)])  # id 1 again, another job
    got = receive_round(again, tmp_path, "c1", "s", tmp_path / "results", LocalExecutor(10))
    assert got.received == 1 and got.written == 1
    assert len(read_records(tmp_path / "results")) == 2


def test_a_report_or_simulation_never_replaces_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    run_json(capsys, "--stack", "dev", "--embedded", "--out", str(out))
    assert main(["report", "--results", str(out / "results"), "--state", str(out / "state"), "--out", str(out)]) == 2
    assert "holds the output of compatlab run, not of compatlab report" in capsys.readouterr().err
    assert main(["simulate", "--stack", "dev", "--out", str(out)]) == 2
    assert (out / "state" / "state.json").exists() and list((out / "results").iterdir())


def test_a_run_never_resumes_in_a_simulation_output(tmp_path, capsys):
    assert main(["simulate", "--stack", "dev", "--out", str(tmp_path / "sim"), "--repeats", "1"]) == 0
    assert main(["run", "--stack", "dev", "--embedded", "--out", str(tmp_path / "sim"), "--resume",
                 "--repeats", "1"]) == 2
    assert "holds the output of compatlab simulate, not a run" in capsys.readouterr().err


def test_an_unanswered_submission_is_not_sent_again_unless_asked(tmp_path, capsys):
    state = tmp_path / "state"
    where = ["--embedded", "--state", str(state)]
    assert main(["register", "--stack", "dev", *where]) == 0
    run_id = json.loads((state / "state.json").read_text())["run"]
    journal = Journal(state / "submissions.jsonl")
    journal.append({"event": "sending", "name": f"{run_id}.none.salad.0"})  # killed before the answer
    journal.close()
    capsys.readouterr()
    assert main(["submit", *where, "--level", "none", "--repeats", "1", "--json"]) == 0
    held = json.loads(capsys.readouterr().out)
    assert held["unanswered"] == 1 and held["placed"] == 3
    assert main(["submit", *where, "--level", "none", "--repeats", "1", "--resend-unanswered", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["placed"] == 1


def test_a_job_queued_twice_on_two_clusters_runs_once_in_a_shared_state(tmp_path):
    from compatlab.experiment.executors import LocalExecutor
    from compatlab.experiment.receiver import receive_round
    from compatlab.scheduler.embedded import EmbeddedScheduler

    lab = load_lab("dev")
    files = __import__("compatlab.formats.generate", fromlist=["generate"]).generate(lab)
    scheduler = EmbeddedScheduler(tmp_path / "embedded.jsonl")
    creds = {mc.name: scheduler.register(mc.name, files[f"clusters/{mc.name}/nodes.json"]).credentials
             for mc in lab.miniclusters}
    a, b = "rocky9-amd64", "rocky9-arm64"
    doc = {"version": 1, "resources": {"x": {"type": "node", "replicas": 1}},
           "tasks": [{"command": ["true"], "resources": "x"}]}
    name = "abcdef01.none.hwloc.0"
    scheduler.submit(name, doc, {a: creds[a].token}, "k")  # the first copy, its answer lost
    scheduler.submit(name, doc, {b: creds[b].token}, "k")  # sent again, lands elsewhere
    results = tmp_path / "results"
    got_a = receive_round(scheduler, tmp_path, a, creds[a].secret, results, LocalExecutor(10))
    got_b = receive_round(scheduler, tmp_path, b, creds[b].secret, results, LocalExecutor(10))
    assert (got_a.written, got_b.written, got_b.duplicates) == (1, 0, 1)


def test_two_receivers_on_one_cluster_cannot_both_run(tmp_path):
    from compatlab.experiment.executors import LocalExecutor
    from compatlab.experiment.receiver import receive_round
    from compatlab.scheduler.embedded import EmbeddedScheduler

    holder = Journal(tmp_path / "received-c1.jsonl")
    holder.lock("held")
    with pytest.raises(LabError, match="another receiver for cluster c1"):
        receive_round(EmbeddedScheduler(), tmp_path, "c1", "s", tmp_path / "r", LocalExecutor(10))
    holder.close()


def test_an_embedded_store_shared_by_two_processes_stays_current(tmp_path):
    from compatlab.scheduler.embedded import EmbeddedScheduler

    files = __import__("compatlab.formats.generate", fromlist=["generate"]).generate(load_lab("dev"))
    submitter, receiver = EmbeddedScheduler(tmp_path / "e.jsonl"), EmbeddedScheduler(tmp_path / "e.jsonl")
    creds = submitter.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"]).credentials
    doc = {"version": 1, "resources": {"x": {"type": "node", "replicas": 1}},
           "tasks": [{"command": ["true"], "resources": "x"}]}
    submitter.submit("abcdef01.none.hwloc.0", doc, {"rocky9-amd64": creds.token}, "k")
    assert [j.name for j in receiver.receive("rocky9-amd64", creds.secret)] == ["abcdef01.none.hwloc.0"]


def test_force_against_rainbow_keeps_the_registrations(tmp_path, capsys, monkeypatch):
    double = RainbowDouble(secret="s").start()
    monkeypatch.setenv("COMPATLAB_RAINBOW_SECRET", "s")
    out = tmp_path / "run"
    try:
        first = run_json(capsys, "--stack", "dev", "--rainbow", double.address, "--out", str(out))
        again = run_json(capsys, "--stack", "dev", "--rainbow", double.address, "--out", str(out), "--force")
    finally:
        double.stop()
    assert first["planned"] == again["planned"] == again["submitted"]
    assert double.calls["Register"] == 2 * 3  # the second run met REGISTER_EXISTS and reused what it kept


@pytest.mark.parametrize(("argv", "message"), [
    (["register", "--stack", "dev", "--rainbow", "127.0.0.1:1", "--state", "S", "--secret", "x"],
     "unrecognized arguments: --secret"),
    (["receive", "--embedded", "--cluster", "c1", "--state", "S", "--results", "R", "--interval", "-1", "--loop"],
     "'-1' is not allowed"),
    (["receive", "--embedded", "--cluster", "c1", "--state", "S", "--results", "R", "--timeout", "0"],
     "'0' is not allowed"),
])
def test_bad_flags_are_refused_before_anything_runs(tmp_path, capsys, argv, message):
    argv = [a.replace("S", str(tmp_path / "s")).replace("R", str(tmp_path / "r")) if a in "SR" else a for a in argv]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("address", ["127.0.0.1", ":50051", "127.0.0.1:abc", "http://127.0.0.1:50051",
                                     "127.0.0.1:99999"])
def test_a_bad_rainbow_address_is_one_line_and_leaves_no_out(tmp_path, capsys, address):
    assert main(["run", "--stack", "dev", "--rainbow", address, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not HOST:PORT" in err
    assert not (tmp_path / "run").exists()


def test_a_ca_that_is_not_pem_is_refused_before_out_exists(tmp_path, capsys):
    (tmp_path / "ca.pem").write_text("hello")
    code = main(["run", "--stack", "dev", "--rainbow", "127.0.0.1:50051", "--tls-ca", str(tmp_path / "ca.pem"),
                 "--out", str(tmp_path / "run")])
    assert code == 2 and "is not a PEM certificate" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_missing_secret_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COMPATLAB_RAINBOW_SECRET", raising=False)
    double = RainbowDouble(secret="s").start()
    try:
        code = main(["register", "--stack", "dev", "--rainbow", double.address, "--state", str(tmp_path)])
    finally:
        double.stop()
    assert code == 2 and "COMPATLAB_RAINBOW_SECRET: is not set" in capsys.readouterr().err


def test_an_out_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code = main(["run", "--stack", "dev", "--embedded", "--out", str(tmp_path / "file" / "run"), "--repeats", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_report_on_a_missing_results_directory_says_so(tmp_path, capsys):
    run_json(capsys, "--stack", "dev", "--embedded", "--out", str(tmp_path / "run"))
    code = main(["report", "--results", str(tmp_path / "typo"), "--state", str(tmp_path / "run" / "state"),
                 "--out", str(tmp_path / "rep")])
    assert code == 2 and "typo: does not exist; allowed: --results" in capsys.readouterr().err


@pytest.mark.parametrize("cluster", ["a/../../../pwned", "rocky9_amd64", "Rocky9"])
def test_a_cluster_name_rainbow_would_misread_is_refused(tmp_path, capsys, cluster):
    code = main(["receive", "--embedded", "--cluster", cluster, "--state", str(tmp_path / "s"),
                 "--results", str(tmp_path / "r"), "--executor", "local"])
    assert code == 2 and "is not a minicluster name" in capsys.readouterr().err
    assert not (tmp_path / "pwned.jsonl").exists() and not list(tmp_path.rglob("*.jsonl"))


def test_receive_refuses_a_stack_other_than_the_states(tmp_path, capsys):
    where = ["--embedded", "--state", str(tmp_path / "s")]
    assert main(["register", "--stack", "dev", *where]) == 0
    code = main(["receive", *where, "--cluster", "rocky9-amd64", "--results", str(tmp_path / "r"), "--stack", "full"])
    assert code == 2 and "is not the stack of this state (dev)" in capsys.readouterr().err
