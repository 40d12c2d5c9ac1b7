"""A stand-in for the ``flux`` command, measured against flux-core 0.88.0 (sched-simple, a 4-broker test instance).

What it reproduces, with the real messages and codes: ``flux submit`` refuses
fewer tasks than nodes (exit 1, ``flux-submit: ERROR: node count must not be
greater than task count``) and a missing command; an impossible request is
accepted and fails at once with a ``type=alloc`` exception whose note is
sched-simple's (``unsatisfiable request: need 5 node(s) with 1 cores each, only
4 eligible``), returncode 1; a command that cannot start is a ``type=exec``
exception, returncode 127; a task's exit status is the returncode (128 + signo
for a signal); a time limit is TIMEOUT with returncode 142; ``flux cancel`` of a
running job is CANCELED with 143, of a pending one -128. ``flux job attach``
prints the tasks' output, then on stderr ``<secs>s: job.exception <id> type=T
severity=0 <note>`` and ``flux-job: task(s) exited with exit code N`` (or
``Killed``, ``Terminated``, ``Alarm clock``), and exits with the returncode (1
for an alloc failure). ``flux jobs --format`` and ``flux job wait-event ...
clean`` answer as flux-core does. Jobs run in the background (so a job can be
cancelled), each task once with ``FLUX_TASK_RANK`` set. ``--requires=-rank:0``
leaves one node fewer eligible (``only 3 eligible`` on 4), ``rank:0-N`` N+1, and ``flux resource
info`` says ``4 Nodes, 8 Cores, 0 GPUs``, as flux-core 0.88 does.

The instance has ``FAKE_FLUX_SIZE`` nodes of ``FAKE_FLUX_CORES`` cores; jobs live
in ``FAKE_FLUX_DIR``. ``install(bin_dir)`` writes a ``flux`` script that runs this file.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

TAKES_VALUE = {"-N", "--nodes", "-n", "--ntasks", "-c", "--cores-per-task", "-g", "--gpus-per-task",
               "--job-name", "--cwd", "-t", "--time-limit", "--cc", "--setattr", "--env", "--requires"}
SIGNALS = {9: "Killed", 15: "Terminated", 14: "Alarm clock"}


def install(bin_dir: Path) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "flux"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _store() -> Path:
    path = Path(os.environ["FAKE_FLUX_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save(jobid: str, job: dict) -> None:
    tmp = _store() / f".{jobid}.tmp"
    tmp.write_text(json.dumps(job))
    tmp.replace(_store() / f"{jobid}.json")


def _load(jobid: str) -> dict | None:
    path = _store() / f"{jobid}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def submit(argv: list[str]) -> int:
    opts: dict[str, str] = {}
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        key, eq, value = argv[i].partition("=")
        if key in TAKES_VALUE and not eq:
            i += 1
            value = argv[i]
        if key != "--env":
            opts[key] = value
        i += 1
    command = argv[i:]
    nodes = int(opts.get("-N", opts.get("--nodes", "0")) or 0)
    tasks = int(opts.get("-n", opts.get("--ntasks", "0")) or 0) or max(nodes, 1)
    cores = int(opts.get("-c", opts.get("--cores-per-task", "1")) or 1)
    gpus = int(opts.get("-g", opts.get("--gpus-per-task", "0")) or 0)
    if nodes and tasks < nodes:
        print("flux-submit: ERROR: node count must not be greater than task count", file=sys.stderr)
        return 1
    if not command:
        print("flux-submit: ERROR: job command and arguments are missing", file=sys.stderr)
        return 1
    jobid = f"ƒ{len(list(_store().glob('*.json'))) + 1}Fk"
    size, per_node = int(os.environ.get("FAKE_FLUX_SIZE", "4")), int(os.environ.get("FAKE_FLUX_CORES", "1"))
    requires = opts.get("--requires")
    if requires == "-rank:0":
        size -= 1
    elif requires and requires.startswith("rank:0-") and requires[7:].isdigit():
        size = min(size, int(requires[7:]) + 1)
    elif requires:
        print(f"flux-submit: ERROR: this stand-in knows only --requires=-rank:0 and rank:0-N, not {requires}",
              file=sys.stderr)
        return 1
    job: dict = {"state": "RUN", "result": "", "returncode": "", "exception": {}, "output": "", "stderr": [],
                 "command": command, "tasks": tasks, "pid": None, "start": time.time()}
    note = None
    if gpus:
        note = f"unsatisfiable request: need {tasks} slot(s) with {gpus} GPU(s) each, only 0 available (total GPUs: 0)"
    elif nodes > size or (nodes and -(-tasks * cores // nodes) > per_node):
        per = -(-tasks * cores // max(nodes, 1))
        eligible = size if per <= per_node else 0
        note = f"unsatisfiable request: need {max(nodes, 1)} node(s) with {per} cores each, only {eligible} eligible"
    elif cores > per_node:
        note = f"unsatisfiable request: need 1 node(s) with {cores} cores each, only 0 eligible"
    elif tasks * cores > size * per_node:
        note = (f"unsatisfiable request: need {tasks} slot(s) of {cores} core(s), only {size * per_node // cores} "
                f"such slot(s) available (total cores: {size * per_node})")
    if note:
        job.update(state="INACTIVE", result="FAILED", returncode="1", exception={"type": "alloc", "note": note})
        _save(jobid, job)
        print(jobid)
        return 0
    limit = opts.get("-t") or opts.get("--time-limit")
    job["limit"] = _duration(limit) if limit else None
    _save(jobid, job)
    runner = subprocess.Popen([sys.executable, __file__, "_run", jobid], start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    job["pid"] = runner.pid
    _save(jobid, job)
    print(jobid)
    return 0


def run_job(jobid: str) -> int:
    """The job shell: run every task (sequentially here), then record how the job ended."""
    job = _load(jobid)
    signal.signal(signal.SIGTERM, lambda *_: _end(jobid, canceled=True))
    output, code = [], 0
    for rank in range(job["tasks"]):
        env = {**os.environ, "FLUX_TASK_RANK": str(rank), "FLUX_JOB_ID": jobid}
        try:
            left = None if job.get("limit") is None else max(0.0, job["limit"] - (time.time() - job["start"]))
            done = subprocess.run(job["command"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env, timeout=left, check=False)
        except FileNotFoundError:
            fresh = _load(jobid)
            fresh.update(state="INACTIVE", result="FAILED", returncode="127",
                         exception={"type": "exec", "note": f"task {rank} (host fake): start failed: "
                                                           f"{job['command'][0]}: No such file or directory"},
                         stderr=[f"flux-shell[{rank}]: FATAL: task {rank} (host fake): start failed: "
                                 f"{job['command'][0]}: No such file or directory", "flux-job: task(s) exited with "
                                 "exit code 127"])
            _save(jobid, fresh)
            return 0
        except subprocess.TimeoutExpired:
            fresh = _load(jobid)
            fresh.update(state="INACTIVE", result="TIMEOUT", returncode="142",
                         exception={"type": "timeout", "note": "resource allocation expired"},
                         stderr=["flux-job: task(s) Alarm clock"], output="".join(output))
            _save(jobid, fresh)
            return 0
        output.append(done.stdout.decode(errors="replace"))
        status = done.returncode if done.returncode >= 0 else 128 - done.returncode
        code = max(code, status)
    fresh = _load(jobid)
    summary = [] if code == 0 else [f"flux-job: task(s) {SIGNALS[code - 128]}" if code - 128 in SIGNALS
                                    else f"flux-job: task(s) exited with exit code {code}"]
    fresh.update(state="INACTIVE", result="COMPLETED" if code == 0 else "FAILED", returncode=str(code),
                 output="".join(output), stderr=summary)
    _save(jobid, fresh)
    return 0


def _end(jobid: str, canceled: bool) -> None:
    job = _load(jobid)
    job.update(state="INACTIVE", result="CANCELED", returncode="143", exception={"type": "cancel", "note": ""},
               stderr=["flux-job: task(s) Terminated"])
    _save(jobid, job)
    os.killpg(os.getpgid(0), signal.SIGKILL)


def _wait(jobid: str, timeout: float) -> dict | None:
    deadline = time.time() + timeout
    while True:
        job = _load(jobid)
        if job is None or job["state"] == "INACTIVE" or time.time() > deadline:
            return job
        time.sleep(0.05)


def attach(jobid: str) -> int:
    job = _wait(jobid, 3600)
    if job is None:
        print(f"flux-job: Failed to attach to {jobid}: No such job", file=sys.stderr)
        return 1
    sys.stdout.write(job["output"])
    if job["exception"]:
        note = job["exception"]["note"]
        print(f"0.042s: job.exception {jobid} type={job['exception']['type']} severity=0 {note}", file=sys.stderr)
    for line in job["stderr"]:
        print(line, file=sys.stderr)
    return int(job["returncode"]) if job["returncode"] not in ("", "-128") else 1


def jobs(argv: list[str]) -> int:
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else "{id} {state}"
    jobid = argv[-1]
    job = _load(jobid)
    if job is None:
        print(f"JobID {jobid} unknown", file=sys.stderr)
        return 1
    exc = job["exception"]
    print(fmt.replace("{id}", jobid).replace("{state}", job["state"]).replace("{result}", job["result"])
          .replace("{returncode}", job["returncode"]).replace("{exception.type}", exc.get("type", ""))
          .replace("{exception.note}", exc.get("note", "")))
    return 0


def cancel(jobid: str) -> int:
    job = _load(jobid)
    if job is None or job["state"] == "INACTIVE":
        print(f"flux-cancel: ERROR: {jobid}: job is inactive", file=sys.stderr)
        return 1
    os.killpg(job["pid"], signal.SIGTERM)
    _wait(jobid, 10)
    return 0


def wait_event(argv: list[str]) -> int:
    timeout = float(argv[argv.index("-t") + 1]) if "-t" in argv else 3600
    jobid = [a for a in argv if a.startswith("ƒ")][0] if any(a.startswith("ƒ") for a in argv) else argv[-2]
    job = _wait(jobid, timeout)
    if job is None:
        print(f"flux-job: wait-event: {jobid}: No such job", file=sys.stderr)
        return 1
    return 0 if job["state"] == "INACTIVE" else 1


def main(argv: list[str]) -> int:
    if argv[:1] == ["submit"]:
        return submit(argv[1:])
    if argv[:1] == ["_run"]:
        return run_job(argv[1])
    if argv[:2] == ["job", "attach"]:
        return attach(argv[2])
    if argv[:2] == ["job", "wait-event"]:
        return wait_event(argv[2:])
    if argv[:1] == ["cancel"]:
        return cancel(argv[1])
    if argv[:1] == ["jobs"]:
        return jobs(argv[1:])
    if argv[:2] == ["resource", "info"]:
        size, per_node = int(os.environ.get("FAKE_FLUX_SIZE", "4")), int(os.environ.get("FAKE_FLUX_CORES", "1"))
        print(f"{size} Nodes, {size * per_node} Cores, 0 GPUs")
        return 0
    print(f"flux: unknown command: {' '.join(argv)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
