"""Writing one file whole, the run journal, and what replace_tree says when it refuses an output directory."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from pathlib import Path

import pytest

from compatlab.errors import LabError
from compatlab.files import (
    MARKER,
    Journal,
    NotOurs,
    dump_json,
    dump_yaml,
    foreign_files,
    read_events,
    replace_tree,
    umask,
    write_file,
    written_by,
)

WHAT = "compatlab generate --stack dev"


def test_json_and_yaml_are_written_the_same_way_every_time():
    assert dump_json({"b": [1], "a": "x"}) == b'{\n  "a": "x",\n  "b": [\n    1\n  ]\n}\n'
    assert dump_yaml({"b": 1, "a": {"run": "one\ntwo\n"}, "c": ["x"]}) == (
        b"b: 1\na:\n  run: |\n    one\n    two\nc:\n- x\n")


def test_the_umask_is_read_and_left_as_it_was():
    before = os.umask(0o027)
    try:
        assert umask() == 0o027 and umask() == 0o027
    finally:
        os.umask(before)


def test_a_file_is_written_whole_with_the_umask_or_the_mode_asked(tmp_path):
    target = tmp_path / "deep" / "er" / "file.txt"
    before = os.umask(0o027)
    try:
        write_file(target, b"first")
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        write_file(target, b"second", mode=0o600)
    finally:
        os.umask(before)
    assert target.read_bytes() == b"second" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]  # no temp file left


def test_a_temp_file_a_killed_writer_left_is_removed_once_a_minute_old(tmp_path):
    target = tmp_path / "file.txt"
    stale, fresh, other = (tmp_path / ".file.txt.dead1", tmp_path / ".file.txt.live2", tmp_path / ".other.txt.x")
    for path in (stale, fresh, other):
        path.write_bytes(b"torn")
    old = time.time() - 61
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    write_file(target, b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".file.txt.live2", ".other.txt.x", "file.txt"]


def test_a_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    def boom(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="No space left"):
        write_file(tmp_path / "f", b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_journal_keeps_every_whole_event_and_drops_a_torn_tail(tmp_path):
    path = tmp_path / "state" / "journal.jsonl"
    journal = Journal(path)
    journal.append({"b": 2, "a": 1})
    journal.append({"c": 3})
    journal.close()
    assert path.read_bytes() == b'{"a":1,"b":2}\n{"c":3}\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with path.open("ab") as handle:
        handle.write(b'{"d":4}\n{"torn": ')
    assert read_events(path) == [{"a": 1, "b": 2}, {"c": 3}, {"d": 4}]
    again = Journal(path)
    assert again.events == [{"a": 1, "b": 2}, {"c": 3}, {"d": 4}]
    again.append({"e": 5})  # starts its own line: the torn tail was cut off
    again.close()
    assert read_events(path) == [{"a": 1, "b": 2}, {"c": 3}, {"d": 4}, {"e": 5}]


@pytest.mark.parametrize("line", [b"[1, 2]\n", b"not json\n", b'{"whole": 1}'])
def test_a_line_that_is_not_a_whole_object_ends_the_journal(tmp_path, line):
    path = tmp_path / "j"
    path.write_bytes(b'{"a":1}\n' + line + b'{"b":2}\n')
    assert read_events(path) == [{"a": 1}]
    assert read_events(tmp_path / "missing") == []


def test_a_second_journal_sees_what_the_first_appended(tmp_path):
    path = tmp_path / "j"
    first, second = Journal(path), Journal(path)
    assert second.refresh() == []
    first.append({"n": 1})
    first.append({"n": 2})
    second.wait_lock()
    assert second.events == [{"n": 1}, {"n": 2}] and second.refresh() == []
    second.append({"n": 3})
    second.unlock()
    assert first.refresh() == [{"n": 3}] and first.events == [{"n": 1}, {"n": 2}, {"n": 3}]
    first.close()
    second.close()


def test_a_held_journal_refuses_a_second_process_in_words(tmp_path):
    path = tmp_path / "j"
    holder, other = Journal(path), Journal(path)
    holder.lock("another run is using this directory")
    with pytest.raises(LabError) as err:
        other.lock("another run is using this directory")
    assert str(err.value) == f"{path}: another run is using this directory; allowed: one process at a time"
    holder.close()
    other.lock("free now")  # a closed journal's lock is gone
    other.close()


def test_the_marker_names_the_command_and_each_files_digest(tmp_path):
    out = tmp_path / "out"
    replace_tree(out, {"b/x.txt": b"x", "a.txt": b"a"}, "  compatlab simulate --seed 1 \n")
    digest = {k: hashlib.sha256(v).hexdigest() for k, v in {"a.txt": b"a", "b/x.txt": b"x"}.items()}
    assert (out / MARKER).read_text() == ("compatlab simulate --seed 1\n# files written (sha256):\n"
                                          f"{digest['a.txt']}  a.txt\n{digest['b/x.txt']}  b/x.txt\n")
    assert written_by(out) == "simulate" and written_by(tmp_path) is None
    assert foreign_files(out) == [] and foreign_files(tmp_path / "nowhere") == []
    (out / "b" / "x.txt").write_bytes(b"edited")
    (out / "mine").mkdir()
    (out / "notes.md").write_text("mine")
    assert foreign_files(out) == ["b/x.txt", "mine/", "notes.md"]


def test_an_output_tree_follows_the_umask(tmp_path):
    before = os.umask(0o027)
    try:
        replace_tree(tmp_path / "out", {"a.txt": b"a"}, WHAT)
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o750


def _refusal(out: Path, what: str = WHAT) -> str:
    with pytest.raises(NotOurs) as err:
        replace_tree(out, {"a.txt": b"a"}, what)
    return str(err.value)


def test_each_refusal_says_what_is_there_and_what_is_allowed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("d", "c", "b", "a"):
        (out / name).write_text(name)
    assert _refusal(out) == (f"{out} is not empty (it holds a, b, c, ...) and was not written by compatlab; allowed: "
                             "a new or empty directory, or one compatlab generate wrote")
    (out / "d").unlink()
    assert _refusal(out).startswith(f"{out} is not empty (it holds a, b, c) and was not written")

    run = tmp_path / "run"
    replace_tree(run, {"a.txt": b"a"}, "compatlab run --stack dev")
    assert _refusal(run) == (f"{run} holds the output of compatlab run, not of compatlab generate; allowed: another "
                             "directory")

    old = tmp_path / "old"
    old.mkdir()
    (old / MARKER).write_text("compatlab generate --stack dev\n# files written:\na.txt\n")
    (old / "a.txt").write_text("a")
    assert _refusal(old) == (f"{old} was written by an older compatlab that kept no digests of its files, so yours "
                             "cannot be told from its own; allowed: remove it yourself, or another directory")

    mine = tmp_path / "mine"
    replace_tree(mine, {"a.txt": b"a"}, WHAT)
    for name in ("w", "x", "y", "z"):
        (mine / name).write_text(name)
    assert _refusal(mine) == (f"{mine} holds w, x, y and 1 more, which compatlab did not write or which changed "
                              "since; allowed: move it elsewhere, or another directory")
    (mine / "z").unlink()
    assert _refusal(mine).startswith(f"{mine} holds w, x, y, which compatlab")

    file = tmp_path / "file"
    file.write_text("x")
    assert _refusal(file) == f"{file} is a file; allowed: a new or empty directory, or one compatlab generate wrote"
    assert _refusal(file / "out") == (f"{file / 'out'}: {file} is a file, not a directory; allowed: a path under a "
                                      "directory")
    link = tmp_path / "link"
    link.symlink_to(out)
    assert _refusal(link) == (f"{link} is a symbolic link; allowed: the path of a real directory (compatlab swaps "
                              "the directory whole and will not follow a link)")


def test_a_marker_that_is_a_folder_or_a_link_is_not_ours(tmp_path):
    out = tmp_path / "out"
    (out / MARKER).mkdir(parents=True)
    assert written_by(out) is None
    real = tmp_path / "real"
    real.write_text(WHAT + "\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / MARKER).symlink_to(real)
    assert written_by(other) is None


def test_a_file_is_written_through_a_temp_file_beside_it_named_after_it(tmp_path, monkeypatch):
    # Beside it: a rename is atomic only within one filesystem. Named after it: the stale-temp sweep finds it.
    target, renamed = tmp_path / "deep" / "file.txt", []
    real_replace = os.replace

    def replace(src, dst):
        renamed.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    write_file(target, b"x")
    [(src, dst)] = renamed
    assert dst == target and src.parent == target.parent and src.name.startswith(".file.txt.")


def test_under_an_empty_umask_a_file_is_read_write_for_all_but_never_executable(tmp_path):
    before = os.umask(0)
    try:
        write_file(tmp_path / "f", b"x")
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o666


def test_the_stale_temp_sweep_keeps_a_file_exactly_a_minute_old_and_passes_a_dangling_link(tmp_path, monkeypatch):
    edge = tmp_path / ".file.txt.edge"
    edge.write_bytes(b"torn")
    (tmp_path / ".file.txt.gone").symlink_to(tmp_path / "nowhere")  # stat fails: skipped, not an error
    then = 1_000_000.0
    os.utime(edge, (then, then))
    monkeypatch.setattr(time, "time", lambda: then + 60.0)
    write_file(tmp_path / "file.txt", b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".file.txt.edge", ".file.txt.gone", "file.txt"]


def test_a_journal_creates_the_directories_it_needs(tmp_path):
    path = tmp_path / "a" / "b" / "journal.jsonl"
    journal = Journal(path)
    journal.append({"n": 1})
    journal.close()
    assert read_events(path) == [{"n": 1}]


def test_a_torn_last_line_is_dropped_even_when_it_parses(tmp_path):
    # A whole object without its newline is a write the machine's crash cut short: the next append would
    # run on into it, so it is not an event.
    path = tmp_path / "j"
    path.write_bytes(b'{"a":1}\n{"b":2}')
    assert read_events(path) == [{"a": 1}]


def test_a_journal_refreshed_again_and_again_reads_each_event_once(tmp_path):
    path = tmp_path / "j"
    first = Journal(path)
    first.append({"n": 1})
    second = Journal(path)  # opened with one event already read
    for n in (2, 3, 4):
        first.append({"n": n})
        assert second.refresh() == [{"n": n}]
    assert second.refresh() == [] and second.events == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    first.close()
    second.close()


def test_a_marker_that_names_no_compatlab_command_is_read_as_it_is(tmp_path):
    for text in ("compatlab\n", "my own notes\n"):
        (tmp_path / MARKER).write_text(text)
        assert written_by(tmp_path) == text


def test_a_written_file_replaced_by_a_link_to_the_same_bytes_is_not_ours(tmp_path):
    out = tmp_path / "out"
    replace_tree(out, {"a.txt": b"a", "two  spaces.txt": b"b"}, WHAT)
    assert foreign_files(out) == []  # a name with two spaces: the manifest splits at the first
    (tmp_path / "copy").write_bytes(b"a")
    (out / "a.txt").unlink()
    (out / "a.txt").symlink_to(tmp_path / "copy")
    assert foreign_files(out) == ["a.txt"]


def test_an_output_under_directories_not_made_yet_is_made_with_them(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    replace_tree(out, {"x.txt": b"x"}, WHAT)
    assert (out / "x.txt").read_bytes() == b"x" and written_by(out) == "generate"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no directory can be made")
@pytest.mark.parametrize(("out", "parent"), [("/proc/compatlab-missing/out", "/proc/compatlab-missing"),
                                             ("/proc/out", "/proc")])
def test_a_parent_no_directory_can_be_made_in_is_refused_in_words(out, parent):
    assert _refusal(Path(out)).startswith(f"{out}: cannot write in {parent} (")
    assert _refusal(Path(out)).endswith("); allowed: a directory you can write in")


def test_the_staging_copy_is_made_beside_the_output_so_the_swap_is_one_rename(tmp_path, monkeypatch):
    out, renamed = tmp_path / "out", []
    real_replace = os.replace

    def replace(src, dst):
        renamed.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    replace_tree(out, {"a.txt": b"a"}, WHAT)
    [(staging, target)] = renamed
    assert target == out and staging.parent == out.parent and staging.name.startswith(".out.new-")


def test_a_copy_a_kill_left_aside_after_the_new_tree_went_in_is_dropped(tmp_path):
    # Killed in the fallback's last step (removing the old tree): the new tree is in place, the old one aside.
    out = tmp_path / "out"
    replace_tree(out, {"a.txt": b"new"}, WHAT)
    aside = tmp_path / ".out.old-abc123" / "tree"
    aside.mkdir(parents=True)
    (aside / "a.txt").write_bytes(b"old")
    replace_tree(out, {"a.txt": b"newer"}, WHAT)
    assert (out / "a.txt").read_bytes() == b"newer" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
