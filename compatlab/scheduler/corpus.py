"""A replay's inputs read fast: every cluster directory and jobspec file, split across the machine's cores.

Reading is most of the work of a replay (about 0.3 ms per 30-requirement jobspec and
7 ms per cluster of 220 subsystems, against tens of microseconds of matching), and each
file is read alone, so the files are cut into one contiguous share per core and read in
forked processes, the parent reading the first share itself: the clusters first (they
come back whole), then the jobspecs, each share handed to a ``work`` function in the
process that read it, so a replay ships back answers, never requests. Answers and
errors are the ones a plain loop gives: results keep the files' order, and when several
files are bad the first one in that order (clusters before jobspecs) is the one reported.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from compatlab.errors import LabError, unprintable
from compatlab.inputs import load_yaml

from .clusters import Cluster, cluster_dirs, read_cluster
from .rainbow_plan import Plan, SlotNeeds, Test
from .request import Request, Requirement, Slot, read_request

JOBSPEC_SUFFIXES = (".yaml", ".yml", ".json")  # JSON is YAML: one reader for both
SERIAL_BELOW = 64  # jobspecs: fewer are read in this process (a fork costs more than it saves)
SERIAL_CLUSTERS_BELOW = 8  # clusters per process at least (a cluster of reliabuild reads in some 7 ms)
T = TypeVar("T")
PR_SET_PDEATHSIG = 1  # linux/prctl.h

# What crosses between processes (_Packer): requirements and tests as their fields, then named by index.
K = TypeVar("K")
RequirementKey = tuple[str, str, str | None, str | None, str | None]  # subsystem, field, match, min, max
TestKey = tuple[str, str | None, str | None, str | None]  # field, match, min, max
Counts = tuple[tuple[str, int], ...]
PackedSlot = tuple[str, int, Counts, tuple[int, ...]]  # type, replicas, counts, requirement ids
PackedCandidate = tuple[int, Counts, tuple[tuple[str, str, tuple[int, ...]], ...]]  # replicas, counts, test ids
PackedRequest = tuple[str, tuple[PackedSlot, ...], Counts, tuple[tuple[PackedCandidate, ...], ...]]
Tables = tuple[list[RequirementKey], list[TestKey]]
Failure = tuple[str, str, str]  # a bad file: (source, key, problem)


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Corpus:
    """Clusters (sorted by name) and one ``Request`` per jobspec path, in the paths' order."""

    clusters: tuple[Cluster, ...]
    requests: tuple[Request, ...]


def jobspec_paths(directory: Path) -> list[Path]:
    """Every jobspec file under ``directory`` (``.yaml``, ``.yml``, ``.json`` in any case, any depth, hidden files
    and directories skipped, as ``.git``), sorted as paths sort.

    Raises ``LabError`` when ``directory`` is not a directory or holds none.
    """
    if not directory.is_dir():
        raise LabError(directory, "", f"{'is not a directory' if directory.exists() else 'does not exist'}; "
                       "allowed: a directory of jobspecs (nextgen YAML files)")
    found: list[str] = []
    top_length = len(os.path.join(directory, ""))
    for top, dirs, files in os.walk(directory):  # os.walk, not Path.rglob: ten thousand files in milliseconds
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        below = os.path.join(top, "")[top_length:]
        found.extend(below + f for f in files if f.lower().endswith(JOBSPEC_SUFFIXES) and not f.startswith("."))
    found.sort(key=lambda rel: rel.split("/"))  # as paths sort: part by part ("a/b" before "a-b")
    for rel in found:
        bad = unprintable(rel)
        if bad:  # its name goes into tables, CSV and JSON as the jobspec's name
            raise LabError(directory / rel, "", f"the file name holds {bad}; allowed: printable UTF-8 text")
    if not found:
        raise LabError(directory, "", f"holds no jobspecs; allowed: files ending in {', '.join(JOBSPEC_SUFFIXES)}")
    return [directory / rel for rel in found]


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


def _shares(items: Sequence[K], n: int, parent: float) -> list[list[K]]:
    # The parent's share (the first) is ``parent`` times the others': it may also have other work to do.
    first = int(len(items) * parent / (parent + n - 1)) if n > 1 else len(items)
    rest = -(-(len(items) - first) // (n - 1)) if n > 1 else 0
    cuts = [0, first, *(first + rest * k for k in range(1, n))]
    return [list(items[cuts[i]:cuts[i + 1]]) for i in range(n)]


def quiet_worker(parent: int | None = None) -> None:
    """A pool worker's stderr to /dev/null (its errors reach the parent as results or re-raised exceptions, and
    what it would print itself is only the broken pipe of a parent that was killed: a traceback per worker), and
    the worker killed with its parent (``prctl(PR_SET_PDEATHSIG)`` on Linux)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    _die_with_parent(parent)


def _die_with_parent(parent: int | None) -> None:
    # A worker of a parent killed by -9 would read on for seconds, holding the caller's pipes open:
    # PR_SET_PDEATHSIG (prctl(2), Linux) has the kernel kill it with its parent. Elsewhere nothing is done.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:  # the parent died before the call: nothing would signal us
        os._exit(1)


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


def workers() -> int:
    """How many processes read: the cores this process may use (``sched_getaffinity``)."""
    return max(1, len(os.sched_getaffinity(0)))


def read_corpus(clusters: Path, jobspecs: Sequence[str | Path], processes: int | None = None,
                while_waiting: Callable[[], None] | None = None) -> Corpus:
    """Read a registration directory and jobspec files into a ``Corpus``, across ``processes`` (default: the cores).

    ``while_waiting`` is called once if this process finishes its share of the jobspecs
    before the others do (the caller's own slow imports fit there for free).

    Raises the ``LabError`` of the first bad file, clusters first, as reading them one
    after the other would (``read_clusters``' errors for the directory itself included).
    """
    found = read_clusters_across(clusters, processes)
    shares = map_jobspecs(jobspecs, _keep, processes=processes, while_waiting=while_waiting,
                          send=_pack, receive=_unpack)
    return Corpus(found, tuple(r for share in shares for r in share))


def _keep(start: int, requests: list[Request]) -> list[Request]:
    return requests


def _pack(requests: list[Request]) -> tuple[Tables, list[PackedRequest]]:
    packer = _Packer()
    packed = [packer.pack(r) for r in requests]
    return packer.tables(), packed


def _unpack(sent: tuple[Tables, list[PackedRequest]]) -> list[Request]:
    (requirement_keys, test_keys), packed = sent
    requirements = [Requirement(*key) for key in requirement_keys]
    tests = [Test(*key) for key in test_keys]
    return [Request(source, tuple(Slot(kind, replicas, counts, tuple(requirements[i] for i in ids))
                                  for kind, replicas, counts, ids in slots),
                    Plan(precheck, tuple(tuple(SlotNeeds(replicas, counts,
                                                         tuple(((k, sub), tuple(tests[i] for i in ids))
                                                               for k, sub, ids in needs))
                                               for replicas, counts, needs in labelled) for labelled in candidates)))
            for source, slots, precheck, candidates in packed]


def _first_error(errors: Sequence[Failure | None]) -> None:
    """Raise the first (source, key, problem) of shares read in order, if any."""
    for error in errors:
        if error is not None:
            raise LabError(*error)


def _read_cluster_share(directories: list[Path]) -> tuple[list[Cluster], Failure | None]:
    clusters: list[Cluster] = []
    with paused_gc():
        try:
            clusters.extend(read_cluster(d) for d in directories)
        except LabError as err:  # a LabError pickles badly (three arguments): send its parts
            return clusters, (err.source, err.key, err.problem)
    return clusters, None


def read_clusters_across(directory: Path, processes: int | None = None) -> tuple[Cluster, ...]:
    """Every cluster of a registration directory (``read_clusters``), read across ``processes`` (default: the cores).

    Equal shares: a child's clusters come back pickled (some 2 MB for 50 reliabuild
    clusters, a tenth of the time it took to read them). Raises the ``LabError`` of the
    first bad cluster in name order, or of the directory itself.
    """
    directories = cluster_dirs(directory)
    n = min(processes or workers(), len(directories) // SERIAL_CLUSTERS_BELOW + 1)
    if n == 1:
        results = [_read_cluster_share(directories)]
    else:
        with multiprocessing.get_context("fork").Pool(n - 1, initializer=quiet_worker, initargs=(os.getpid(),)) as pool:
            shares = _shares(directories, n, parent=1.0)
            pending = pool.map_async(_read_cluster_share, shares[1:])
            results = [_read_cluster_share(shares[0]), *pending.get()]
    _first_error([error for _, error in results])
    return tuple(c for share, _ in results for c in share)


_MAPPING: tuple[Any, ...] = ()  # what a forked jobspec reader inherits (never pickled): (work, send)


def _jobspec_share(task: tuple[int, list[str]]) -> tuple[Any, Failure | None]:
    """Read one share of jobspecs and hand them to the inherited ``work``; (its result sent, or None, and an error)."""
    work, send = _MAPPING
    start, paths = task
    with paused_gc():
        requests: list[Request] = []
        try:
            requests.extend(read_jobspec(p) for p in paths)
        except LabError as err:
            return None, (err.source, err.key, err.problem)
        return send(work(start, requests)), None


def map_jobspecs(jobspecs: Sequence[str | Path], work: Callable[[int, list[Request]], T], *,
                 processes: int | None = None, while_waiting: Callable[[], None] | None = None,
                 send: Callable[[T], Any] = _same, receive: Callable[[Any], T] = _same) -> list[T]:
    """Read the jobspec files in contiguous shares across ``processes`` (default: the cores) and map ``work`` over them.

    ``work(start, requests)`` gets a share's ``Request``s (``start``: the index of its
    first file) in the process that read them, so what needs only the answers (a replay)
    never ships the requests themselves; ``send`` and ``receive`` turn a child's result
    into something cheap to pickle and back. The children are forked: ``work`` may use
    anything this process holds (an index built beforehand). ``while_waiting`` is called
    once if this process finishes its share first. Results come in the files' order.
    Raises the ``LabError`` of the first bad file, as reading them in order would.
    """
    global _MAPPING
    paths = [str(p) for p in jobspecs]
    n = processes or workers()
    if n == 1 or len(paths) < SERIAL_BELOW:
        _MAPPING = (work, _same)
        try:
            result, error = _jobspec_share((0, paths))
        finally:
            _MAPPING = ()
        _first_error([error])
        return [result]
    # The parent does a little less: it imports the plotting (while_waiting) or unpacks what the others send.
    shares = _shares(paths, n, parent=0.85)
    starts = [sum(len(s) for s in shares[:k]) for k in range(n)]
    _MAPPING = (work, send)  # set before the fork: the children inherit it
    try:
        # fork: the children start with everything imported; nothing here holds a thread or a lock.
        with multiprocessing.get_context("fork").Pool(n - 1, initializer=quiet_worker, initargs=(os.getpid(),)) as pool:
            pending = pool.map_async(_jobspec_share, list(zip(starts[1:], shares[1:], strict=True)))
            _MAPPING = (work, _same)  # the parent's own share is not sent anywhere
            results = [_jobspec_share((0, shares[0]))]
            if while_waiting is not None and not pending.ready():
                while_waiting()
            results += [(None if error else receive(sent), error) for sent, error in pending.get()]
    finally:
        _MAPPING = ()
    _first_error([error for _, error in results])
    return [result for result, _ in results]
