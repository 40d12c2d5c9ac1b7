"""What a lab costs per hour on GKE, from the repository's price table."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

import yaml

from .errors import LabError
from .model import Lab, Pool
from .paths import DATA

HOURS_PER_MONTH = 730


@cache
def price_table() -> dict:
    return yaml.safe_load((DATA / "prices.yaml").read_text())


@dataclass(frozen=True)
class PoolCost:
    pool: str
    machine_type: str
    nodes: int
    spot: bool
    on_demand_usd_per_hour: float  # machines + disks, as if on-demand
    spot_usd_per_hour: float  # machines at spot prices + disks
    disk_usd_per_hour: float

    @property
    def usd_per_hour(self) -> float:
        """What the pool as configured (spot or not) costs."""
        return self.spot_usd_per_hour if self.spot else self.on_demand_usd_per_hour


@dataclass(frozen=True)
class Estimate:
    stack: str
    pools: tuple[PoolCost, ...]
    cluster_fee_usd_per_hour: float
    on_demand_usd_per_hour: float
    spot_usd_per_hour: float
    configured_usd_per_hour: float
    price_table_date: str
    price_table_source: str
    region: str

    def as_json(self) -> dict:
        return {
            "stack": self.stack,
            "on_demand_usd_per_hour": self.on_demand_usd_per_hour,
            "spot_usd_per_hour": self.spot_usd_per_hour,
            "configured_usd_per_hour": self.configured_usd_per_hour,
            "cluster_fee_usd_per_hour": self.cluster_fee_usd_per_hour,
            "pools": [{**asdict(p), "usd_per_hour": round(p.usd_per_hour, 4)} for p in self.pools],
            "price_table_date": self.price_table_date,
            "price_table_source": self.price_table_source,
            "region": self.region,
        }


def _pool_cost(pool: Pool, table: dict, lab: Lab) -> PoolCost:
    prices = table["machines"].get(pool.machine.name)
    if prices is None:
        raise LabError(lab.source, f"compatlab:pools[{lab.pools.index(pool)}].machineType",
                       f"{pool.machine.name!r} has no price in compatlab/data/prices.yaml; "
                       f"allowed: {', '.join(table['machines'])}")
    per_gb_hour = table["disksUsdPerGbMonth"][pool.disk_type] / HOURS_PER_MONTH
    disk = pool.node_count * pool.disk_size_gb * per_gb_hour
    return PoolCost(
        pool=pool.name, machine_type=pool.machine.name, nodes=pool.node_count, spot=pool.spot,
        on_demand_usd_per_hour=round(pool.node_count * prices["onDemand"] + disk, 4),
        spot_usd_per_hour=round(pool.node_count * prices["spot"] + disk, 4),
        disk_usd_per_hour=round(disk, 4),
    )


def estimate(lab: Lab) -> Estimate:
    table = price_table()
    pools = tuple(_pool_cost(pool, table, lab) for pool in lab.pools)
    fee = float(table["clusterFeeUsdPerHour"])
    return Estimate(
        stack=lab.stack,
        pools=pools,
        cluster_fee_usd_per_hour=fee,
        on_demand_usd_per_hour=round(fee + sum(p.on_demand_usd_per_hour for p in pools), 4),
        spot_usd_per_hour=round(fee + sum(p.spot_usd_per_hour for p in pools), 4),
        configured_usd_per_hour=round(fee + sum(p.usd_per_hour for p in pools), 4),
        price_table_date=str(table["date"]),
        price_table_source=table["source"],
        region=table["region"],
    )


def check_budget(lab: Lab) -> Estimate:
    """Stop before anything is declared when the lab, as configured, costs more than its budget."""
    est = estimate(lab)
    if lab.max_hourly_usd is not None and est.configured_usd_per_hour > lab.max_hourly_usd:
        raise LabError(lab.source, "compatlab:budget.maxHourlyUsd",
                       f"the lab is estimated at {est.configured_usd_per_hour:.2f} USD/hour, over the budget of "
                       f"{lab.max_hourly_usd:.2f}; allowed: fewer or smaller nodes, spot, or a bigger budget")
    return est
