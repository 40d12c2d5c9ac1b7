"""Hostile but realistic input: one line and exit 2 for every bad one, a right answer for every odd good one,
never a traceback, a hang or a lost file."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from compatlab import inputs
from compatlab.cli import main
from compatlab.errors import LabError
from compatlab.lab.paths import STACKS
from tests.cli import one_line
from tests.graphs import cluster_dir, jobspec

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "compatlab"]


def stack_with(tmp_path: Path, edit=None, text: str | None = None, name: str = "Pulumi.x.yaml") -> Path:
    path = tmp_path / name
    if text is None:
        doc = yaml.safe_load((STACKS / "Pulumi.dev.yaml").read_text())
        if edit:
            edit(doc["config"])
        text = yaml.safe_dump(doc)
    path.write_text(text)
    return path


def dev_text() -> str:
    return (STACKS / "Pulumi.dev.yaml").read_text()


# --- 1. output directories lose nothing ------------------------------------------------------------------------


def test_a_file_the_user_added_to_an_output_is_named_and_kept(tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["generate", "--stack", "dev", "--out", str(out)]) == 0
    (out / "analysis.ipynb").write_text("{}")
    err = one_line(capsys, ["generate", "--stack", "dev", "--out", str(out)])
    assert "holds analysis.ipynb, which compatlab did not write" in err
    assert (out / "analysis.ipynb").read_text() == "{}"


def test_a_folder_named_like_the_marker_does_not_make_a_directory_compatlabs(tmp_path, capsys):
    out = tmp_path / "mine"
    (out / ".compatlab").mkdir(parents=True)
    (out / "thesis.tex").write_text("x")
    assert "not written by compatlab" in one_line(capsys, ["generate", "--stack", "dev", "--out", str(out)])
    assert (out / "thesis.tex").exists()


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert main(["generate", "--stack", "dev", "--out", str(tmp_path / "gen")]) == 0
    finally:
        os.umask(old)
    assert oct((tmp_path / "gen").stat().st_mode & 0o777) == "0o750"
    some = next((tmp_path / "gen").rglob("*.json"))
    assert oct(some.stat().st_mode & 0o777) == "0o640"


@pytest.mark.parametrize("where", ["under-a-file", "long-name"])
def test_an_impossible_output_path_is_one_line_and_leaves_nothing(tmp_path, capsys, where):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "gen" if where == "under-a-file" else tmp_path / ("n" * 300)
    one_line(capsys, ["generate", "--stack", "dev", "--out", str(out)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_kill_9_at_any_instant_of_a_replacement_leaves_the_old_tree_or_the_new(tmp_path):
    out = tmp_path / "sim"
    base = [*CLI, "simulate", "--stack", "dev", "--out", str(out), "--repeats", "1"]
    assert subprocess.run([*base, "--seed", "0"], capture_output=True).returncode == 0
    rng = random.Random(5)
    for attempt in range(12):
        proc = subprocess.Popen([*base, "--seed", str(attempt + 1)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.4, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert out.is_dir() and (out / ".compatlab").is_file()  # never missing, always whole
        summary = json.loads((out / "summary.json").read_text())
        marker = (out / ".compatlab").read_text().splitlines()[0]
        assert marker.endswith(f"--seed {summary['seed']} --repeats 1")  # the marker belongs to the tree
    assert subprocess.run([*base, "--seed", "99"], capture_output=True).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim"]  # every leftover cleaned


# --- 2. bounded work on any input ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [400, 100_000])
def test_deeply_nested_yaml_is_refused_in_one_line(tmp_path, capsys, depth):
    path = stack_with(tmp_path, text="config:\n  compatlab:pools: " + "[" * depth + "]" * depth + "\n")
    assert "nests" in one_line(capsys, ["cost", "--stack", str(path)])


def test_deeply_nested_json_is_refused_in_one_line(tmp_path, capsys):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    (root / "c1" / "nodes.json").write_text('{"graph": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec()))
    assert "nests" in one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])


def test_a_yaml_alias_bomb_is_refused_in_one_line(tmp_path, capsys):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    path = stack_with(tmp_path, text="config:\n  compatlab:bomb:\n" + "".join(f"    {line}\n" for line in
                                                                            bomb.splitlines()))
    assert "expands to over" in one_line(capsys, ["cost", "--stack", str(path)])


@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
def test_a_fifo_or_device_in_a_cluster_directory_is_refused_not_read(tmp_path, capsys, target):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    if target == "fifo":
        os.mkfifo(tmp_path / "pipe")
        target = str(tmp_path / "pipe")
    (root / "c1" / "os-subsystem.json").symlink_to(target)
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec()))
    assert "not a regular file" in one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])


def test_a_50_mb_stack_file_is_refused_by_its_size(tmp_path, capsys):
    path = stack_with(tmp_path, text=dev_text() + "#" + "x" * (50 << 20) + "\n")
    assert "allowed: at most 1,048,576" in one_line(capsys, ["cost", "--stack", str(path)])


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["compatlab:pools"][1].update(nodeCount=100000), "is too large; allowed: <= 1000"),
    (lambda c: c["compatlab:miniclusters"][0].update(size=10**400), "allowed: <= 1000"),
    (lambda c: c["compatlab:miniclusters"][0].update(size=2.0), "2.0 is not a whole number"),
    (lambda c: c["compatlab:miniclusters"][0].update(coresPerNode=1.0), "1.0 is not a whole number"),
    (lambda c: c["compatlab:miniclusters"][0].update(memoryGb=2**63), "is too large"),
    (lambda c: c["compatlab:budget"].update(maxHourlyUsd=1e308), "is too large"),
    (lambda c: c.update({"compatlab:workloads": []}), "has 0 entries; allowed: at least 1"),
    (lambda c: c.update({"compatlab:expiry": "2026-99-99"}), "'2026-99-99' is not a date"),
    (lambda c: c["compatlab:miniclusters"][0].update(name="rocky9-amd64\n"), "holds a control character"),
    (lambda c: c.update({"compatlib:pools": []}), "did you mean compatlab:pools?"),
    (lambda c: c["compatlab:pools"][0].update(name="Pool_1"), "allowed: 1 to 40 lowercase letters"),
])
def test_a_bad_value_names_the_file_the_key_and_what_is_allowed(tmp_path, capsys, edit, message):
    err = one_line(capsys, ["generate", "--stack", str(stack_with(tmp_path, edit)), "--out", str(tmp_path / "o")])
    assert message in err and "Pulumi.x.yaml" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("config:\n  compatlab:budget: {maxHourlyUsd: .nan}\n", "maxHourlyUsd: .nan is not a finite number"),
    ("config:\n  compatlab:expiry: 2026-12-31\n", "YAML read it as a date: quote it"),
    ("config:\n  compatlab:pools: []\n  compatlab:pools: []\n", "is given twice"),
    ("config:\n  1: x\n", "is not a config key this lab knows"),
    ("", "is empty"),
])
def test_yaml_oddities_are_named(tmp_path, capsys, text, message):
    if "expiry" in text:
        text = dev_text().replace('compatlab:expiry: "2026-12-31"', "compatlab:expiry: 2026-12-31")
    assert message in one_line(capsys, ["cost", "--stack", str(stack_with(tmp_path, text=text))])


def test_an_unquoted_go_version_says_to_quote_it(tmp_path, capsys):
    path = stack_with(tmp_path, text=dev_text().replace("size: 2}", "size: 2, goVersion: 1.20}", 1))
    assert "YAML read it as a number: quote it" in one_line(capsys, ["cost", "--stack", str(path)])


def test_a_huge_value_is_cut_short_in_the_message(tmp_path, capsys):
    path = stack_with(tmp_path, lambda c: c.update({"compatlab:expiry": "x" * 100_000}))
    assert len(one_line(capsys, ["cost", "--stack", str(path)])) < 600


def test_a_duplicate_key_in_a_jobspec_is_named(tmp_path, capsys):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    (tmp_path / "j.yaml").write_text("version: 1\nversion: 1\nresources: {app: {type: node, replicas: 1}}\n")
    assert "is given twice" in one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])


def test_min_above_max_is_refused(tmp_path, capsys):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    doc = jobspec(requires=[{"name": "go", "field": "version", "min": "1.22", "max": "1.20"}])
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(doc))
    err = one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])
    assert "min '1.22' is above max '1.20'" in err


# --- 4. printed values are data, not markup --------------------------------------------------------------------


def test_names_that_look_like_markup_print_as_written(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # short paths: the table keeps each cell on one line
    cluster_dir(Path("c"), "[bold]c1", [{"cores": 1}], {"archspec": {"0": {"cpu.target": "[/]arm64"}}})
    doc = jobspec(requires=[{"name": "archspec", "field": "cpu.target", "match": "amd64"}])
    Path("[red]j.yaml").write_text(yaml.safe_dump(doc))
    assert main(["match", "--clusters", "c", "[red]j.yaml"]) == 0
    out = capsys.readouterr().out
    assert "[bold]c1" in out and "[/]arm64" in out and "[red]j.yaml" in out


# --- 5. usage errors are one line too --------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["simulate", "--stack", "dev", "--repeats", "0"],
    ["simulate", "--stack", "dev", "--repeats", "abc"],
    ["simulate", "--stack", "dev", "--repeats", "100000"],
    ["simulate", "--stack", "dev", "--seed", "1.5"],
    ["simulate"],
    ["nonsense"],
])
def test_a_usage_error_is_one_line(capsys, argv):
    one_line(capsys, argv)


def test_a_directory_given_as_a_stack_file_is_one_line(tmp_path, capsys):
    (tmp_path / "Pulumi.d.yaml").mkdir()
    assert "is a directory" in one_line(capsys, ["cost", "--stack", str(tmp_path / "Pulumi.d.yaml")])


# --- 6. cost and names true to GCP -----------------------------------------------------------------------------


def test_a_zone_outside_the_price_tables_region_is_refused(tmp_path, capsys):
    path = stack_with(tmp_path, lambda c: c.update({"gcp:zone": "europe-west4-a"}))
    assert "prices us-central1 only" in one_line(capsys, ["cost", "--stack", str(path)])


def test_an_arm_pool_in_a_zone_without_t2a_is_refused_naming_the_zones_that_have_it(tmp_path, capsys):
    path = stack_with(tmp_path, lambda c: c.update({"gcp:zone": "us-central1-c"}))
    err = one_line(capsys, ["cost", "--stack", str(path)])
    assert "gcp:zone" in err and "us-central1-a" in err and "t2a-standard-2" in err


def test_a_price_table_without_a_disk_type_is_a_clear_error(tmp_path, capsys, monkeypatch):
    from compatlab.lab import catalogue

    table = dict(catalogue.prices())
    table["disksUsdPerGbMonth"] = {"pd-ssd": 0.17}
    monkeypatch.setattr("compatlab.cost.prices", lambda: table)
    assert "has no price for pd-standard" in one_line(capsys, ["cost", "--stack", "dev"])


def test_a_stack_name_gcp_would_refuse_becomes_a_valid_resource_name(tmp_path):
    from compatlab.kube.rainbow import backend_config
    from compatlab.lab.stack import load_lab

    lab = load_lab(stack_with(tmp_path, name="Pulumi.Lab_A.yaml"))
    name = backend_config(lab)["spec"]["securityPolicy"]["name"]
    assert name == "compatlab-rainbow-lab-a"


def test_cost_checks_the_budget(tmp_path, capsys):
    path = stack_with(tmp_path, lambda c: c["compatlab:budget"].update(maxHourlyUsd=0.01))
    assert "over the budget" in one_line(capsys, ["cost", "--stack", str(path)])


# --- 8. messages that help -------------------------------------------------------------------------------------


def test_a_directory_named_like_a_stack_does_not_shadow_it(tmp_path, capsys, monkeypatch):
    (tmp_path / "dev").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["cost", "--stack", "dev", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stack"] == "dev"


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    proc = subprocess.Popen([*CLI, "run", "--stack", "full", "--embedded", "--out", str(tmp_path / "r")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "compatlab: interrupted\n"


def test_python_dash_m_compatlab_works():
    done = subprocess.run([*CLI, "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("compatlab ")


# --- 9. names and graphs as rainbow reads them -----------------------------------------------------------------


def test_a_resource_named_with_a_hyphen_is_accepted(tmp_path, capsys):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(
        {"version": 1, "resources": {"salad-app": {"type": "node", "replicas": 1}},
         "tasks": [{"command": ["x"], "resources": "salad-app"}]}))
    assert main(["match", "--clusters", str(root), str(tmp_path / "j.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["matches"] == ["c1"]


def test_a_long_resource_name_does_not_reach_the_backtracking_pattern(tmp_path, capsys):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    name = "0" * 10_000 + "!"
    (tmp_path / "j.yaml").write_text(yaml.safe_dump({"version": 1, "resources": {name: {"type": "node"}}}))
    assert "is not a name" in one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])


def test_edges_without_a_relation_are_not_containment(tmp_path, capsys):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    doc = json.loads((root / "c1" / "nodes.json").read_text())
    for edge in doc["graph"]["edges"]:
        edge.pop("relation")
    (root / "c1" / "nodes.json").write_text(json.dumps(doc))
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec()))
    assert 'no "contains" edge' in one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])


def test_a_containment_cycle_is_refused(tmp_path, capsys):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    doc = json.loads((root / "c1" / "nodes.json").read_text())
    doc["graph"]["edges"].append({"source": "2", "target": "0", "relation": "contains"})
    (root / "c1" / "nodes.json").write_text(json.dumps(doc))
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec()))
    assert "contains a cycle" in one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])


# --- review of issue 12: the kinds a second hostile corpus found ----------------------------------------------


@pytest.mark.parametrize("flag", ["--secret-file", "--tls-ca", "--kubeconfig"])
@pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
def test_credential_files_are_read_only_when_regular(tmp_path, capsys, flag, target):
    # A FIFO would block the read for ever and /dev/zero never end: both are refused before any read.
    if target == "fifo":
        os.mkfifo(tmp_path / "pipe")
        target = str(tmp_path / "pipe")
    argv = ["register", "--stack", "dev", "--state", str(tmp_path / "st"), flag, target]
    argv += ["--embedded"] if flag == "--kubeconfig" else ["--rainbow", "127.0.0.1:9"]
    if flag == "--tls-ca":
        (tmp_path / "s").write_text("secret\n")
        argv += ["--secret-file", str(tmp_path / "s")]
    err = one_line(capsys, argv)
    assert "not a regular file" in err and target in err


def test_a_fifo_in_kubeconfig_env_is_refused(tmp_path, capsys, monkeypatch):
    os.mkfifo(tmp_path / "pipe")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{tmp_path / 'pipe'}")
    err = one_line(capsys, ["collect", "--stack", "dev", "--results", str(tmp_path / "r")])
    assert "pipe: is not a regular file" in err


def test_a_cluster_secret_file_that_is_a_device_is_refused(tmp_path, capsys):
    assert main(["register", "--stack", "dev", "--embedded", "--state", str(tmp_path / "st")]) == 0
    capsys.readouterr()
    err = one_line(capsys, ["receive", "--cluster", "rocky9-amd64", "--embedded", "--state", str(tmp_path / "st"),
                            "--cluster-secret-file", "/dev/zero", "--results", str(tmp_path / "r")])
    assert "/dev/zero: is not a regular file" in err


def test_an_unanswered_register_is_one_line_in_a_log(tmp_path):
    done = subprocess.run([*CLI, "register", "--stack", "dev", "--rainbow", "127.0.0.1:9", "--state",
                           str(tmp_path / "st")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COMPATLAB_RAINBOW_SECRET": "x"})
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("compatlab: error: rainbow at 127.0.0.1:9 did not answer")


def test_a_closed_pipe_ends_quietly_with_141():
    done = subprocess.run(f"{' '.join(CLI)} cost --stack full --json | true", shell=True, capture_output=True,
                          text=True, executable="/bin/bash")
    assert done.stderr == ""
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {' '.join(CLI)} simulate --help | head -c1 >/dev/null; "
                           "echo ${PIPESTATUS[0]}"], capture_output=True, text=True)
    assert done.stdout.strip() in ("0", "141") and "Traceback" not in done.stderr


def test_resume_and_force_exclude_each_other(tmp_path, capsys):
    err = one_line(capsys, ["run", "--stack", "dev", "--embedded", "--out", str(tmp_path / "r"), "--resume",
                            "--force"])
    assert "not allowed with argument" in err


def test_force_never_removes_a_file_the_user_put_in_a_run(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--stack", "dev", "--embedded", "--repeats", "1", "--out", str(out), "--json"]) == 0
    (out / "analysis.ipynb").write_text("{}")
    capsys.readouterr()
    assert "analysis.ipynb" in one_line(capsys, ["run", "--stack", "dev", "--embedded", "--out", str(out), "--force"])
    assert (out / "analysis.ipynb").read_text() == "{}"


@pytest.mark.parametrize("how", ["signal", "raised"])
def test_ctrl_c_while_the_cli_is_imported_is_one_line_and_exit_130(capsys, monkeypatch, how):
    # A Ctrl-C during the CLI's imports (about 0.4 s of a start) is held until they finish, then ends the
    # command in one line: the real signal, and a KeyboardInterrupt an import let out. Injected at the
    # import itself, so the test does not race the clock.
    import builtins

    import compatlab.__main__ as entry_point

    real_import = builtins.__import__
    ran = []

    def interrupted(name, *args, **kwargs):
        if name == "compatlab.cli":
            if how == "raised":
                raise KeyboardInterrupt
            os.kill(os.getpid(), signal.SIGINT)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    monkeypatch.setattr("compatlab.cli.main", lambda: ran.append(True) or 0)
    assert entry_point.entry() == 130
    assert capsys.readouterr().err == "compatlab: interrupted\n" and not ran
    assert signal.getsignal(signal.SIGINT) is not None  # the handler before entry() is back


@pytest.mark.parametrize("argv", [["cost", "--stack", "full"], ["cost", "--stack", "full", "--json"]])
def test_a_closed_pipe_after_a_table_or_json_ends_with_141(argv):
    done = subprocess.run(["bash", "-c", f"{' '.join(CLI + argv)} | true; echo ${{PIPESTATUS[0]}}"],
                          capture_output=True, text=True)
    assert done.stdout.strip() == "141" and done.stderr == "", done


@pytest.mark.parametrize(("text", "value"), [
    ("spot: yes", "yes"), ("spot: on", "on"), ("disk: 1:30", "1:30"), ("disk: 0o17", 15), ("disk: 0x1e", 30),
    ("spot: true", True), ("disk: 0", 0), ("disk: -0", 0), ("disk: +5", 5), ("disk: 1e3", 1000.0),
])
def test_yaml_is_read_as_pulumi_reads_it_yaml_1_2(text, value):
    from compatlab.inputs import parse_yaml

    assert list(parse_yaml(text.encode(), "x.yaml").values()) == [value]


@pytest.mark.parametrize("text", ["disk: 0100", "disk: 00", "disk: 3_0", "disk: 1_000.5", "disk: 0b11"])
def test_numbers_go_yaml_v3_reads_unlike_yaml_1_2_are_refused_not_guessed(text):
    # go-yaml v3 resolve.go: ParseInt(base 0) after dropping "_", so 0100 is 64 to Pulumi and 100 to YAML 1.2.
    from compatlab.errors import LabError
    from compatlab.inputs import parse_yaml

    with pytest.raises(LabError, match=r"x.yaml: line 1: .* is a number to Pulumi's YAML reader .*; allowed: a plain "
                       r"number"):
        parse_yaml(text.encode(), "x.yaml")


@pytest.mark.parametrize(("text", "allowed"), [
    ("a: !!int ''", "a whole number"), ("a: !!bool maybe", "true or false"), ("a: !!bool ''", "true or false"),
    ("a: !!timestamp x", "a real date"), ("a: 2026-13-45", "a real date"), ("a: !!float '1:30'", "a number"),
    ("a: !!int abc", "a whole number"), ("a: !!int " + "9" * 5000, "numbers of at most 4300 digits"),
])
def test_a_value_its_tag_cannot_read_is_one_line_naming_the_line(text, allowed):
    from compatlab.errors import LabError
    from compatlab.inputs import parse_yaml

    with pytest.raises(LabError, match=rf"x.yaml: line 2: .* cannot be read as \w+; allowed: {allowed}"):
        parse_yaml(f"b: 1\n{text}\n".encode(), "x.yaml")


def test_yaml_1_1_spellings_are_refused_where_a_number_or_bool_is_asked(tmp_path, capsys):
    path = stack_with(tmp_path, text=dev_text().replace("spot: true", "spot: yes", 1))
    assert "spot: true" in dev_text()
    assert "'yes' is not true or false" in one_line(capsys, ["cost", "--stack", str(path)])


def test_a_merge_key_is_read_as_pulumi_reads_it_and_the_keys_beside_it_win():
    from compatlab.inputs import parse_yaml

    doc = parse_yaml(b"a: &x {b: 1, c: 2}\nd:\n  <<: *x\n  c: 3\n", "x.yaml")
    assert doc["d"] == {"b": 1, "c": 3}


def test_a_stack_file_with_a_merge_key_gives_the_same_lab(tmp_path, capsys):
    assert main(["cost", "--stack", "dev", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    text = dev_text().replace("    - name: amd\n", "    - &amd\n      name: amd\n", 1)
    text = text.replace("    - name: arm\n      arch: arm64\n      machineType: t2a-standard-2\n      nodeCount: 2\n"
                        "      diskSizeGb: 30\n      spot: true\n",
                        "    - <<: *amd\n      name: arm\n      arch: arm64\n      machineType: t2a-standard-2\n", 1)
    assert "<<: *amd" in text
    assert main(["cost", "--stack", str(stack_with(tmp_path, text=text)), "--json"]) == 0
    merged = json.loads(capsys.readouterr().out)
    assert {**merged, "stack": "dev", "source": None} == {**plain, "source": None} and merged["stack"] == "x"


@pytest.mark.parametrize("char", ["\x00", "\x1b"])
def test_a_control_character_in_yaml_names_its_line(char):
    from compatlab.errors import LabError
    from compatlab.inputs import parse_yaml

    with pytest.raises(LabError, match=r"x.yaml: line 3: holds the control character U\+00"):
        parse_yaml(f"a: 1\nb: 2\nc: x{char}\n".encode(), "x.yaml")


@pytest.mark.parametrize("zone", ["7", "[us-central1-a]", "null"])
def test_a_zone_that_is_not_text_is_refused(tmp_path, capsys, zone):
    path = stack_with(tmp_path, text=dev_text() + f"  gcp:zone: {zone}\n")
    assert "gcp:zone:" in one_line(capsys, ["cost", "--stack", str(path)])


@pytest.mark.parametrize(("value", "shown"), [
    (None, "null is not a whole number; allowed: a whole number"), (True, "true is not a whole number"),
    ({"a": 1}, "{a: 1} is not a whole number"),
])
def test_values_are_shown_as_the_user_wrote_them(tmp_path, capsys, value, shown):
    path = stack_with(tmp_path, lambda c: c["compatlab:miniclusters"][0].update(size=value))
    assert shown in one_line(capsys, ["cost", "--stack", str(path)])


def test_a_json_graph_gets_no_yaml_hint_and_a_bom_is_named(tmp_path, capsys):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    nodes = root / "c1" / "nodes.json"
    doc = json.loads(nodes.read_text())
    doc["graph"]["nodes"]["2"]["metadata"]["type"] = 7
    nodes.write_text(json.dumps(doc))
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec()))
    err = one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])
    assert "7 is not text; allowed: text" in err and "YAML" not in err
    nodes.write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    assert "byte-order mark" in one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])


def test_a_repeated_contains_edge_is_refused_not_counted_twice(tmp_path, capsys):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    nodes = root / "c1" / "nodes.json"
    doc = json.loads(nodes.read_text())
    doc["graph"]["edges"].append(dict(doc["graph"]["edges"][-1]))
    nodes.write_text(json.dumps(doc))
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec()))
    assert "allowed: each contains edge once" in one_line(capsys, ["match", "--clusters", str(root),
                                                                   str(tmp_path / "j.yaml")])


@pytest.mark.parametrize(("name", "what"), [("evil\x1b[31m", "the control character U+001B"),
                                            ("two\nlines", "the control character U+000A"),
                                            ("rtl\u202egnp", "the format character U+202E"),
                                            (os.fsdecode(b"a\xffb"), "a byte that is not UTF-8")])
def test_a_cluster_name_that_cannot_be_shown_as_it_is_is_refused(tmp_path, capsys, name, what):
    root = tmp_path / "clusters"
    cluster_dir(root, name, [{"cores": 1}], {})
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec()))
    err = one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])
    assert f"holds {what}" in err and "\x1b" not in err


@pytest.mark.parametrize("kind", ["dir", "loop"])
def test_a_nodes_json_that_is_not_a_file_is_named_for_what_it_is(tmp_path, capsys, kind):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    nodes = root / "c1" / "nodes.json"
    nodes.unlink()
    if kind == "dir":
        nodes.mkdir()
    else:
        nodes.symlink_to(nodes)
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec()))
    err = one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])
    assert "is missing" not in err and ("is a directory" in err or "symbolic links" in err)


def test_an_edited_or_forged_output_file_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["generate", "--stack", "dev", "--out", str(out)]) == 0
    capsys.readouterr()
    edited = next(out.rglob("*.md"))
    edited.write_text(edited.read_text() + "my notes\n")
    assert edited.name in one_line(capsys, ["generate", "--stack", "dev", "--out", str(out)])
    assert edited.read_text().endswith("my notes\n")
    # A marker written by hand listing the user's file does not make it compatlab's: its digest differs.
    (tmp_path / "forged").mkdir()
    (tmp_path / "forged" / "thesis.tex").write_text("precious")
    (tmp_path / "forged" / ".compatlab").write_text(f"compatlab generate\n# files written (sha256):\n{'0' * 64}  "
                                                    "thesis.tex\n")
    assert "thesis.tex" in one_line(capsys, ["generate", "--stack", "dev", "--out", str(tmp_path / "forged")])
    assert (tmp_path / "forged" / "thesis.tex").read_text() == "precious"


def test_an_output_of_an_older_compatlab_is_not_replaced_blindly(tmp_path, capsys):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "thesis.tex").write_text("precious")
    (tmp_path / "old" / ".compatlab").write_text("compatlab generate\n# files written:\nthesis.tex\n")
    assert "older compatlab" in one_line(capsys, ["generate", "--stack", "dev", "--out", str(tmp_path / "old")])
    assert (tmp_path / "old" / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("kind", ["dangling", "to-a-dir", "under-proc"])
def test_odd_output_paths_are_named_in_words(tmp_path, capsys, kind):
    if kind == "under-proc":
        out = Path("/proc/compatlab-out")
    else:
        out = tmp_path / "link"
        (tmp_path / "d").mkdir()
        out.symlink_to(tmp_path / ("missing" if kind == "dangling" else "d"))
    err = one_line(capsys, ["generate", "--stack", "dev", "--out", str(out)])
    assert "allowed:" in err and ".new-" not in err


def test_concurrent_generates_into_one_directory_take_turns(tmp_path):
    out = tmp_path / "gen"
    procs = [subprocess.Popen([*CLI, "generate", "--stack", "full", "--out", str(out)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in results), results
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen"]


def test_a_software_name_outside_package_names_is_refused_in_words(tmp_path, capsys):
    from compatlab.errors import LabError
    from compatlab.lab.workloads import load_workload

    path = tmp_path / "x.yaml"
    path.write_text("workload: x\ncommand: [a]\nnodes: 1\nneeds: {software: {hwlöc: '2'}}\n")
    with pytest.raises(LabError, match=r"x.yaml: needs.software: 'hwlöc' is not allowed; allowed: a package name"):
        load_workload(path)


@pytest.mark.parametrize("stack", ["dev/", "../dev"])
def test_a_stack_path_that_is_not_a_file_lists_the_stacks(capsys, stack):
    assert "allowed: a stack name (dev, full)" in one_line(capsys, ["cost", "--stack", stack])


def test_report_on_a_missing_results_directory_blames_it_not_the_state(tmp_path, capsys):
    err = one_line(capsys, ["report", "--results", str(tmp_path / "typo"), "--out", str(tmp_path / "rep")])
    assert "typo: does not exist; allowed: --results" in err


def test_a_key_longer_than_yaml_allows_says_so():
    from compatlab.errors import LabError
    from compatlab.inputs import parse_yaml

    with pytest.raises(LabError, match=r"keys of at most 1024 characters"):
        parse_yaml(("{" + "a" * 2000 + ": 1}").encode(), "j.yaml")


@pytest.mark.parametrize(("item", "message"), [
    ({"name": "go", "min": "1.20"}, "requires[0].field: is missing; allowed: the metadata field to test"),
    ({"name": "go", "field": "version", "min": 1.2}, "requires[0].min: 1.2 is not text (YAML read it as a number"),
    ({"name": "go", "field": "version", "match": None}, "requires[0].match: null is not text; allowed: text"),
])
def test_a_requires_item_names_what_is_missing_or_mistyped(tmp_path, capsys, item, message):
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec(requires=[item])))
    assert message in one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])


@pytest.mark.parametrize(("text", "message"), [
    ("just text\n", "'just text' is not a kubeconfig; allowed: a mapping"),
    ("[" * 5000 + "]" * 5000 + "\n", "nests deeper than 64 levels"),
    ("a: &a [" + ",".join(["x"] * 10) + "]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8)),
     "expands to over 10,000,000 values"),
    ("clusters:\n" + "".join(f"- name: c{i}\n  cluster: {{server: https://1.2.3.4}}\n" for i in range(1001)),
     "clusters: has 1,001 entries; allowed: at most 1,000"),
])
def test_a_kubeconfig_gets_the_bounds_of_every_input(tmp_path, capsys, text, message):
    # The Kubernetes client parses with PyYAML's unbounded loader and looks names up quadratically.
    (tmp_path / "kc").write_text(text)
    err = one_line(capsys, ["collect", "--stack", "dev", "--results", str(tmp_path / "r"), "--kubeconfig",
                            str(tmp_path / "kc")])
    assert message in err


def test_a_ca_file_with_a_pem_header_but_no_certificate_is_refused_before_any_call(tmp_path, capsys):
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
    (tmp_path / "s").write_text("secret\n")
    err = one_line(capsys, ["register", "--stack", "dev", "--rainbow", "127.0.0.1:9", "--tls-ca",
                            str(tmp_path / "ca.pem"), "--secret-file", str(tmp_path / "s"), "--state",
                            str(tmp_path / "st")])
    assert "ca.pem: is not a PEM certificate" in err


def test_force_never_removes_a_file_of_yours_inside_a_run_or_an_edited_report(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--stack", "dev", "--embedded", "--repeats", "1", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    (out / "results" / "my-analysis.json").write_text("precious")
    err = one_line(capsys, ["run", "--stack", "dev", "--embedded", "--out", str(out), "--force"])
    assert "results/my-analysis.json" in err and (out / "results" / "my-analysis.json").exists()
    (out / "results" / "my-analysis.json").unlink()
    with open(out / "report" / "report.csv", "a") as handle:
        handle.write("my note\n")
    assert "report/report.csv" in one_line(capsys, ["run", "--stack", "dev", "--embedded", "--out", str(out),
                                                    "--force"])


def test_an_empty_folder_of_yours_in_an_output_is_not_removed(tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["generate", "--stack", "dev", "--out", str(out)]) == 0
    (out / "mine").mkdir()
    capsys.readouterr()
    assert "mine/" in one_line(capsys, ["generate", "--stack", "dev", "--out", str(out)])
    assert (out / "mine").is_dir()


def test_a_json_array_of_millions_of_numbers_is_refused_by_its_length_alone(tmp_path, capsys):
    # 20 MB of "0,": over the value limit; refused at the top level, before any value is walked.
    root = tmp_path / "clusters"
    cluster_dir(root, "c1", [{"cores": 1}], {})
    (root / "c1" / "nodes.json").write_bytes(b"[" + b"0," * 10_000_000 + b"0]")
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(jobspec()))
    err = one_line(capsys, ["match", "--clusters", str(root), str(tmp_path / "j.yaml")])
    assert "nodes.json: expands to over 10,000,000 values; allowed: at most 10,000,000" in err


@pytest.mark.parametrize("doc", [
    [0] * 99, [0] * 100, {"k": [1, 2, {"a": [3] * 40}], "m": {"x": [[[]]] * 20}},
    [[0] * 30] * 3 + [0], [{"a": 1}] * 33, [{"a": 1}] * 34, [[[[[0] * 10] * 2] * 2] * 2] * 2,
])
def test_counting_a_tree_by_its_lengths_agrees_with_walking_every_value(monkeypatch, doc):
    monkeypatch.setattr(inputs, "MAX_VALUES", 100)

    def refused(check) -> bool:
        try:
            check()
        except LabError as err:
            assert "expands to over 100 values" in str(err)
            return True
        return False

    walked = refused(lambda: inputs.check_shape(doc, "doc", aliases=False))
    counted = refused(lambda: inputs.check_tree_shape(doc, "doc", size=101))
    assert counted is walked


def test_an_error_line_shows_invisible_format_characters_escaped():
    # A right-to-left override (U+202E) would reverse the rest of the line on a terminal; a zero-width space hides.
    line = LabError("state/probe.json", "evil\u202ename\u200b", "is not a cluster's probe\x1b[2J").line()
    assert line == "state/probe.json: evil\\u202ename\\u200b: is not a cluster's probe\\x1b[2J"
