"""A replay's inputs read fast: every cluster directory and jobspec file, split across the machine's cores.

Reading is most of the work of a replay (about 0.3 ms per 30-requirement jobspec and
20 ms per cluster of 220 subsystems, against microseconds of matching), and each file
is read alone, so the files are cut into one contiguous share per core and read in
forked processes, the parent reading the first share itself. Answers and errors are
the ones a plain loop gives: results keep the files' order, and when several files are
bad the first one in that order (clusters before jobspecs) is the one reported.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from compatlab.errors import LabError, unprintable
from compatlab.inputs import load_yaml

from .clusters import Cluster, cluster_dirs, read_cluster
from .rainbow_plan import Plan, SlotNeeds, Test
from .request import Request, Requirement, Slot, read_request

JOBSPEC_SUFFIXES = (".yaml", ".yml", ".json")  # JSON is YAML: one reader for both
SERIAL_BELOW = 64  # files: fewer are read in this process (a fork costs more than it saves)

# What crosses between processes (_Packer): requirements and tests as their fields, then named by index.
K = TypeVar("K")
RequirementKey = tuple[str, str, str | None, str | None, str | None]  # subsystem, field, match, min, max
TestKey = tuple[str, str | None, str | None, str | None]  # field, match, min, max
Counts = tuple[tuple[str, int], ...]
PackedSlot = tuple[str, int, Counts, tuple[int, ...]]  # type, replicas, counts, requirement ids
PackedCandidate = tuple[int, Counts, tuple[tuple[str, str, tuple[int, ...]], ...]]  # replicas, counts, test ids
PackedRequest = tuple[str, tuple[PackedSlot, ...], Counts, tuple[tuple[PackedCandidate, ...], ...]]
Tables = tuple[list[RequirementKey], list[TestKey]]
Failure = tuple[bool, str, str, str]  # a bad file: (is it a cluster's, source, key, problem)


@dataclass(frozen=True)
class Corpus:
    """Clusters (sorted by name) and one ``Request`` per jobspec path, in the paths' order."""

    clusters: tuple[Cluster, ...]
    requests: tuple[Request, ...]


def jobspec_paths(directory: Path) -> list[Path]:
    """Every jobspec file under ``directory`` (``.yaml``, ``.yml``, ``.json``, any depth, hidden ones skipped), sorted.

    Raises ``LabError`` when ``directory`` is not a directory or holds none.
    """
    if not directory.is_dir():
        raise LabError(directory, "", f"{'is not a directory' if directory.exists() else 'does not exist'}; "
                       "allowed: a directory of jobspecs (nextgen YAML files)")
    found: list[Path] = []
    for top, dirs, files in os.walk(directory):  # os.walk, not Path.rglob: ten thousand files in milliseconds
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(top, f) for f in files if f.endswith(JOBSPEC_SUFFIXES) and not f.startswith("."))
    found.sort()
    for path in found:
        bad = unprintable(str(path.relative_to(directory)))
        if bad:  # its name goes into tables, CSV and JSON as the jobspec's name
            raise LabError(path, "", f"the file name holds {bad}; allowed: printable UTF-8 text")
    if not found:
        raise LabError(directory, "", f"holds no jobspecs; allowed: files ending in {', '.join(JOBSPEC_SUFFIXES)}")
    return found


def read_jobspec(path: str | Path) -> Request:
    """One jobspec file as a ``Request``; ``LabError`` naming the file (as given) and the key."""
    return read_request(load_yaml(path), str(path))  # a str path: no pathlib object per file


class _Packer:
    """Requests as plain tuples and small integers, and back: what crosses between processes.

    Pickling the request objects themselves cost more than reading the files (a
    30-requirement request is a hundred objects, rebuilt one by one on loading); as
    tuples, with each distinct requirement and test sent once and named by its index,
    the same requests load some ten times faster.
    """

    def __init__(self) -> None:
        self.requirements: dict[RequirementKey, int] = {}
        self.tests: dict[TestKey, int] = {}

    def _id(self, table: dict[K, int], key: K) -> int:
        found = table.get(key)
        if found is None:
            found = table[key] = len(table)
        return found

    def pack(self, request: Request) -> PackedRequest:
        """One request as tuples (its requirements and tests as indexes into this packer's tables)."""
        slots = tuple((s.type, s.replicas, s.counts,
                       tuple(self._id(self.requirements, (r.subsystem, r.field, r.match, r.min, r.max))
                             for r in s.requires)) for s in request.slots)
        plan = request.rainbow
        candidates = tuple(tuple((c.replicas, c.counts,
                                  tuple((kind, sub, tuple(self._id(self.tests, (t.field, t.match, t.min, t.max))
                                                          for t in tests)) for (kind, sub), tests in c.needs))
                                 for c in labelled) for labelled in plan.slots)
        return request.source, slots, plan.precheck, candidates

    def tables(self) -> Tables:
        """The distinct requirements and tests, in index order."""
        return list(self.requirements), list(self.tests)


def _unpack(tables: Tables, packed: list[PackedRequest]) -> list[Request]:
    requirements = [Requirement(*key) for key in tables[0]]
    tests = [Test(*key) for key in tables[1]]
    return [Request(source, tuple(Slot(kind, replicas, counts, tuple(requirements[i] for i in ids))
                                  for kind, replicas, counts, ids in slots),
                    Plan(precheck, tuple(tuple(SlotNeeds(replicas, counts,
                                                         tuple(((k, sub), tuple(tests[i] for i in ids))
                                                               for k, sub, ids in needs))
                                               for replicas, counts, needs in labelled) for labelled in candidates)))
            for source, slots, precheck, candidates in packed]


def _read_packed(task: tuple[list[Path], list[str]]
                 ) -> tuple[list[Cluster], tuple[Tables, list[PackedRequest]], Failure | None]:
    """``_read_share`` in a child process, its requests packed (``_Packer``)."""
    clusters, requests, error = _read_share(task)
    packer = _Packer()
    packed = [packer.pack(r) for r in requests]
    return clusters, (packer.tables(), packed), error


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: reading makes millions of objects and no cycles, and the collector,
    walking them again and again as they pile up, took about a tenth of the time (measured on 4,000 jobspecs)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What was read lives to the end of the command: set it aside for good (gc.freeze), or the first
        # collection after this would walk all of it once more (0.7 s on the bench corpus).
        gc.freeze()
        if was:
            gc.enable()


def _read_share(task: tuple[list[Path], list[str]]) -> tuple[list[Cluster], list[Request], Failure | None]:
    """Read one share: its clusters, its requests, and (is it a cluster's, source, key, problem) of a bad file."""
    with paused_gc():
        return _read_files(*task)


def _read_files(directories: list[Path], jobspecs: list[str]) -> tuple[list[Cluster], list[Request], Failure | None]:
    clusters: list[Cluster] = []
    requests: list[Request] = []
    try:
        clusters.extend(read_cluster(d) for d in directories)
        requests.extend(read_jobspec(p) for p in jobspecs)
    except LabError as err:  # a LabError pickles badly (three arguments): send its parts
        return clusters, requests, (len(clusters) < len(directories), err.source, err.key, err.problem)
    return clusters, requests, None


def _shares(items: Sequence[K], n: int) -> list[list[K]]:
    # The parent's share (the first) is smaller: it also unpacks what the others send back.
    first = len(items) * 9 // (10 * n) if n > 1 else len(items)
    rest = -(-(len(items) - first) // (n - 1)) if n > 1 else 0
    cuts = [0, first, *(first + rest * k for k in range(1, n))]
    return [list(items[cuts[i]:cuts[i + 1]]) for i in range(n)]


def quiet_worker() -> None:
    """A pool worker's stderr to /dev/null: its errors reach the parent as results or re-raised exceptions, and
    what it would print itself is only the broken pipe of a parent that was killed (a traceback per worker)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def workers() -> int:
    """How many processes read: the cores this process may use (``sched_getaffinity``)."""
    return max(1, len(os.sched_getaffinity(0)))


def read_corpus(clusters: Path, jobspecs: Sequence[str | Path], processes: int | None = None,
                while_waiting: Callable[[], None] | None = None) -> Corpus:
    """Read a registration directory and jobspec files into a ``Corpus``, across ``processes`` (default: the cores).

    ``while_waiting`` is called once if this process finishes its share before the
    others do (the caller's own slow imports fit there for free).

    Raises the ``LabError`` of the first bad file, clusters first, as reading them one
    after the other would (``read_clusters``' errors for the directory itself included).
    """
    directories = cluster_dirs(clusters)
    paths = [str(p) for p in jobspecs]
    n = processes or workers()
    if n == 1 or len(directories) + len(paths) < SERIAL_BELOW:
        results = [_read_share((directories, paths))]
    else:
        tasks = list(zip(_shares(directories, n), _shares(paths, n), strict=True))
        # fork: the children start with everything imported; nothing here holds a thread or a lock.
        with paused_gc(), multiprocessing.get_context("fork").Pool(n - 1, initializer=quiet_worker) as pool:
            pending = pool.map_async(_read_packed, tasks[1:])
            results = [_read_share(tasks[0])]
            if while_waiting is not None and not pending.ready():
                while_waiting()
            results += [(clusters, _unpack(*packed), error) for clusters, packed, error in pending.get()]
    errors = [e for _, _, e in results if e is not None]
    if errors:  # shares are contiguous: the first cluster error, else the first jobspec error, is the first bad file
        _, source, key, problem = min(errors, key=lambda e: not e[0])
        raise LabError(source, key, problem)
    return Corpus(tuple(c for share in results for c in share[0]), tuple(r for share in results for r in share[1]))
