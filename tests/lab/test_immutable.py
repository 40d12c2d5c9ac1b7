"""A Lab is really frozen: hashable, equal labs hash equal, and nothing it or a catalogue hands out can change."""

from __future__ import annotations

import copy
import operator
import pickle
from dataclasses import replace

import pytest

from compatlab.lab import catalogue
from compatlab.lab.model import FrozenMap, Needs
from compatlab.lab.stack import load_lab


def test_a_lab_hashes_and_two_loads_of_one_stack_hash_equal():
    first, second = load_lab("full"), load_lab("full")
    assert first is not second and first.workloads[0] is not second.workloads[0]
    assert first == second and hash(first) == hash(second)
    assert len({first, second, load_lab("dev")}) == 2
    assert {first: "full"}[second] == "full"  # usable as a key


def test_labs_that_differ_anywhere_inside_are_unequal():
    lab = load_lab("full")
    workload = lab.workloads[0]
    changed = replace(workload, needs=replace(workload.needs, software={**workload.needs.software, "ior": "99"}))
    other = replace(lab, workloads=(changed, *lab.workloads[1:]))
    assert other != lab
    assert hash(other) != hash(lab)  # equal labs must hash equal; these differ (and do, in practice)


def test_a_labs_mappings_are_read_only():
    lab = load_lab("full")
    mc, workload = lab.miniclusters[0], lab.workloads[0]
    with pytest.raises(TypeError):
        mc.base.software["go"] = "1.0"  # type: ignore[index]
    with pytest.raises(TypeError):
        mc.base.flux_view["amd64"] = "elsewhere"  # type: ignore[index]
    with pytest.raises(TypeError):
        workload.evidence["mode"] = next(iter(workload.evidence.values()))  # type: ignore[index]
    with pytest.raises(TypeError):
        del workload.needs.software[next(iter(workload.needs.software))]  # type: ignore[attr-defined]


def test_a_dict_given_to_the_model_becomes_read_only_and_hashable():
    needs = Needs(software={"ior": "4.0"})
    assert isinstance(needs.software, FrozenMap) and needs.software == {"ior": "4.0"}
    assert hash(needs) == hash(Needs(software=FrozenMap([("ior", "4.0")])))


@pytest.mark.parametrize("mutate", [
    lambda: operator.setitem(catalogue.bases(), "mine", None),
    lambda: operator.delitem(catalogue.machines(), "e2-standard-2"),
    lambda: operator.setitem(catalogue.commands(), "ior", "rm"),
    lambda: operator.setitem(catalogue.zones(), "t2a", ()),
    lambda: operator.setitem(catalogue.pins(), "rainbow", {}),
    lambda: operator.setitem(catalogue.pins()["rainbow"], "tag", "latest"),
    lambda: operator.setitem(catalogue.pins()["clients"], "jobspec", "0.0.1"),
    lambda: operator.setitem(catalogue.prices()["machines"]["e2-standard-2"], "spot", 0.0),
    lambda: operator.setitem(catalogue.prices(), "clusterFeeUsdPerHour", 0.0),
], ids=["bases", "machines", "commands", "zones", "pins", "pins.rainbow", "pins.clients", "prices.machines",
        "prices"])
def test_a_cached_catalogue_refuses_changes(mutate):
    with pytest.raises(TypeError):
        mutate()


def test_the_catalogues_hand_out_one_shared_object_that_stays_as_read():
    assert catalogue.bases() is catalogue.bases()
    assert catalogue.pins()["rainbow"]["port"] == 50051
    assert isinstance(catalogue.zones()["t2a"], tuple)


def test_a_frozen_map_pickles_and_copies_to_an_equal_one():
    m = FrozenMap({"a": "1", "b": "2"})
    for other in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m), copy.copy(m)):
        assert other == m and hash(other) == hash(m) and isinstance(other, FrozenMap)
    assert m == {"b": "2", "a": "1"} and m != {"a": "1"} and repr(m) == "FrozenMap({'a': '1', 'b': '2'})"
