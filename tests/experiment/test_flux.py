"""The flux executor, against a stand-in for Flux that follows its documented job states."""

from __future__ import annotations

import os

import pytest
import yaml

from compatlab.errors import LabError
from compatlab.experiment.flux import FluxExecutor, job_environment, oom_kills, parse_jobs_line, placement
from compatlab.experiment.records import JobName
from compatlab.formats.flux import flux_commands
from compatlab.formats.generate import generate
from tests.fake_flux import install

NAME = JobName("abcdef01", "counts", "probe", 0)


@pytest.fixture
def flux(tmp_path, monkeypatch):
    install(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_FLUX_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("FAKE_FLUX_SIZE", "4")
    monkeypatch.setenv("FAKE_FLUX_CORES", "2")
    return FluxExecutor(timeout_s=30)


def job(command, nodes=1, cores=None) -> str:
    slot = {"type": "node", "replicas": nodes}
    if cores:
        slot["with"] = [{"type": "core", "count": cores}]
    return yaml.safe_dump({"version": 1, "resources": {"probe": slot},
                           "tasks": [{"command": command, "resources": "probe"}]})


def test_the_transformer_writes_the_flux_submit_line(full_lab):
    files = generate(full_lab)
    command = flux_commands(yaml.safe_load(files["jobspecs/counts/lammps.yaml"]))
    assert command == [["flux", "submit", "--job-name", "task-0", "-N", "1", "-n", "1",
                        *full_lab.workloads[[w.name for w in full_lab.workloads].index("lammps")].command]]


def test_a_job_that_succeeds_keeps_its_flux_id_state_and_output(flux):
    done = flux.execute("c", NAME, job(["sh", "-c", "echo from flux"]))
    assert done.outcome == "ok" and done.exit_code == 0
    assert done.executor_job_id.startswith("ƒ") and done.state == "INACTIVE/COMPLETED"
    assert done.output_tail == ("from flux",)


def test_fewer_tasks_than_nodes_is_refused_by_flux_submit_as_unsatisfiable(flux):
    # The jobspec library maps the slot's cores to -n: four nodes with one core each is -N 4 -n 1.
    done = flux.execute("c", NAME, job(["hostname"], nodes=4, cores=1))
    assert done.outcome == "unsatisfiable" and done.executor_job_id is None
    assert "node count must not be greater than task count" in done.evidence


def test_more_nodes_than_the_instance_has_fails_with_an_alloc_exception(flux):
    done = flux.execute("c", NAME, job(["hostname"], nodes=5, cores=8))
    assert done.outcome == "unsatisfiable" and done.state == "INACTIVE/FAILED"
    assert "unsatisfiable" in done.evidence and done.executor_job_id


def test_a_command_the_image_lacks_is_missing_software_with_flux_own_message(flux):
    done = flux.execute("c", NAME, job(["gpu_burn", "60"]))
    assert (done.outcome, done.exit_code) == ("missing-software", 127)
    assert "start failed: gpu_burn: No such file or directory" in done.evidence


def test_a_failing_task_keeps_its_exit_code_and_output(flux):
    done = flux.execute("c", NAME, job(["sh", "-c", "echo 'ior ERROR: No space left on device'; exit 3"]))
    assert (done.outcome, done.exit_code, done.state) == ("disk-full", 3, "INACTIVE/FAILED")


def test_an_oom_kill_is_told_by_the_cgroup_count_not_the_exit_code(tmp_path, monkeypatch):
    install(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_FLUX_DIR", str(tmp_path / "jobs"))
    monkeypatch.setenv("FAKE_FLUX_SIZE", "1")  # the job runs on the lead broker's pod, whose cgroup this is
    counts = iter([3, 4])
    executor = FluxExecutor(timeout_s=30, oom=lambda: next(counts))
    done = executor.execute("c", NAME, job(["sh", "-c", "kill -9 $$"]))
    assert (done.outcome, done.exit_code) == ("oom-killed", 137)
    plain = FluxExecutor(timeout_s=30, oom=lambda: 4).execute("c", NAME, job(["sh", "-c", "kill -9 $$"]))
    assert plain.outcome == "failed-other"


def test_the_cgroup_oom_count_is_read_from_memory_events(tmp_path):
    events = tmp_path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\n")
    assert oom_kills((tmp_path / "missing", events)) == 2
    assert oom_kills((tmp_path / "missing",)) is None


def test_flux_jobs_lines_are_read_as_flux_core_prints_them():
    # Lines as flux-core 0.88.0 prints them (measured): an alloc failure has returncode 1, a pending cancel -128,
    # and only an active job has no returncode.
    assert parse_jobs_line("INACTIVE|COMPLETED|0||").returncode == 0
    failed = parse_jobs_line("INACTIVE|FAILED|1|alloc|unsatisfiable request: need 5 node(s) with 1 cores each, "
                             "only 4 eligible")
    assert failed.returncode == 1 and failed.exception.startswith("job.exception type=alloc unsatisfiable request")
    assert parse_jobs_line("INACTIVE|CANCELED|-128|cancel|").returncode == -128
    assert parse_jobs_line("RUN|||").returncode is None


def test_a_job_past_its_timeout_is_cancelled_in_flux_not_left_running(flux, tmp_path):
    slow = FluxExecutor(timeout_s=1)
    done = slow.execute("c", NAME, job(["sleep", "30"]))
    assert done.outcome == "failed-other" and "cancelled after the 1 s timeout" in done.evidence
    assert done.state == "INACTIVE/CANCELED" and done.exit_code == 143  # flux cancel of a running job


def test_the_job_carries_rainbows_name_and_not_the_receivers_environment(flux, monkeypatch):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/mnt/flux/view/lib:/usr/lib64/openmpi/lib:/mnt/flux/compatlab/venv/lib")
    line = flux.submit_line(NAME, job(["hostname"]))
    # The image's own library path stays (the Rocky images find Open MPI through it); the flux view's goes.
    assert line[:4] == ["flux", "submit", "--env=-PYTHONPATH", "--env=LD_LIBRARY_PATH=/usr/lib64/openmpi/lib"]
    assert line[line.index("--job-name") + 1] == str(NAME)


def test_the_receivers_paths_stay_out_and_the_images_stay_in():
    env = {"PYTHONPATH": "/mnt/flux/compatlab/home:/opt/app", "LD_LIBRARY_PATH": "/mnt/flux/view/lib"}
    assert job_environment(env) == ["--env=PYTHONPATH=/opt/app", "--env=-LD_LIBRARY_PATH"]
    assert job_environment({}) == ["--env=-PYTHONPATH", "--env=-LD_LIBRARY_PATH"]


def test_placement_spares_the_lead_broker_or_starts_on_it():
    assert placement(1, 4) == ["--requires=-rank:0"]
    assert placement(4, 5) == ["--requires=rank:0-3"]  # the fractal's leader on <minicluster>-0
    assert placement(4, 4) == [] and placement(5, 4) == [] and placement(1, None) == []


def test_a_job_smaller_than_the_instance_keeps_off_the_lead_brokers_rank(flux):
    # An eviction or OOM kill takes the whole pod; on rank 0 that would be the receiver's pod.
    assert "--requires=-rank:0" in flux.submit_line(NAME, job(["hostname"], nodes=1))
    assert "--requires=-rank:0" not in flux.submit_line(NAME, job(["hostname"], nodes=4, cores=1))
    small = flux.execute("c", NAME, job(["sh", "-c", "echo here"], nodes=3, cores=3))
    assert small.outcome == "ok"
    # The whole instance, rank 0 included, for a job as big as it: the fractal's leader runs on pod 0.
    whole = flux.execute("c", NAME, job(["sh", "-c", "echo $FLUX_TASK_RANK"], nodes=4, cores=4))
    assert whole.outcome == "ok" and sorted(whole.output_tail) == ["0", "1", "2", "3"]


def test_without_an_instance_size_no_constraint_is_added_and_flux_is_asked_again(capsys):
    answers = iter([(1, "flux-resource: ERROR: broker not ready"), (1, "again"), (0, "5 Nodes, 5 Cores, 0 GPUs")])

    def run(argv, timeout):
        return next(answers) if argv[1] == "resource" else (0, "")

    executor = FluxExecutor(run=run)
    assert not any(a.startswith("--requires") for a in executor.submit_line(NAME, job(["hostname"])))
    executor.submit_line(NAME, job(["hostname"]))
    assert capsys.readouterr().err.count("flux resource info failed (flux-resource: ERROR: broker not ready)") == 1
    assert "--requires=-rank:0" in executor.submit_line(NAME, job(["hostname"]))  # Flux answered at last


def test_an_oom_count_on_the_lead_pod_says_nothing_of_a_job_elsewhere(flux):
    counts = iter(range(100))  # every reading higher than the one before: an OOM kill during every job
    elsewhere = FluxExecutor(timeout_s=30, oom=lambda: next(counts))
    failed = elsewhere.execute("c", NAME, job(["sh", "-c", "exit 9"], nodes=1))
    assert failed.outcome == "failed-other"  # it ran off rank 0: the lead pod's cgroup is not its own
    whole = elsewhere.execute("c", NAME, job(["sh", "-c", "exit 9"], nodes=4, cores=4))
    assert whole.outcome == "oom-killed"  # it ran on the lead pod too
    ok = elsewhere.execute("c", NAME, job(["true"], nodes=4, cores=4))
    assert ok.outcome == "ok"  # a job that says it succeeded did


def test_a_failing_tasks_own_last_line_is_the_evidence_not_fluxs_summary(flux):
    done = flux.execute("c", NAME, job(["sh", "-c", "echo 'segfault in solver' >&2; exit 3"]))
    assert done.outcome == "failed-other" and done.evidence == "exit 3: segfault in solver"


def test_a_job_submitted_before_the_receiver_stopped_is_waited_for_not_run_again(flux):
    ids = []
    first = flux.execute("c", NAME, job(["sh", "-c", "echo once"]), submitted=ids.append)
    again = flux.resume(ids[0], first.start)
    assert again is not None and again.executor_job_id == ids[0] and again.output_tail == ("once",)
    assert flux.resume("ƒunknown", first.start) is None  # a restarted Flux has forgotten it


def test_every_task_runs_with_its_rank(flux):
    done = flux.execute("c", NAME, job(["sh", "-c", "echo rank $FLUX_TASK_RANK"], nodes=2, cores=2))
    assert done.outcome == "ok" and sorted(done.output_tail) == ["rank 0", "rank 1"]


def test_without_a_flux_command_the_receiver_stops_before_taking_jobs(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LabError, match="no flux command on PATH"):
        FluxExecutor()


def test_a_receiver_stopped_while_a_flux_job_ran_finds_it_again(flux, tmp_path):
    from compatlab.experiment.receiver import receive_round
    from compatlab.files import Journal

    class Queue:
        endpoint = "stub"

        def receive(self, cluster, secret, max_jobs=0):
            return []

        def accept(self, cluster, secret, ids):
            pass

    spec = job(["sh", "-c", "echo finished while nobody watched"])
    ids = []
    flux.execute("c", NAME, spec, submitted=ids.append)  # ran to its end in Flux; the receiver was gone
    journal = Journal(tmp_path / "state" / "received-c.jsonl")
    for event in ({"event": "received", "job_id": 7, "name": str(NAME), "cluster": "c", "jobspec": spec},
                  {"event": "accepted", "job_ids": [7], "cluster": "c"},
                  {"event": "started", "job_id": 7, "name": str(NAME), "start": "2026-11-29T10:00:00Z"},
                  {"event": "submitted", "job_id": 7, "name": str(NAME), "executor_job_id": ids[0]}):
        journal.append(event)
    journal.close()
    before = len(list((tmp_path / "jobs").glob("*.json")))
    got = receive_round(Queue(), tmp_path / "state", "c", "s", tmp_path / "results", flux)
    assert got.written == 1 and len(list((tmp_path / "jobs").glob("*.json"))) == before  # not run again
    from compatlab.experiment.records import read_records

    (record,) = read_records(tmp_path / "results")
    assert record.executor_job_id == ids[0] and record.output_tail == ("finished while nobody watched",)
