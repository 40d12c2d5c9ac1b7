"""A 10,000-character name, wherever a name is read, is answered in well under a second.

The jobspec package's name pattern ``^([a-z]|[|]|&|[0-9]+)+$`` backtracks exponentially on a run
of digits that then fails to match (seconds at 22 characters, doubling with each one): no input
may reach it. Every name below is such a run, so reaching the pattern would hang the test.
"""

from __future__ import annotations

import copy
import time

import pytest
import yaml

from compatlab.cli import main
from compatlab.errors import LabError
from compatlab.experiment.flux import FluxExecutor
from compatlab.experiment.records import JobName
from compatlab.formats.flux import BACKTRACKING_NAME, _linear_schema, flux_commands
from compatlab.lab.paths import JOBSPECS, STACKS
from compatlab.lab.stack import load_lab
from tests.graphs import cluster_dir

DIGITS = "0" * 9_999 + "-"  # 10,000 characters: digits the pattern takes, then one it does not
LIMIT_S = 1.0


def _fast(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    assert time.perf_counter() - start < LIMIT_S
    return result


def _one_line(capsys, argv) -> str:
    assert _fast(main, argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 1000, err[:1000]  # the 10,000 characters are clipped
    return err


def _job(name: str) -> dict:
    return {"version": 1, "resources": {name: {"type": "node", "replicas": 1}},
            "tasks": [{"command": ["hostname"], "resources": name}]}


@pytest.mark.parametrize("where", ["resources", "requires"])
def test_match_refuses_a_long_jobspec_name(tmp_path, capsys, where):
    cluster_dir(tmp_path / "clusters", "c1", [{"cores": 1}], {})
    doc = _job("app")
    if where == "requires":
        doc["requires"] = {DIGITS: [{"name": "arch", "field": "t", "match": "amd64"}]}
    else:
        doc = _job(DIGITS)
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(doc))
    err = _one_line(capsys, ["match", "--clusters", str(tmp_path / "clusters"), str(tmp_path / "j.yaml")])
    assert f"{where}.0000" in err and "is not a name" in err


def test_the_receivers_flux_executor_reads_a_received_jobspec_with_a_long_name_at_once():
    # A received jobspec goes to the jobspec library's transformer: with its own schema it would backtrack here.
    executor = FluxExecutor(run=lambda argv, timeout: (0, "2 Nodes, 2 Cores, 0 GPUs"))
    line = _fast(executor.submit_line, JobName("abcdef01", "none", "probe", 0), yaml.safe_dump(_job(DIGITS)))
    assert line[:2] == ["flux", "submit"] and line[-1] == "hostname"
    # A name the library's pattern does take changes nothing in the command.
    assert _fast(flux_commands, _job("a" * 20 + "0" * 30 + "!")) == flux_commands(_job("app"))


def test_the_libraries_schema_is_used_whole_with_only_its_name_pattern_swapped():
    from jobspec.schema import jobspec_nextgen

    text, original = yaml.safe_dump(_linear_schema()), yaml.safe_dump(jobspec_nextgen)
    assert BACKTRACKING_NAME in original and BACKTRACKING_NAME not in text
    assert text == original.replace(BACKTRACKING_NAME, "^[a-z|&0-9]+$")
    with pytest.raises(ValueError, match="cannot read it"):
        flux_commands({"version": 1, "resources": {"app": {"type": "node"}}, "tasks": [{"resources": "app"}]})


@pytest.mark.parametrize(("key", "edit"), [
    ("compatlab:workloads[0]", lambda c: c.update({"compatlab:workloads": [DIGITS]})),
    ("compatlab:levels[0]", lambda c: c.update({"compatlab:levels": [DIGITS]})),
    ("compatlab:miniclusters[0].name", lambda c: c["compatlab:miniclusters"][0].update(name=DIGITS)),
    ("compatlab:miniclusters[0].pool", lambda c: c["compatlab:miniclusters"][0].update(pool=DIGITS)),
    ("compatlab:miniclusters[0].base", lambda c: c["compatlab:miniclusters"][0].update(base=DIGITS)),
    ("compatlab:pools[1].name", lambda c: c["compatlab:pools"][1].update(name=DIGITS)),
])
def test_a_stack_with_a_long_name_is_refused_naming_the_key(tmp_path, capsys, key, edit):
    doc = yaml.safe_load((STACKS / "Pulumi.dev.yaml").read_text())
    edit(doc["config"])
    (tmp_path / "Pulumi.long.yaml").write_text(yaml.safe_dump(doc))
    err = _one_line(capsys, ["generate", "--stack", str(tmp_path / "Pulumi.long.yaml"), "--out", str(tmp_path / "o")])
    assert f": {key}: " in err


def test_a_workload_file_with_a_long_name_is_refused(tmp_path):
    workloads = tmp_path / "jobspecs"
    workloads.mkdir()
    (workloads / "hwloc.yaml").write_text((JOBSPECS / "hwloc.yaml").read_text().replace("workload: hwloc",
                                                                                        f"workload: '{DIGITS}'"))
    doc = copy.deepcopy(yaml.safe_load((STACKS / "Pulumi.dev.yaml").read_text()))
    doc["config"]["compatlab:workloads"] = ["hwloc"]
    (tmp_path / "Pulumi.w.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(LabError, match=r"hwloc\.yaml: workload: '0000"):
        _fast(load_lab, str(tmp_path / "Pulumi.w.yaml"), workloads)


def test_a_long_cluster_name_given_to_receive_is_refused(tmp_path, capsys):
    assert main(["register", "--stack", "dev", "--embedded", "--state", str(tmp_path / "state")]) == 0
    capsys.readouterr()
    err = _one_line(capsys, ["receive", "--embedded", "--state", str(tmp_path / "state"), "--cluster", DIGITS,
                             "--results", str(tmp_path / "results"), "--once"])
    assert "--cluster" in err and "is not a minicluster name" in err


def test_a_registration_directory_with_the_longest_name_a_filesystem_allows(tmp_path, capsys):
    name = "0" * 254 + "-"  # NAME_MAX is 255: a cluster directory name can be no longer
    cluster_dir(tmp_path / "clusters", name, [{"cores": 1}], {})
    (tmp_path / "j.yaml").write_text(yaml.safe_dump(_job("app")))
    assert _fast(main, ["match", "--clusters", str(tmp_path / "clusters"), str(tmp_path / "j.yaml"), "--json"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)[0]["matches"] == [name]
