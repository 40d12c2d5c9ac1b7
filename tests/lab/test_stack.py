"""Loading a stack: the seed's lab comes out typed and true; bad stacks fail in one clear line."""

from __future__ import annotations

import pytest
import yaml

from compatlab.errors import LabError
from compatlab.lab.levels import LEVEL_NAMES
from compatlab.lab.paths import STACKS
from compatlab.lab.stack import load_lab
from tests.conftest import minicluster


def test_the_full_lab_has_the_seeds_bases_on_both_arches(full_lab):
    pairs = {(mc.base.name, mc.arch) for mc in full_lab.miniclusters}
    assert {("ubuntu-jammy", "amd64"), ("ubuntu-focal", "amd64"), ("ubuntu-focal", "arm64"),
            ("rocky-8", "amd64"), ("rocky-9", "amd64"), ("rocky-9", "arm64")} <= pairs


def test_the_full_lab_has_one_cluster_per_constraint_and_no_gpu(full_lab):
    by = {mc.name: mc for mc in full_lab.miniclusters}
    assert by["go115-focal-amd64"].software["go"].startswith("1.15")
    assert by["focal-amd64"].software["go"].startswith("1.20")
    assert by["lowmem-jammy-amd64"].memory_gb < min(w.needs.memory_gb_per_node for w in full_lab.workloads
                                                     if w.name == "lammps")
    assert by["twonode-focal-amd64"].size == 2
    assert by["tinydisk-jammy-amd64"].disk_gb < next(w for w in full_lab.workloads if w.name == "ior").needs.disk_gb
    assert all(mc.gpus == 0 for mc in full_lab.miniclusters)


def test_the_full_lab_runs_the_seeds_workloads_at_every_level(full_lab):
    assert {w.name for w in full_lab.workloads} == {
        "ior", "fractal", "lammps", "hwloc", "salad", "ramble", "gpuburn"}
    assert tuple(level.name for level in full_lab.levels) == LEVEL_NAMES
    assert any(w.needs.gpus for w in full_lab.workloads)


def test_levels_are_cumulative(full_lab):
    for lower, higher in zip(full_lab.levels, full_lab.levels[1:], strict=False):
        assert lower.facets < higher.facets


def test_arm_rocky_has_no_lammps_but_arm_ubuntu_does(full_lab):
    by = {mc.name: mc for mc in full_lab.miniclusters}
    assert "lammps" not in by["rocky9-arm64"].software
    assert "lammps" in by["rocky9-amd64"].software
    assert "lammps" in by["focal-arm64"].software


def test_dev_is_small_but_shows_an_arch_mismatch_and_a_constraint(dev_lab, full_lab):
    assert {mc.arch for mc in dev_lab.miniclusters} == {"amd64", "arm64"}
    assert any(mc.memory_gb == 1 for mc in dev_lab.miniclusters)
    assert len(dev_lab.miniclusters) < len(full_lab.miniclusters)
    assert any(w.needs.binary_arch == "amd64" for w in dev_lab.workloads)


def _error(stack_variant, edit, stack="full") -> str:
    path = stack_variant(edit, stack)
    with pytest.raises(LabError) as caught:
        load_lab(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_an_unknown_arch_is_named_with_what_is_allowed(stack_variant):
    msg = _error(stack_variant, lambda c: c["pools"][1].update(arch="aarch64"))
    assert "compatlab:pools[1].arch" in msg and "'aarch64'" in msg and "amd64, arm64" in msg


def test_a_minicluster_on_a_missing_pool(stack_variant):
    msg = _error(stack_variant, lambda c: minicluster(c, "focal-arm64").update(pool="armm"))
    assert "compatlab:miniclusters[2].pool" in msg and "'armm' is not a pool" in msg and "amd, arm" in msg


def test_a_minicluster_on_a_pool_of_the_other_arch(stack_variant):
    msg = _error(stack_variant, lambda c: minicluster(c, "focal-arm64").update(pool="amd"))
    assert "miniclusters[2].pool" in msg and "amd64 pool" in msg and "allowed: arm" in msg


def test_an_arm_machine_in_an_amd64_pool(stack_variant):
    msg = _error(stack_variant, lambda c: c["pools"][0].update(machineType="t2a-standard-8"))
    assert "pools[0].machineType" in msg and "arm64 machine" in msg and "e2-standard-8" in msg


def test_an_amd64_machine_in_an_arm_pool(stack_variant):
    msg = _error(stack_variant, lambda c: c["pools"][2].update(machineType="e2-standard-4"))
    assert "pools[2].machineType" in msg and "amd64 machine" in msg and "t2a-standard-4" in msg


def test_the_system_pool_may_not_be_spot(stack_variant):
    msg = _error(stack_variant, lambda c: c["pools"][0].update(spot=True))
    assert "compatlab:pools[0].spot" in msg and "rainbow" in msg and "allowed: false" in msg


def test_duplicate_minicluster_names(stack_variant):
    msg = _error(stack_variant, lambda c: c["miniclusters"][1].update(name="focal-amd64"))
    assert "miniclusters" in msg and "'focal-amd64' is listed twice" in msg


def test_a_negative_size(stack_variant):
    msg = _error(stack_variant, lambda c: c["miniclusters"][0].update(size=-2))
    assert "compatlab:miniclusters[0].size" in msg and "-2" in msg and ">= 1" in msg


def test_an_unknown_base(stack_variant):
    msg = _error(stack_variant, lambda c: c["miniclusters"][0].update(base="centos-7"))
    assert "miniclusters[0].base" in msg and "'centos-7'" in msg and "rocky-9" in msg


def test_a_go_version_that_is_not_built(stack_variant):
    msg = _error(stack_variant, lambda c: c["miniclusters"][0].update(goVersion="1.18"))
    assert "miniclusters[0].goVersion" in msg and "1.15.15, 1.20.14" in msg


def test_an_unknown_key(stack_variant):
    msg = _error(stack_variant, lambda c: c["miniclusters"][0].update(gpus=1))
    assert "miniclusters[0]" in msg and "unknown key 'gpus'" in msg


def test_a_minicluster_larger_than_its_pool_can_hold(stack_variant):
    msg = _error(stack_variant, lambda c: minicluster(c, "focal-arm64").update(size=40))
    assert "miniclusters[2].size" in msg and "pool arm" in msg


def test_a_workload_without_a_file(stack_variant):
    msg = _error(stack_variant, lambda c: c["workloads"].append("hpl"))
    assert "compatlab:workloads[7]" in msg and "'hpl'" in msg and "ior" in msg


def test_an_unknown_level(stack_variant):
    msg = _error(stack_variant, lambda c: c.update(levels=["none", "everything"]))
    assert "compatlab:levels[1]" in msg and "counts" in msg


def test_a_stack_file_that_does_not_parse(tmp_path):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text("config:\n  compatlab:pools: [\n")
    with pytest.raises(LabError, match=r"Pulumi\.bad\.yaml: line \d+: not valid YAML"):
        load_lab(path)


def test_a_workload_file_that_does_not_parse(tmp_path, stack_variant):
    jobspecs = tmp_path / "jobspecs"
    jobspecs.mkdir()
    (jobspecs / "ior.yaml").write_text("workload: ior\ncommand: [ior\n")
    path = stack_variant(lambda c: c.update(workloads=["ior"]))
    with pytest.raises(LabError, match=r"ior\.yaml: line \d+: not valid YAML"):
        load_lab(path, jobspecs=jobspecs)


def test_a_workload_with_a_bad_version(tmp_path, stack_variant):
    jobspecs = tmp_path / "jobspecs"
    jobspecs.mkdir()
    (jobspecs / "ior.yaml").write_text(yaml.safe_dump(
        {"workload": "ior", "command": ["ior"], "nodes": 1, "needs": {"software": {"ior": "latest"}}}))
    path = stack_variant(lambda c: c.update(workloads=["ior"]))
    with pytest.raises(LabError, match=r"ior\.yaml: needs\.software\.ior: 'latest' is not a minimum version"):
        load_lab(path, jobspecs=jobspecs)


def test_an_unknown_stack_lists_the_known_ones():
    with pytest.raises(LabError, match=r"no such stack 'nosuch'; allowed: dev, full"):
        load_lab("nosuch")


def test_go_is_a_build_need_not_software(tmp_path, stack_variant):
    jobspecs = tmp_path / "jobspecs"
    jobspecs.mkdir()
    (jobspecs / "ior.yaml").write_text(yaml.safe_dump(
        {"workload": "ior", "command": ["ior"], "nodes": 1, "needs": {"go": "1.20", "software": {"go": "1.21"}}}))
    path = stack_variant(lambda c: c.update(workloads=["ior"]))
    with pytest.raises(LabError, match=r"needs\.software\.go: Go is a build need"):
        load_lab(path, jobspecs=jobspecs)


def test_rainbow_credentials_in_the_stack_file_are_left_to_pulumi(tmp_path):
    doc = yaml.safe_load((STACKS / "Pulumi.dev.yaml").read_text())
    doc["config"]["compatlab:rainbowSecret"] = {"secure": "AAABAEncryptedByPulumi"}
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert load_lab(path).stack == "dev"


def test_an_unknown_top_level_key_names_the_namespace(stack_variant):
    msg = _error(stack_variant, lambda c: c.update(colour="blue"))
    assert "compatlab: unknown key 'colour'" in msg
