"""Write whole files and whole trees: a failure never leaves anything half-written."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import glob
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import yaml

from .errors import LabError

E = TypeVar("E", bound=Mapping[str, Any])  # a journal's event: a JSON object (each journal has its TypedDicts)

MARKER = ".compatlab"
STALE_S = 60.0  # a temp file this old (seconds) was left by a killed writer


def dump_json(doc: object) -> bytes:
    """A document as JSON bytes: 2-space indent, sorted keys, trailing newline (byte-identical reruns)."""
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


class _Dumper(yaml.SafeDumper):
    """The safe dumper, with multi-line strings as literal blocks (``|``) instead of quoted escapes.

    Readable scripts, and no double quotes: real rainbow stores a jobspec's YAML
    inside a double-quoted SQL string (``pkg/database/jobs.go``), which a ``"``
    would end.
    """


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(doc: object) -> bytes:
    """A document as block-style YAML bytes, keys in insertion order, multi-line strings as ``|`` blocks."""
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False).encode()


def umask() -> int:
    """The process umask (e.g. 0o022), read without changing it for good (``os.umask`` only sets)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` whole: a temp file in the same directory, synced, then renamed over the target.

    ``mode`` is the file's permission bits; by default they follow the umask, as
    an ordinary ``open()`` would (0644 under the usual 022). Credentials pass
    0o600. Creates missing parent directories; raises ``OSError`` and leaves no
    temp file behind. After a kill at any instant the path holds the old bytes or
    the new ones, never a mix; the temp file a kill leaves is removed by the next
    write of the same file once it is a minute old.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, (0o666 & ~umask()) if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for left in path.parent.glob(f".{glob.escape(path.name)}.*"):
        with contextlib.suppress(OSError):
            if time.time() - left.stat().st_mtime > STALE_S:
                left.unlink()


def _parse_events(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """Whole JSON-object lines from the start of ``data``, and how many bytes they took; a torn line ends it."""
    events: list[dict[str, Any]] = []
    good = 0
    for line in data.splitlines(keepends=True):
        try:
            event = json.loads(line) if line.endswith(b"\n") else None
        except ValueError:
            event = None
        if not isinstance(event, dict):
            break
        events.append(event)
        good += len(line)
    return events, good


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of a journal file, read without opening it for writing (``[]`` when it does not exist)."""
    try:
        return _parse_events(path.read_bytes())[0]
    except FileNotFoundError:
        return []


class Journal(Generic[E]):
    """An append-only log of JSON events, one per line, that survives a kill at any instant.

    ``E`` is the shape of its events (a ``TypedDict`` or union of them, tagged by
    ``event``): every line was written by ``append``, so what is read back has it.

    Each ``append`` is one ``write`` of a whole line to a file opened with
    ``O_APPEND``, then an ``fsync``: a killed process leaves every appended event
    whole (a write is not interrupted part-way by a signal). A line torn by a crash
    of the machine itself is dropped on the next open, with everything after it.
    One writer at a time: ``lock`` keeps others out for good, ``wait_lock`` and
    ``unlock`` around ``refresh`` and ``append`` let several processes share it.
    ``mode`` applies when the file is created (0o600: events may name clusters and
    jobs). Raises ``OSError``.
    """

    def __init__(self, path: Path, mode: int = 0o600) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        events, good = _parse_events(path.read_bytes() if path.exists() else b"")
        self.events: list[E] = cast(list[E], events)  # lines append wrote: events of this journal's shape
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, mode)
        self._read = good
        if os.fstat(self._fd).st_size != good:
            os.ftruncate(self._fd, good)  # drop a torn tail so the next event starts a line

    def lock(self, busy: str) -> None:
        """Hold an exclusive lock on the journal until it is closed; ``LabError(busy)`` if another process has it."""
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(self.path, "", f"{busy}; allowed: one process at a time") from None

    def wait_lock(self) -> None:
        """Wait for the exclusive lock (a short write by another process), then read what it appended."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.refresh()

    def unlock(self) -> None:
        """Release the lock."""
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def refresh(self) -> list[E]:
        """Read events other processes appended since this journal last read; returns them (also in ``events``)."""
        size = os.fstat(self._fd).st_size
        if size <= self._read:
            return []
        data = os.pread(self._fd, size - self._read, self._read)
        parsed, good = _parse_events(data)
        new = cast(list[E], parsed)  # lines other processes' append wrote
        self.events += new
        self._read += good
        return new

    def append(self, event: E) -> None:
        """Write one event (a JSON object) as a line, and sync it to disk before returning."""
        line = (json.dumps(event, sort_keys=True, separators=(",", ":")) + "\n").encode()
        os.write(self._fd, line)
        os.fsync(self._fd)
        self.events.append(event)
        self._read += len(line)

    def close(self) -> None:
        """Close the file; the journal may be opened again later."""
        os.close(self._fd)


class NotOurs(Exception):
    """The output directory is a file, or holds files compatlab did not write. The CLI exits 2."""


MANIFEST = "# files written (sha256):"  # compatlab before 0.5 wrote "# files written:" and no digests


def _command(what: str) -> str:
    parts = what.split()
    return parts[1] if len(parts) > 1 and parts[0] == "compatlab" else what


def _marker(directory: Path) -> str | None:
    # Only a regular file of our own says a directory is compatlab's (a folder named .compatlab does not).
    path = directory / MARKER
    try:
        if not path.is_file() or path.is_symlink():
            return None
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None


def written_by(directory: Path) -> str | None:
    """The compatlab command whose output ``directory`` holds (``generate``, ``run``...), from its marker file."""
    text = _marker(directory)
    return _command(text) if text else None


def _written(marker: str) -> dict[str, str] | None:
    """The files the marker lists as compatlab's, path -> sha256 hex; None for a marker without digests."""
    lines = marker.splitlines()
    if MANIFEST not in lines:
        return None
    listed = {}
    for line in lines[lines.index(MANIFEST) + 1:]:
        digest, _, rel = line.partition("  ")
        listed[rel] = digest
    return listed


def _digest(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def _foreign(out: Path, listed: dict[str, str]) -> list[str]:
    """Paths under ``out`` that are not exactly what compatlab wrote: files added or changed since (by their
    digest), and directories that hold none of its files (an empty folder of yours)."""
    folders = {parent.as_posix() for rel in listed for parent in Path(rel).parents}
    theirs = []
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if rel == MARKER:
            continue
        if path.is_dir() and not path.is_symlink():
            if rel not in folders:
                theirs.append(rel + "/")
        elif path.is_symlink() or not path.is_file() or listed.get(rel) != _digest(path):
            theirs.append(rel)
    return theirs


def foreign_files(directory: Path) -> list[str]:
    """What under ``directory`` compatlab did not write there, or changed since (relative paths, sorted);
    every file when its marker is missing or keeps no digests. ``[]`` for a missing directory. Raises nothing."""
    if not directory.is_dir():
        return []
    listed = _written(_marker(directory) or "")
    return _foreign(directory, listed or {})


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # this filesystem cannot exchange: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


def _recover(out: Path) -> None:
    """Undo what a kill in an earlier ``replace_tree`` left: put a moved-aside tree back, drop staging copies."""
    for left in sorted(out.parent.glob(f".{glob.escape(out.name)}.old-*")):
        tree = left / "tree"
        if not out.exists() and tree.is_dir():
            os.replace(tree, out)  # killed between the two renames of the fallback: the old tree comes back
        shutil.rmtree(left, ignore_errors=True)
    for left in out.parent.glob(f".{glob.escape(out.name)}.new-*"):
        shutil.rmtree(left, ignore_errors=True)


def replace_tree(out: Path, files: dict[str, bytes], what: str) -> None:
    """Make ``out`` hold exactly ``files`` (relative path -> bytes), swapped in whole.

    The tree is written to a staging directory beside ``out`` and exchanged with
    the old one in a single step (``renameat2``), so after a kill at any instant
    ``out`` holds the old tree or the new one, never neither; where the
    filesystem cannot exchange, two renames are used, and the next call puts
    back a tree a kill left aside. ``what`` (the command line) and the sha256 of
    each file written go into the marker file ``.compatlab``. Calls on the same
    parent directory take turns (``flock`` on it). Raises ``NotOurs`` for a file, a
    symbolic link, a parent that cannot be written, a non-empty directory that
    compatlab did not write (so ``--out .`` cannot wipe a checkout), the output of
    another compatlab command (so a report cannot replace a run and its
    credentials), or a compatlab output holding a file compatlab did not write
    there or that changed since (an ``analysis.ipynb`` of yours, an edited
    table), which it names. Raises ``OSError`` for the disk; leaves nothing behind.
    """
    out = out.absolute()
    parent = _parent(out)
    lock = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # Two compatlab commands writing the same --out take turns, so neither trips on the other's swap.
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Probed under the lock: the probe is named like a staging copy, which another writer's
        # _recover (also under the lock) removes.
        _probe(out)
        _recover(out)
        _check_ours(out, what)
        _swap_in(out, files, what)
    finally:
        os.close(lock)


def _parent(out: Path) -> Path:
    """``out``'s parent, created if missing; ``NotOurs`` in words when it cannot be."""
    if out.is_symlink():
        raise NotOurs(f"{out} is a symbolic link; allowed: the path of a real directory (compatlab swaps the "
                      "directory whole and will not follow a link)")
    ancestor = out.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise NotOurs(f"{out}: {ancestor} is a file, not a directory; allowed: a path under a directory")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NotOurs(f"{out}: cannot write in {out.parent} ({err.strerror}); allowed: a directory you can "
                      "write in") from None
    return out.parent


def _probe(out: Path) -> None:
    """``NotOurs`` in words unless a directory can be made beside ``out`` (permissions alone do not say, as root)."""
    try:
        probe = tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-")
    except OSError as err:
        raise NotOurs(f"{out}: cannot write in {out.parent} ({err.strerror}); allowed: a directory you can "
                      "write in") from None
    os.rmdir(probe)


def _check_ours(out: Path, what: str) -> None:
    """``NotOurs`` unless ``out`` is missing, empty, or exactly what compatlab ``what`` wrote there before."""
    if out.exists() and not out.is_dir():
        raise NotOurs(f"{out} is a file; allowed: a new or empty directory, or one compatlab {_command(what)} wrote")
    held = out.exists() and any(out.iterdir())
    if not held:
        return
    marker = _marker(out)
    if marker is None:
        held_names = sorted(p.name for p in out.iterdir())
        raise NotOurs(f"{out} is not empty (it holds {', '.join(held_names[:3])}{', ...' * (len(held_names) > 3)}) "
                      f"and was not written by compatlab; allowed: a new or empty directory, or one compatlab "
                      f"{_command(what)} wrote")
    if _command(marker) != _command(what):
        # A run holds credentials rainbow never gives again: never replace one with a report or a simulation.
        raise NotOurs(f"{out} holds the output of compatlab {_command(marker)}, not of compatlab {_command(what)}; "
                      "allowed: another directory")
    listed = _written(marker)
    if listed is None:
        raise NotOurs(f"{out} was written by an older compatlab that kept no digests of its files, so yours "
                      "cannot be told from its own; allowed: remove it yourself, or another directory")
    theirs = _foreign(out, listed)
    if theirs:
        shown = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3 else "")
        raise NotOurs(f"{out} holds {shown}, which compatlab did not write or which changed since; allowed: move "
                      "it elsewhere, or another directory")


def _swap_in(out: Path, files: dict[str, bytes], what: str) -> None:
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        os.chmod(staging, 0o777 & ~umask())  # mkdtemp makes it 0700; the output follows the umask
        digests = [f"{hashlib.sha256(data).hexdigest()}  {rel}" for rel, data in sorted(files.items())]
        manifest = "\n".join([what.strip(), MANIFEST, *digests]) + "\n"
        for rel, data in {**files, MARKER: manifest.encode()}.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if not out.exists():
            os.replace(staging, out)
        elif _exchange(staging, out):
            shutil.rmtree(staging)  # now the old tree
        else:
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.replace(out, old / "tree")
            os.replace(staging, out)
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
