"""`compatlab cost`: estimates a researcher can trust, and a budget that stops an overrun."""

from __future__ import annotations

import json

import pytest

from compatlab.cli import main
from compatlab.cost import check_budget, estimate
from compatlab.errors import LabError
from compatlab.lab.stack import load_lab


def test_cost_json_has_the_documented_shape_and_meets_the_targets(capsys):
    for stack, target in (("full", 1.00), ("dev", 0.40)):
        assert main(["cost", "--stack", stack, "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert {"on_demand_usd_per_hour", "spot_usd_per_hour", "pools", "price_table_date"} <= set(data)
        assert data["spot_usd_per_hour"] < target < data["on_demand_usd_per_hour"]
        assert [p["pool"] for p in data["pools"]] == [p.name for p in load_lab(stack).pools]
        fee = data["cluster_fee_usd_per_hour"]
        assert data["spot_usd_per_hour"] == pytest.approx(fee + sum(p["spot_usd_per_hour"] for p in data["pools"]))


def test_cost_grows_with_nodes(stack_variant):
    base = estimate(load_lab("dev")).spot_usd_per_hour
    bigger = estimate(load_lab(stack_variant(lambda c: c["pools"][0].update(nodeCount=4), "dev")))
    assert bigger.spot_usd_per_hour > base


def test_a_lab_over_budget_is_refused(stack_variant):
    path = stack_variant(lambda c: c["pools"][1].update(spot=False), "full")
    with pytest.raises(LabError, match=r"budget\.maxHourlyUsd: the lab is estimated at 1\.\d\d USD/hour"):
        check_budget(load_lab(path))


def test_cost_prints_a_table(capsys):
    assert main(["cost", "--stack", "full"]) == 0
    text = capsys.readouterr().out
    assert "e2-standard-8" in text and "GKE cluster fee" in text and "total" in text
