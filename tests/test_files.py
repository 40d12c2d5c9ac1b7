"""``replace_tree`` really replacing an earlier output, and a kill between its steps (a fault in the swap)."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import pytest

from compatlab import files
from compatlab.cli import main
from compatlab.files import MARKER, replace_tree

OLD = {"a.txt": b"old a", "sub/b.txt": b"old b"}
NEW = {"a.txt": b"new a", "c.txt": b"new c"}
WHAT = "compatlab generate --stack dev"


class Killed(BaseException):
    """Stands for a SIGKILL at that instant: raised from inside the swap, caught by nothing in compatlab."""


def tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != MARKER}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    replace_tree(out, OLD, WHAT)
    assert tree(out) == OLD
    return out


@pytest.mark.parametrize("exchange", ["renameat2", "two renames"])
def test_an_earlier_output_is_replaced_whole(out, monkeypatch, exchange):
    used: list[bool] = []
    real = files._exchange

    def spy(a, b):
        used.append(real(a, b) if exchange == "renameat2" else False)
        return used[-1]

    monkeypatch.setattr(files, "_exchange", spy)
    replace_tree(out, NEW, WHAT)
    if exchange == "renameat2" and used != [True]:
        pytest.skip("this filesystem cannot exchange two paths (renameat2 RENAME_EXCHANGE)")
    assert used == [exchange == "renameat2"]
    # Exactly the new files: sub/b.txt (only in the old tree) is gone, nothing is left beside out.
    assert tree(out) == NEW and not (out / "sub").exists()
    assert leftovers(out) == []
    marker = (out / MARKER).read_text()
    assert "c.txt" in marker and "b.txt" not in marker


def test_a_kill_during_the_exchange_leaves_the_old_tree(out, monkeypatch):
    def killed(a, b):
        raise Killed

    monkeypatch.setattr(files, "_exchange", killed)
    with pytest.raises(Killed):
        replace_tree(out, NEW, WHAT)
    assert tree(out) == OLD  # never neither: the old tree stands until the one-step swap
    monkeypatch.undo()
    replace_tree(out, NEW, WHAT)
    assert tree(out) == NEW and leftovers(out) == []


def test_a_kill_right_after_the_exchange_leaves_the_whole_new_tree(out, monkeypatch):
    real = files._exchange

    def swapped_then_killed(a, b):
        assert real(a, b) or pytest.skip("this filesystem cannot exchange two paths")
        raise Killed

    monkeypatch.setattr(files, "_exchange", swapped_then_killed)
    with pytest.raises(Killed):
        replace_tree(out, NEW, WHAT)
    assert tree(out) == NEW
    monkeypatch.undo()
    replace_tree(out, NEW, WHAT)  # the marker is whole too: the next run takes the tree as its own
    assert tree(out) == NEW and leftovers(out) == []


def test_a_kill_between_the_two_renames_of_the_fallback_is_undone_by_the_next_call(out, monkeypatch):
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.startswith(f".{out.name}.new-"):
            raise Killed  # the old tree is already aside, the new one not yet in place
        real_replace(src, dst)

    monkeypatch.setattr(files, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        replace_tree(out, NEW, WHAT)
    monkeypatch.undo()
    assert not out.exists()
    (aside,) = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.old-")]
    assert tree(aside / "tree") == OLD  # set aside whole, not deleted
    files._recover(out)
    assert tree(out) == OLD and leftovers(out) == []
    replace_tree(out, NEW, WHAT)
    assert tree(out) == NEW and leftovers(out) == []


def test_generate_into_an_earlier_output_drops_what_the_new_lab_no_longer_has(tmp_path, stack_variant):
    out = tmp_path / "gen"
    assert main(["generate", "--stack", "dev", "--out", str(out)]) == 0
    assert (out / "jobspecs" / "arch" / "salad.yaml").is_file()
    smaller = stack_variant(lambda config: config.update(workloads=["hwloc"]), "dev")
    assert main(["generate", "--stack", str(smaller), "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "jobspecs" / "arch").iterdir()) == ["hwloc.flux.txt", "hwloc.yaml"]
    assert leftovers(out) == [p for p in leftovers(out) if p.startswith("Pulumi.")]


def test_the_writability_probe_is_made_under_the_lock_so_another_writers_recovery_cannot_remove_it(out, monkeypatch):
    # Found by the concurrent-generate test under load: the probe (named like a staging copy) was made before the
    # lock, and another writer's _recover, holding the lock, removed it: "No such file or directory".
    import fcntl
    import tempfile

    real_mkdtemp, raced = tempfile.mkdtemp, []

    def mkdtemp(*args, **kwargs):
        made = real_mkdtemp(*args, **kwargs)
        other = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)  # another writer's own lock description
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # the caller holds the lock: no other writer can be recovering now
        else:
            raced.append(made)
            files._recover(out)  # what that writer does first, under its lock
        finally:
            os.close(other)
        return made

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    replace_tree(out, NEW, WHAT)
    assert raced == [] and tree(out) == NEW and leftovers(out) == []


def _kernel_exchanges(directory: Path) -> bool:
    """Asked of the kernel directly, not through compatlab: can this filesystem exchange two directories?"""
    libc = ctypes.CDLL(None, use_errno=True)
    x, y = directory / "probe-x", directory / "probe-y"
    x.mkdir()
    y.mkdir()
    try:
        return hasattr(libc, "renameat2") and libc.renameat2(-100, bytes(x), -100, bytes(y), 2) == 0
    finally:
        x.rmdir()
        y.rmdir()


@pytest.mark.skipif(os.uname().sysname != "Linux", reason="renameat2 is Linux's")
def test_the_exchange_swaps_two_directories_in_one_step_or_says_it_cannot(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths: renameat2 resolves them against the working directory
    for name in ("a", "b"):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / f"{name}.txt").write_text(name)
    if not _kernel_exchanges(tmp_path):
        pytest.skip("this filesystem cannot exchange two paths (renameat2 RENAME_EXCHANGE)")
    assert files._exchange(Path("a"), Path("b")) is True
    assert (tmp_path / "a" / "b.txt").exists() and (tmp_path / "b" / "a.txt").exists()
    assert not (tmp_path / "a" / "a.txt").exists() and not (tmp_path / "b" / "b.txt").exists()
    # EINVAL (here: a directory cannot change places with one inside it) reads as "cannot exchange", False,
    # as a filesystem without RENAME_EXCHANGE answers; any other error is raised with its errno and path.
    assert files._exchange(Path("a"), Path("a/sub")) is False
    with pytest.raises(OSError) as err:
        files._exchange(Path("a"), Path("missing"))
    assert (err.value.errno, err.value.strerror, err.value.filename) == (2, "No such file or directory", "missing")


def test_a_kill_between_making_and_removing_the_writability_probe_is_cleaned_by_the_next_call(out, monkeypatch):
    def killed(path):
        raise Killed

    monkeypatch.setattr(os, "rmdir", killed)
    with pytest.raises(Killed):
        replace_tree(out, NEW, WHAT)
    assert tree(out) == OLD and [name.startswith(".out.new-") for name in leftovers(out)] == [True]  # as a
    # staging copy is named, so the next call's recovery knows it
    monkeypatch.undo()
    replace_tree(out, NEW, WHAT)
    assert tree(out) == NEW and leftovers(out) == []


def test_a_disk_error_while_staging_leaves_the_old_tree_and_no_staging_copy(out, monkeypatch):
    real = Path.write_bytes

    def full(self, data):
        if self.name == "c.txt":
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError, match="No space left"):
        replace_tree(out, NEW, WHAT)
    assert tree(out) == OLD and leftovers(out) == []  # removed at once, not left for the next call
