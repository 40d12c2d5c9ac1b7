"""A stand-in for the ``flux`` command, following Flux's documented job states and messages.

Measured on flux-core 0.88 with Fluxion 0.54 (a 4-broker test instance) and
described in flux-jobs(1): a job goes DEPEND, PRIORITY, SCHED, RUN, CLEANUP,
INACTIVE; an inactive job's result is COMPLETED, FAILED, CANCELED or TIMEOUT.
``flux submit`` refuses fewer tasks than nodes before any job exists; more
nodes (or cores) than the instance has is accepted and fails at once with a
``type=alloc`` exception; a command that cannot start is a ``type=exec``
exception with exit 127. The instance has ``FAKE_FLUX_SIZE`` nodes of
``FAKE_FLUX_CORES`` cores; jobs live in ``FAKE_FLUX_DIR``. A task really runs
(once, here), so its output and exit code are real.

Install with ``install(bin_dir)``: it writes a ``flux`` script that runs this file.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

TAKES_VALUE = {"-N", "--nodes", "-n", "--ntasks", "-c", "--cores-per-task", "-g", "--gpus-per-task",
               "--job-name", "--cwd", "-t", "--time-limit", "--cc", "--setattr"}


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
    (_store() / f"{jobid}.json").write_text(json.dumps(job))


def _load(jobid: str) -> dict:
    path = _store() / f"{jobid}.json"
    if not path.exists():
        print(f"flux-job: {jobid}: no such job", file=sys.stderr)
        sys.exit(1)
    return json.loads(path.read_text())


def submit(argv: list[str]) -> int:
    opts: dict[str, str] = {}
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        key, _, value = argv[i].partition("=")
        if key in TAKES_VALUE and not value:
            i += 1
            value = argv[i]
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
    count = len(list(_store().glob("*.json")))
    jobid = f"ƒ{count + 1:04d}"
    size, per_node = int(os.environ.get("FAKE_FLUX_SIZE", "4")), int(os.environ.get("FAKE_FLUX_CORES", "1"))
    job = {"state": "INACTIVE", "result": "FAILED", "returncode": "", "exception": {}, "output": ""}
    if nodes > size or tasks * cores > size * per_node or gpus:
        need = f"need {max(nodes, 1)} node(s)" if nodes > size else f"need {tasks * cores} core(s)"
        job["exception"] = {"type": "alloc",
                            "note": f'alloc denied due to type="unsatisfiable": unsatisfiable request: {need}'}
    else:
        try:
            done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=float(os.environ.get("FAKE_FLUX_TIMEOUT", 30)),
                                  check=False)
            job["output"] = done.stdout.decode(errors="replace")
            code = done.returncode if done.returncode >= 0 else 128 - done.returncode  # a signal: 128 + signo
            job["returncode"] = str(code)
            job["result"] = "COMPLETED" if code == 0 else "FAILED"
        except FileNotFoundError:
            job["returncode"] = "127"
            job["exception"] = {"type": "exec",
                                "note": f"task 0 (host fake-0): start failed: {command[0]}: No such file or directory"}
        except subprocess.TimeoutExpired:
            job["result"] = "TIMEOUT"
            job["exception"] = {"type": "timeout", "note": "resource allocation expired"}
    _save(jobid, job)
    print(jobid)
    return 0


def attach(jobid: str) -> int:
    job = _load(jobid)
    sys.stdout.write(job["output"])
    if job["exception"]:
        print(f"flux-job: job.exception type={job['exception']['type']} severity=0 {job['exception']['note']}",
              file=sys.stderr)
    return int(job["returncode"]) if job["returncode"] else 1


def jobs(argv: list[str]) -> int:
    fmt = argv[argv.index("--format") + 1] if "--format" in argv else "{id} {state}"
    jobid = argv[-1]
    job = _load(jobid)
    exc = job["exception"]
    print(fmt.replace("{id}", jobid).replace("{state}", job["state"]).replace("{result}", job["result"])
          .replace("{returncode}", job["returncode"]).replace("{exception.type}", exc.get("type", ""))
          .replace("{exception.note}", exc.get("note", "")))
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["submit"]:
        return submit(argv[1:])
    if argv[:2] == ["job", "attach"]:
        return attach(argv[2])
    if argv[:2] == ["job", "cancel"]:
        job = _load(argv[2])
        job.update(result="CANCELED")
        _save(argv[2], job)
        return 0
    if argv[:1] == ["jobs"]:
        return jobs(argv[1:])
    print(f"flux: unknown command: {' '.join(argv)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
