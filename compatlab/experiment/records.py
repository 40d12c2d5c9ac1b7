"""Result records: one JSON file per job that ran, written whole, readable by ``report`` anywhere.

A record is what the seed asks to keep "in completion for each" job: the
jobspec as received, where it ran, the scheduler's and the executor's ids, when
(UTC, ISO 8601), the exit code, the observed outcome with its evidence and the
last lines of output. Job names carry the run, level, workload and trial
(``<run>.<level>.<workload>.<trial>``), so a receiver that knows nothing but its
own cluster can still file its results.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compatlab.errors import LabError
from compatlab.files import write_file

TAIL_LINES = 50
_NAME = re.compile(r"(?P<run>[0-9a-f]{8})\.(?P<level>[a-z]+)\.(?P<workload>[a-z0-9][a-z0-9-]*)\.(?P<trial>[0-9]+)")


@dataclass(frozen=True)
class JobName:
    """A submission's identity: run id (8 hex digits), level, workload and trial (0-based)."""

    run: str
    level: str
    workload: str
    trial: int

    def __str__(self) -> str:
        return f"{self.run}.{self.level}.{self.workload}.{self.trial}"


def parse_name(name: str) -> JobName | None:
    """The ``JobName`` in a submission name, or None for a job compatlab did not submit."""
    m = _NAME.fullmatch(name)
    return JobName(m["run"], m["level"], m["workload"], int(m["trial"])) if m else None


def utc_now() -> str:
    """The current time, UTC, ISO 8601 to the second (``2026-11-29T22:23:00Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ResultRecord:
    """One job's result, as written to ``<results>/<name>.json``.

    ``exit_code`` is None when nothing ran (the ``simulated`` executor, or a job
    that never started); ``outcome`` is ``ok``, a failure mode, or ``failed-other``;
    ``output_tail`` holds at most ``TAIL_LINES`` lines; ``state`` is the
    executor's end state (Flux's ``INACTIVE/FAILED``), when it has one.
    """

    name: str
    run: str
    level: str
    workload: str
    trial: int
    cluster: str
    rainbow_job_id: int
    executor: str
    executor_job_id: str | None
    start: str
    end: str
    exit_code: int | None
    outcome: str
    evidence: str
    output_tail: tuple[str, ...]
    jobspec: str
    state: str | None = None

    def to_json(self) -> bytes:
        """The record as indented JSON bytes."""
        return (json.dumps({**asdict(self), "output_tail": list(self.output_tail)}, indent=2, sort_keys=True)
                + "\n").encode()


def tail(output: str, lines: int = TAIL_LINES) -> tuple[str, ...]:
    """The last ``lines`` lines of ``output``."""
    return tuple(output.splitlines()[-lines:])


def record_path(results: Path, name: str) -> Path:
    """Where the record of job ``name`` lives: ``<results>/<name>.json``."""
    return results / f"{name}.json"


def write_record(results: Path, record: ResultRecord) -> Path:
    """Write the record whole (temp file, then rename); returns its path. Raises ``OSError``."""
    path = record_path(results, record.name)
    write_file(path, record.to_json())
    return path


def read_record(path: Path) -> ResultRecord:
    """Read one record. Raises ``LabError`` naming the file when it does not parse or lacks a field."""
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
        doc["output_tail"] = tuple(doc["output_tail"])
        return ResultRecord(**doc)
    except OSError as err:
        raise LabError(path, "", f"cannot read: {err.strerror}") from None
    except (ValueError, TypeError, KeyError) as err:
        raise LabError(path, "", f"is not a compatlab result record ({type(err).__name__}: {err}); allowed: "
                       "records receive or collect wrote, nothing else in --results") from None


def read_records(results: Path) -> list[ResultRecord]:
    """Every record in ``results`` (``*.json``), sorted by name. Raises ``LabError`` for a bad one."""
    if not results.is_dir():
        raise LabError(results, "", "is not a results directory; allowed: the --results of receive or collect")
    return [read_record(p) for p in sorted(results.glob("*.json"))]
