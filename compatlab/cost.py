"""What a lab costs per hour on GKE, from the repository's price table.

Every amount is USD per hour, rounded to 4 decimals. Prices come from
``compatlab/data/prices.yaml`` (Google Cloud list prices for us-central1: the VM
instance, disk and GKE pricing pages, as of the date the file states; not fetched live).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from compatlab.lab.catalogue import PriceTable, prices
from compatlab.lab.model import Lab, Pool

from .errors import LabError

HOURS_PER_MONTH = 730  # hours in a month, as Google Cloud's monthly prices count it (prices.yaml's disks)


class PoolCostJson(TypedDict):
    """One pool in ``compatlab cost --json``: ``PoolCost``'s fields and ``usd_per_hour``, USD per hour."""

    pool: str
    machine_type: str
    nodes: int
    spot: bool
    on_demand_usd_per_hour: float
    spot_usd_per_hour: float
    disk_usd_per_hour: float
    usd_per_hour: float


class EstimateJson(TypedDict):
    """``compatlab cost --json``: the totals and pools in USD per hour, and the price table used."""

    stack: str
    on_demand_usd_per_hour: float
    spot_usd_per_hour: float
    configured_usd_per_hour: float
    cluster_fee_usd_per_hour: float
    pools: list[PoolCostJson]
    price_table_date: str
    price_table_source: str
    region: str


@dataclass(frozen=True)
class PoolCost:
    """One node pool's cost, USD per hour: ``nodes`` machines of ``machine_type`` with their boot disks.

    ``on_demand_usd_per_hour`` and ``spot_usd_per_hour`` include the disks (whose price
    spot does not change); ``disk_usd_per_hour`` is the disks alone.
    """

    pool: str
    machine_type: str
    nodes: int
    spot: bool
    on_demand_usd_per_hour: float  # machines + disks, as if on-demand
    spot_usd_per_hour: float  # machines at spot prices + disks
    disk_usd_per_hour: float

    @property
    def usd_per_hour(self) -> float:
        """USD per hour the pool costs as configured: the spot price if ``spot``, else on-demand. Raises nothing."""
        return self.spot_usd_per_hour if self.spot else self.on_demand_usd_per_hour

    def as_json(self) -> PoolCostJson:
        """The pool's fields and ``usd_per_hour`` (rounded to 4 decimals), for ``Estimate.as_json``."""
        return {"pool": self.pool, "machine_type": self.machine_type, "nodes": self.nodes, "spot": self.spot,
                "on_demand_usd_per_hour": self.on_demand_usd_per_hour, "spot_usd_per_hour": self.spot_usd_per_hour,
                "disk_usd_per_hour": self.disk_usd_per_hour, "usd_per_hour": round(self.usd_per_hour, 4)}


@dataclass(frozen=True)
class Estimate:
    """A stack's estimate, USD per hour: its pools plus the GKE cluster fee, and the price table it used.

    The three totals (all on-demand, all spot, as configured) include the cluster fee
    (``clusterFeeUsdPerHour`` in prices.yaml, before GKE's free-tier credit); the
    ``price_table_*`` fields and ``region`` are those of ``compatlab/data/prices.yaml``.
    """

    stack: str
    pools: tuple[PoolCost, ...]
    cluster_fee_usd_per_hour: float
    on_demand_usd_per_hour: float
    spot_usd_per_hour: float
    configured_usd_per_hour: float
    price_table_date: str
    price_table_source: str
    region: str

    def as_json(self) -> EstimateJson:
        """dict for ``json.dumps``: totals and pools (USD per hour, each pool with ``usd_per_hour``), price table.

        Raises nothing.
        """
        return {
            "stack": self.stack,
            "on_demand_usd_per_hour": self.on_demand_usd_per_hour,
            "spot_usd_per_hour": self.spot_usd_per_hour,
            "configured_usd_per_hour": self.configured_usd_per_hour,
            "cluster_fee_usd_per_hour": self.cluster_fee_usd_per_hour,
            "pools": [p.as_json() for p in self.pools],
            "price_table_date": self.price_table_date,
            "price_table_source": self.price_table_source,
            "region": self.region,
        }


def _pool_cost(pool: Pool, table: PriceTable, lab: Lab) -> PoolCost:
    prices = table["machines"].get(pool.machine.name)
    if prices is None:
        raise LabError(lab.source, f"compatlab:pools[{lab.pools.index(pool)}].machineType",
                       f"{pool.machine.name!r} has no price in compatlab/data/prices.yaml; "
                       f"allowed: {', '.join(table['machines'])}")
    disks = table.get("disksUsdPerGbMonth") or {}
    if pool.disk_type not in disks:
        raise LabError("compatlab/data/prices.yaml", "disksUsdPerGbMonth",
                       f"has no price for {pool.disk_type} (pool {pool.name}); allowed: {', '.join(disks) or 'none'}"
                       " are priced: add it, with its source")
    per_gb_hour = disks[pool.disk_type] / HOURS_PER_MONTH
    disk = pool.node_count * pool.disk_size_gb * per_gb_hour
    return PoolCost(
        pool=pool.name, machine_type=pool.machine.name, nodes=pool.node_count, spot=pool.spot,
        on_demand_usd_per_hour=round(pool.node_count * prices["onDemand"] + disk, 4),
        spot_usd_per_hour=round(pool.node_count * prices["spot"] + disk, 4),
        disk_usd_per_hour=round(disk, 4),
    )


def estimate(lab: Lab) -> Estimate:
    """The lab's cost in USD per hour (``Estimate``), per pool and in total, from ``compatlab/data/prices.yaml``.

    A pool costs node count x machine price per hour plus node count x boot disk GB x the
    disk type's USD per GB-month / ``HOURS_PER_MONTH``. Raises ``LabError`` naming
    ``compatlab:pools[<i>].machineType`` when a pool's machine type has no price.
    """
    table = prices()
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
    """The lab's ``Estimate``, checked against its budget before anything is declared.

    Raises ``LabError`` naming ``compatlab:budget.maxHourlyUsd`` when the configured cost
    (USD per hour) exceeds ``lab.max_hourly_usd``; no budget, no check. Raises as ``estimate`` too.
    """
    est = estimate(lab)
    if lab.max_hourly_usd is not None and est.configured_usd_per_hour > lab.max_hourly_usd:
        raise LabError(lab.source, "compatlab:budget.maxHourlyUsd",
                       f"the lab is estimated at {est.configured_usd_per_hour:.2f} USD/hour, over the budget of "
                       f"{lab.max_hourly_usd:.2f}; allowed: fewer or smaller nodes, spot, or a bigger budget")
    return est
