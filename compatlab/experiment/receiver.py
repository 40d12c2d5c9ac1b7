"""The receiver: ask the scheduler for a cluster's jobs, keep them, accept them, run them, record them.

rainbow hands a job over for good once it is accepted (``AcceptJobs`` deletes
it), so every job is written to the cluster's receive journal before it is
accepted, and run only after. Killed at any instant, a receiver started again
finds each job either still queued (received again, recognised by its id and
name) or in its journal (run now if it has no record yet): none is lost, none
runs twice. A second job under a name already received in the same journal
directory (a submission repeated after a lost answer), on this cluster or
another, is accepted, not run, and counted as a duplicate; receivers with
journals in different directories (one per MiniCluster) cannot see each other,
and ``collect`` names such a duplicate when it meets the second record. One
receiver per cluster and directory at a time: a second one stops with a line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from compatlab.scheduler.interface import Scheduler

from .executors import Execution, Executor
from .observe import OTHER
from .records import JobName, ResultRecord, parse_name, record_path, utc_now, write_record
from .state import ReceivedEvent, StartedEvent, SubmittedEvent, read_receiver_events, received_journal


@dataclass(frozen=True)
class Received:
    """One round's counts: jobs ``received`` (new), ``duplicates`` accepted but not run, records ``written``."""

    received: int
    duplicates: int
    written: int


def receive_round(scheduler: Scheduler, journal_dir: Path, cluster: str, secret: str, results: Path,
                  executor: Executor, max_jobs: int = 0,
                  on_record: Callable[[ResultRecord], None] | None = None) -> Received:
    """Receive once on ``cluster``, then run every kept job that has no record in ``results``.

    ``journal_dir`` holds the cluster's receive journal (a run's state directory,
    or any directory in a MiniCluster's lead broker).

    Raises ``SchedulerError`` from the scheduler and ``OSError`` from the disk;
    whatever was journalled before stays journalled.
    """
    journal = received_journal(journal_dir, cluster)
    try:
        journal.lock(f"another receiver for cluster {cluster} is using {journal_dir}")
        # A job is its (id, name): a rainbow restarted with a fresh database numbers jobs from 1 again.
        kept: dict[tuple[int, str], ReceivedEvent] = {
            (e["job_id"], e["name"]): e for e in journal.events if e["event"] == "received"}
        seen = {(e["job_id"], e["name"]) for e in journal.events if e["event"] == "duplicate"}
        names = {name for _, name in kept} | other_clusters_names(journal_dir, cluster)
        new = duplicates = 0
        jobs = scheduler.receive(cluster, secret, max_jobs)
        for job in jobs:
            key = (job.job_id, job.name)
            if key in kept or key in seen:
                continue  # kept before a crash, not yet accepted
            if job.name in names:  # submitted twice: the first copy runs, here or on another cluster
                journal.append({"event": "duplicate", "job_id": job.job_id, "name": job.name, "cluster": cluster})
                seen.add(key)
                duplicates += 1
                continue
            event: ReceivedEvent = {"event": "received", "job_id": job.job_id, "name": job.name, "cluster": cluster,
                     "jobspec": job.jobspec}
            journal.append(event)
            kept[key] = event
            names.add(job.name)
            new += 1
        if jobs:
            ids = [job.job_id for job in jobs]
            scheduler.accept(cluster, secret, ids)
            journal.append({"event": "accepted", "job_ids": ids, "cluster": cluster})
        written = 0
        started = {(e["job_id"], e["name"]): e for e in journal.events if e["event"] == "started"}
        running = {(e["job_id"], e["name"]): e for e in journal.events if e["event"] == "submitted"}
        for key, received in sorted(kept.items()):
            job_id, name = key
            if record_path(results, name).exists():
                continue
            if key in started and executor.name != "simulated":
                # The receiver stopped while this job ran: find it again, never run it twice.
                record = rerun_record(executor, cluster, job_id, received, started[key], running.get(key))
            else:
                journal.append({"event": "started", "job_id": job_id, "name": name, "start": utc_now()})

                def submitted(ident: str, k: tuple[int, str] = key) -> None:
                    journal.append({"event": "submitted", "job_id": k[0], "name": k[1], "executor_job_id": ident})

                record = run_job(executor, cluster, job_id, name, received["jobspec"], submitted)
            write_record(results, record)
            written += 1
            if on_record:
                on_record(record)
        return Received(new, duplicates, written)
    finally:
        journal.close()


def other_clusters_names(journal_dir: Path, cluster: str) -> set[str]:
    """Names received by the other clusters' receivers that keep their journals in ``journal_dir``."""
    names: set[str] = set()
    for path in journal_dir.glob("received-*.jsonl"):
        if path.name != f"received-{cluster}.jsonl":
            names |= {e["name"] for e in read_receiver_events(path) if e["event"] == "received"}
    return names


def _name(name: str) -> JobName:
    return parse_name(name) or JobName("00000000", "unknown", "unknown", 0)


def _record(cluster: str, job_id: int, name: str, jobspec: str, done: Execution) -> ResultRecord:
    parsed = _name(name)
    return ResultRecord(name=name, run=parsed.run, level=parsed.level, workload=parsed.workload, trial=parsed.trial,
                        cluster=cluster, rainbow_job_id=job_id, jobspec=jobspec, **asdict(done))


def run_job(executor: Executor, cluster: str, job_id: int, name: str, jobspec: str,
            submitted: Callable[[str], None] = lambda _: None) -> ResultRecord:
    """Run one job with ``executor`` and make its record. A name compatlab did not give is run all the same."""
    return _record(cluster, job_id, name, jobspec, executor.execute(cluster, _name(name), jobspec, submitted))


INTERRUPTED = ("the receiver stopped while this job ran and its end is unknown; on Kubernetes 1.28 and later an "
               "out-of-memory kill takes the whole container, receiver and Flux with it (compatlab collect reads "
               "the pod's last termination)")


def rerun_record(executor: Executor, cluster: str, job_id: int, received: ReceivedEvent, started: StartedEvent,
                 submitted: SubmittedEvent | None) -> ResultRecord:
    """The record of a job a stopped receiver had started: its end from the executor, or ``failed-other``."""
    resume = getattr(executor, "resume", None)
    done = resume(submitted["executor_job_id"], started["start"]) if submitted and resume else None
    if done is None:
        ident = submitted["executor_job_id"] if submitted else None
        done = Execution(executor.name, ident, started["start"], utc_now(), None, OTHER, INTERRUPTED, (),
                         "interrupted")
    return _record(cluster, job_id, received["name"], received["jobspec"], done)


def receive_loop(scheduler: Scheduler, journal_dir: Path, cluster: str, secret: str, results: Path,
                 executor: Executor, interval_s: float = 5.0, rounds: int | None = None,
                 on_record: Callable[[ResultRecord], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> Received:
    """Receive every ``interval_s`` seconds until stopped (Ctrl-C) or after ``rounds`` rounds; totals."""
    total = Received(0, 0, 0)
    done = 0
    while rounds is None or done < rounds:
        got = receive_round(scheduler, journal_dir, cluster, secret, results, executor, on_record=on_record)
        total = Received(total.received + got.received, total.duplicates + got.duplicates,
                         total.written + got.written)
        done += 1
        if rounds is None or done < rounds:
            sleep(interval_s)
    return total
