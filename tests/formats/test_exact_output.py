"""The generator's output written out by hand: what rainbow (and fluxion's JGF reader) is registered with.

The expected documents here are the formats' specification, spelled out for a small
cluster and one workload, so a change in any field, id, edge or item shows up.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from compatlab.errors import LabError
from compatlab.formats.graphs import node_ids, nodes_graph, subsystem_graphs
from compatlab.formats.jobspecs import jobspec, jobspec_yaml, requirements, task_shape
from compatlab.lab.model import Needs


def _v(vid, kind, name, path, size=1, unit="", **fields):
    number = int(vid) if vid.isdigit() else 0
    return {"label": vid, "metadata": {"type": kind, "basename": kind, "name": name, "id": number,
                                       "uniq_id": number, "size": size, "exclusive": False, "rank": -1,
                                       "unit": unit, "paths": {"containment": path}, **fields}}


def _e(source, target):
    return {"source": source, "target": target, "relation": "contains"}


@pytest.fixture(scope="module")
def small(full_lab):
    """rocky9-arm64 made 2 pods of 2 cores and 3 GB, with a 5 GB disk."""
    mc = next(m for m in full_lab.miniclusters if m.name == "rocky9-arm64")
    return replace(mc, size=2, cores_per_node=2, memory_gb=3, disk_gb=5)


def test_the_dominant_graph_of_two_nodes_of_two_cores(small):
    root = "/rocky9-arm640"
    assert node_ids(small) == ["1", "5"]
    assert nodes_graph(small) == {"graph": {"directed": True, "nodes": {
        "0": _v("0", "cluster", "rocky9-arm640", root),
        "1": _v("1", "node", "node0", f"{root}/node0"),
        "2": _v("2", "core", "core0", f"{root}/node0/core0"),
        "3": _v("3", "core", "core1", f"{root}/node0/core1"),
        "4": _v("4", "memory", "memory0", f"{root}/node0/memory0", size=3, unit="GB"),
        "5": _v("5", "node", "node1", f"{root}/node1"),
        "6": _v("6", "core", "core0", f"{root}/node1/core0"),
        "7": _v("7", "core", "core1", f"{root}/node1/core1"),
        "8": _v("8", "memory", "memory0", f"{root}/node1/memory0", size=3, unit="GB"),
    }, "edges": [_e("0", "1"), _e("1", "2"), _e("1", "3"), _e("1", "4"),
                 _e("0", "5"), _e("5", "6"), _e("5", "7"), _e("5", "8")]}}


def test_each_subsystem_is_one_feature_every_node_contains(small):
    graphs = subsystem_graphs(small)
    assert list(graphs) == ["archspec", "gpu", "os", "software-go", "software-hwloc", "software-ior",
                            "software-singularity", "storage"]

    def expected(subsystem, feature, **fields):
        return {"graph": {"directed": True, "nodes": {
            f"{subsystem}0": _v(f"{subsystem}0", subsystem, f"{subsystem}0", f"/{subsystem}0"),
            f"{subsystem}1": _v(f"{subsystem}1", feature, f"{feature}0", f"/{subsystem}0/{feature}0", **fields),
        }, "edges": [_e(f"{subsystem}0", f"{subsystem}1"), _e("1", f"{subsystem}1"), _e("5", f"{subsystem}1")]}}

    assert graphs["archspec"] == expected("archspec", "cpu", **{"cpu.target": "arm64"})
    assert graphs["os"] == expected("os", "distribution", **{"os.id": "rocky-9", "os.vendor": "rocky",
                                                             "os.release": "9"})
    assert graphs["storage"] == expected("storage", "disk", **{"local.gb": "5"})
    assert graphs["gpu"] == expected("gpu", "device", **{"gpu.count": "0"})
    assert graphs["software-hwloc"] == expected("software-hwloc", "package", version="2.4.1", package="hwloc")
    assert graphs["software-go"] == expected("software-go", "package", version="1.20.14", package="go")


@pytest.fixture(scope="module")
def needy(full_lab):
    """hwloc, made to need everything a level can say: 2 nodes of 3 tasks, arm64, Go, two packages, a GPU."""
    hwloc = next(w for w in full_lab.workloads if w.name == "hwloc")
    needs = Needs(binary_arch="arm64", go="1.21", software={"zlib": "1.2", "hwloc": "2.0"}, memory_gb_per_node=4,
                  disk_gb=7, gpus=2)
    return replace(hwloc, nodes=2, tasks_per_node=3, needs=needs)


def _level(full_lab, name):
    return next(level for level in full_lab.levels if level.name == name)


def test_a_bare_jobspec_asks_for_one_node_and_runs_the_whole_task_shape(full_lab, needy):
    assert jobspec(needy, _level(full_lab, "none")) == {
        "version": 1, "name": "hwloc-none",
        "resources": {"hwloc": {"type": "node", "replicas": 1},
                      "run": {"type": "node", "count": 2, "with": [{"type": "core", "count": 6}]}},
        "tasks": [{"command": list(needy.command), "resources": "run"}],
    }
    assert task_shape(needy) == {"type": "node", "count": 2, "with": [{"type": "core", "count": 6}]}


def test_the_fullest_jobspec_says_every_need_once_per_subsystem(full_lab, needy):
    doc = jobspec(needy, _level(full_lab, "gpu"))
    assert doc["name"] == "hwloc-gpu"
    assert doc["resources"]["hwloc"] == {
        "type": "node", "replicas": 2,
        "with": [{"type": "core", "count": 3}, {"type": "memory", "count": 4}],
        "requires": [
            {"name": "archspec", "field": "cpu.target", "match": "arm64"},
            {"name": "software-go", "field": "version", "min": "1.21"},
            {"name": "software-hwloc", "field": "version", "min": "2.0"},
            {"name": "software-zlib", "field": "version", "min": "1.2"},
            {"name": "storage", "field": "local.gb", "min": "7"},
            {"name": "gpu", "field": "gpu.count", "min": "2"},
        ],
    }
    assert doc["resources"]["run"] == task_shape(needy)


@pytest.mark.parametrize(("level", "names"), [
    ("counts", []),
    ("arch", ["archspec"]),
    ("software", ["archspec", "software-go", "software-hwloc", "software-zlib"]),
    ("disk", ["archspec", "software-go", "software-hwloc", "software-zlib", "storage"]),
])
def test_each_level_adds_its_own_items(full_lab, needy, level, names):
    assert [item["name"] for item in requirements(needy, _level(full_lab, level))] == names


def test_counts_without_memory_carry_cores_alone(full_lab, needy):
    slot = jobspec(needy, _level(full_lab, "counts"))["resources"]["hwloc"]
    assert slot == {"type": "node", "replicas": 2, "with": [{"type": "core", "count": 3}]}


def test_needs_a_level_cannot_say_add_no_item(full_lab, needy):
    plain = replace(needy, needs=Needs())  # no arch, no Go, no packages, no GPU
    assert requirements(plain, _level(full_lab, "gpu")) == [{"name": "storage", "field": "local.gb", "min": "1"}]


def test_the_yaml_text_is_what_rainbow_stores(full_lab, needy):
    text = jobspec_yaml(jobspec(needy, _level(full_lab, "arch")))
    assert "name: hwloc-arch\n" in text and "match: arm64\n" in text and text.isascii()


@pytest.mark.parametrize("word", ['say "hi"', "café"])  # YAML writes café as "caf\xE9": a double quote again
def test_yaml_real_rainbow_cannot_store_is_refused_naming_the_jobspec(full_lab, needy, word):
    doc = jobspec(replace(needy, command=("echo", word)), _level(full_lab, "none"))
    with pytest.raises(LabError) as err:
        jobspec_yaml(doc)
    assert str(err.value) == ("hwloc-none: its YAML holds '\"', which real rainbow cannot store (it builds its "
                              "SQL from strings); allowed: ASCII text without double quotes")
    del doc["name"]
    with pytest.raises(LabError, match=r"^jobspec: its YAML holds"):
        jobspec_yaml(doc)
