"""The generator: metadata true to each MiniCluster, valid jobspecs per level, byte-identical reruns."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from compatlab.cli import main
from compatlab.formats.generate import generate


@pytest.fixture(scope="module")
def full_files(full_lab):
    return generate(full_lab)


def _json(files, rel):
    return json.loads(files[rel])


def _feature(files, cluster, subsystem):
    graph = _json(files, f"clusters/{cluster}/{subsystem}-subsystem.json")["graph"]
    features = [v["metadata"] for k, v in graph["nodes"].items() if not k.endswith("0")]
    assert len(features) == 1
    return features[0]


def test_every_cluster_and_level_is_written(full_lab, full_files):
    for mc in full_lab.miniclusters:
        assert f"clusters/{mc.name}/nodes.json" in full_files
        assert f"clusters/{mc.name}/archspec-subsystem.json" in full_files
    for level in full_lab.levels:
        for workload in full_lab.workloads:
            assert f"jobspecs/{level.name}/{workload.name}.yaml" in full_files


def test_the_dominant_graph_is_true_to_the_cluster(full_lab, full_files):
    for mc in full_lab.miniclusters:
        graph = _json(full_files, f"clusters/{mc.name}/nodes.json")["graph"]
        kinds = Counter(v["metadata"]["type"] for v in graph["nodes"].values())
        assert graph["nodes"]["0"]["metadata"]["type"] == "cluster"
        assert kinds["node"] == mc.size
        assert kinds["core"] == mc.size * mc.cores_per_node
        memory = [v["metadata"]["size"] for v in graph["nodes"].values() if v["metadata"]["type"] == "memory"]
        assert memory == [mc.memory_gb] * mc.size
        assert all(e["relation"] == "contains" for e in graph["edges"])


def test_the_subsystems_are_true_to_the_cluster(full_lab, full_files):
    for mc in full_lab.miniclusters:
        assert _feature(full_files, mc.name, "archspec")["cpu.target"] == mc.arch
        assert _feature(full_files, mc.name, "os")["os.id"] == f"{mc.base.os_vendor}-{mc.base.os_release}"
        assert _feature(full_files, mc.name, "software-go")["version"] == mc.go_version
        assert _feature(full_files, mc.name, "storage")["local.gb"] == str(mc.disk_gb)
        assert _feature(full_files, mc.name, "gpu")["gpu.count"] == "0"
        packages = {rel.split("/")[-1].removesuffix("-subsystem.json").removeprefix("software-")
                    for rel in full_files if rel.startswith(f"clusters/{mc.name}/software-")}
        assert packages == set(mc.software)


def test_every_node_vertex_contains_every_subsystem_feature(full_lab, full_files):
    mc = full_lab.miniclusters[0]
    nodes = {k for k, v in _json(full_files, f"clusters/{mc.name}/nodes.json")["graph"]["nodes"].items()
             if v["metadata"]["type"] == "node"}
    sub = _json(full_files, f"clusters/{mc.name}/archspec-subsystem.json")["graph"]
    assert {e["source"] for e in sub["edges"]} - {"archspec0"} == nodes


def test_metadata_grows_with_the_level(full_files):
    def size(level):
        spec = yaml.safe_load(full_files[f"jobspecs/{level}/salad.yaml"])["resources"]["salad"]
        return len(spec.get("requires", [])) + len(spec.get("with", []))

    sizes = [size(level) for level in ("none", "counts", "arch", "software", "memory", "disk")]
    assert sizes == sorted(sizes) and sizes[0] == 0 and sizes[-1] == 5


def test_the_fractal_asks_for_four_nodes_and_go_120_when_described(full_files):
    spec = yaml.safe_load(full_files["jobspecs/gpu/fractal.yaml"])["resources"]["fractal"]
    assert spec["replicas"] == 4
    assert {"name": "software-go", "field": "version", "min": "1.20"} in spec["requires"]
    assert not any(item["name"] == "archspec" for item in spec["requires"])  # builds on any arch
    assert yaml.safe_load(full_files["jobspecs/none/fractal.yaml"])["resources"]["fractal"]["replicas"] == 1


def test_only_the_gpu_job_asks_for_a_gpu(full_files):
    asking = {rel for rel, data in full_files.items()
              if rel.startswith("jobspecs/gpu/") and b"gpu.count" in data}
    assert asking == {"jobspecs/gpu/gpuburn.yaml"}


def test_generate_twice_is_byte_identical(tmp_path):
    assert main(["generate", "--stack", "full", "--out", str(tmp_path / "a")]) == 0
    assert main(["generate", "--stack", "full", "--out", str(tmp_path / "b")]) == 0
    assert main(["generate", "--stack", "full", "--out", str(tmp_path / "b")]) == 0

    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert len(a) > 100 and a == b


def test_a_bad_stack_exits_2_with_one_line_and_writes_nothing(tmp_path, stack_variant, capsys):
    path = stack_variant(lambda c: c["miniclusters"][0].update(arch="riscv64"))
    out = tmp_path / "out"
    assert main(["generate", "--stack", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "miniclusters[0].arch" in err and "riscv64" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [path]  # no staging directory left behind


def test_a_bad_stack_leaves_an_earlier_output_untouched(tmp_path, stack_variant):
    out = tmp_path / "out"
    assert main(["generate", "--stack", "dev", "--out", str(out)]) == 0
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    path = stack_variant(lambda c: c["pools"][0].update(nodeCount=0))
    assert main(["generate", "--stack", str(path), "--out", str(out)]) == 2
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_generate_refuses_a_directory_it_did_not_write(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("precious")
    assert main(["generate", "--stack", "dev", "--out", str(tmp_path)]) == 2
    assert "not written by compatlab" in capsys.readouterr().err
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_generate_onto_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")
    assert main(["generate", "--stack", "dev", "--out", str(target)]) == 2
    assert "is a file; allowed:" in capsys.readouterr().err
