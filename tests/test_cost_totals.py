"""Each cost total against an independent sum: the stack file and prices.yaml read here with yaml, not the model."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compatlab.cost import check_budget, estimate
from compatlab.errors import LabError
from compatlab.lab.stack import load_lab

REPO = Path(__file__).resolve().parents[1]
PRICES = yaml.safe_load((REPO / "compatlab" / "data" / "prices.yaml").read_text())


def _by_hand(stack: Path) -> dict[str, float]:
    """USD per hour summed from the raw files: each node's machine and boot disk, plus the cluster fee once."""
    pools = yaml.safe_load(stack.read_text())["config"]["compatlab:pools"]
    totals = {"on_demand": PRICES["clusterFeeUsdPerHour"], "spot": PRICES["clusterFeeUsdPerHour"]}
    totals["configured"] = totals["on_demand"]
    for pool in pools:
        machine = PRICES["machines"][pool["machineType"]]
        # The model's defaults, restated: 50 GB disks, pd-standard (hyperdisk-balanced on C4A), spot unless said.
        c4a = pool["machineType"].startswith("c4a")
        disk_type = pool.get("diskType", "hyperdisk-balanced" if c4a else "pd-standard")
        disk = pool.get("diskSizeGb", 50) * PRICES["disksUsdPerGbMonth"][disk_type] / 730
        for _ in range(pool["nodeCount"]):
            totals["on_demand"] += machine["onDemand"] + disk
            totals["spot"] += machine["spot"] + disk
            totals["configured"] += (machine["spot"] if pool.get("spot", True) else machine["onDemand"]) + disk
    return totals


@pytest.mark.parametrize("stack", ["dev", "full"])
def test_each_total_equals_the_sum_of_its_machines_disks_and_the_cluster_fee(stack):
    path = REPO / "stacks" / f"Pulumi.{stack}.yaml"
    got, expected = estimate(load_lab(str(path))), _by_hand(path)
    # Per-pool rounding to 4 decimals may move a total by half a unit of the 4th decimal per pool.
    slack = 0.00005 * (len(got.pools) + 1)
    assert got.on_demand_usd_per_hour == pytest.approx(expected["on_demand"], abs=slack)
    assert got.spot_usd_per_hour == pytest.approx(expected["spot"], abs=slack)
    assert got.configured_usd_per_hour == pytest.approx(expected["configured"], abs=slack)
    # Each total holds the fee: without it the sum would be off by 0.10, far outside the slack.
    assert PRICES["clusterFeeUsdPerHour"] > 10 * slack
    # The stacks mix spot and on-demand pools, so the configured total is strictly between the other two.
    assert got.spot_usd_per_hour < got.configured_usd_per_hour < got.on_demand_usd_per_hour


def test_a_stack_of_one_priced_pool_costs_exactly_its_parts(stack_variant):
    got = estimate(load_lab(str(stack_variant(_one_pool(), "dev"))))
    # Worked out by hand: 3 x 0.134012 machines + 3 x 50 GB x 0.04 / 730 disks (0.008219) + the 0.10 fee.
    assert got.on_demand_usd_per_hour == got.configured_usd_per_hour == 0.5103
    assert got.spot_usd_per_hour == 0.2288  # 3 x 0.040204 + 0.008219 + 0.10


def _one_pool(budget: float | None = None):
    def edit(config):
        config["pools"] = [{"name": "system", "arch": "amd64", "machineType": "e2-standard-4", "nodeCount": 3,
                            "diskSizeGb": 50, "spot": False}]
        config["miniclusters"] = [{"name": "rocky9-amd64", "base": "rocky-9", "arch": "amd64", "pool": "system",
                                   "size": 2}]
        config.pop("budget", None)
        if budget is not None:
            config["budget"] = {"maxHourlyUsd": budget}
    return edit


def test_each_pool_reports_its_own_machines_and_disks_to_four_decimals(stack_variant):
    [pool] = estimate(load_lab(str(stack_variant(_one_pool(), "dev")))).pools
    # 3 x 0.134012 + 0.008219 = 0.410255; 3 x 0.040204 + 0.008219 = 0.128831; disks 3 x 50 x 0.04 / 730.
    assert (pool.pool, pool.machine_type, pool.nodes, pool.spot) == ("system", "e2-standard-4", 3, False)
    assert (pool.on_demand_usd_per_hour, pool.spot_usd_per_hour, pool.disk_usd_per_hour) == (0.4103, 0.1288, 0.0082)
    assert pool.usd_per_hour == 0.4103


def test_the_json_estimate_names_every_total_each_pool_and_the_price_table(stack_variant):
    path = stack_variant(_one_pool(), "dev")
    data = estimate(load_lab(str(path))).as_json()
    assert data == {
        "stack": "dev", "on_demand_usd_per_hour": 0.5103, "spot_usd_per_hour": 0.2288,
        "configured_usd_per_hour": 0.5103, "cluster_fee_usd_per_hour": 0.10,
        "pools": [{"pool": "system", "machine_type": "e2-standard-4", "nodes": 3, "spot": False,
                   "on_demand_usd_per_hour": 0.4103, "spot_usd_per_hour": 0.1288, "disk_usd_per_hour": 0.0082,
                   "usd_per_hour": 0.4103}],
        "price_table_date": str(PRICES["date"]), "price_table_source": PRICES["source"], "region": "us-central1",
    }


def test_a_machine_without_a_price_names_its_pool_in_the_stack_file(stack_variant, monkeypatch):
    import compatlab.cost as cost

    table = {**PRICES, "machines": {k: v for k, v in PRICES["machines"].items() if k != "e2-standard-4"}}
    monkeypatch.setattr(cost, "prices", lambda: table)
    path = stack_variant(_one_pool(), "dev")
    with pytest.raises(LabError) as err:
        estimate(load_lab(str(path)))
    allowed = ", ".join(table["machines"])
    assert str(err.value) == (f"{path}: compatlab:pools[0].machineType: 'e2-standard-4' has no price in "
                              f"compatlab/data/prices.yaml; allowed: {allowed}")


@pytest.mark.parametrize("disks", [{"pd-ssd": 0.17}, {}])
def test_a_disk_type_without_a_price_names_the_price_table(stack_variant, monkeypatch, disks):
    import compatlab.cost as cost

    monkeypatch.setattr(cost, "prices", lambda: {**PRICES, "disksUsdPerGbMonth": disks})
    with pytest.raises(LabError) as err:
        estimate(load_lab(str(stack_variant(_one_pool(), "dev"))))
    assert str(err.value) == ("compatlab/data/prices.yaml: disksUsdPerGbMonth: has no price for pd-standard (pool "
                              f"system); allowed: {', '.join(disks) or 'none'} are priced: add it, with its source")


def test_a_budget_is_a_ceiling_the_lab_may_reach_but_not_pass(stack_variant):
    assert check_budget(load_lab(str(stack_variant(_one_pool(budget=0.5103), "dev")))).configured_usd_per_hour == 0.5103
    assert check_budget(load_lab(str(stack_variant(_one_pool(), "dev")))).configured_usd_per_hour == 0.5103  # none
    path = stack_variant(_one_pool(budget=0.51), "dev")
    with pytest.raises(LabError) as err:
        check_budget(load_lab(str(path)))
    assert str(err.value) == (f"{path}: compatlab:budget.maxHourlyUsd: the lab is estimated at 0.51 USD/hour, over "
                              "the budget of 0.51; allowed: fewer or smaller nodes, spot, or a bigger budget")
