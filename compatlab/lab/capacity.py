"""What a GKE node can hold once the kubelet and system have taken their share."""

from __future__ import annotations

from .model import Machine


def _tiered(total: float, tiers: tuple[tuple[float, float], ...]) -> float:
    """Sum ``rate * amount`` over consecutive tiers of ``total``; the last tier is open."""
    reserved, left = 0.0, total
    for size, rate in tiers:
        step = min(left, size)
        reserved += step * rate
        left -= step
        if left <= 0:
            break
    return reserved


def allocatable_cores(machine: Machine) -> float:
    """Cores a pod may request on one node of ``machine``: vCPUs minus GKE's reservation.

    GKE reserves 6% of the first core, 1% of the next, 0.5% of the next two and
    0.25% of the rest (GKE docs, "Standard cluster architecture: node allocatable").
    """
    tiers = ((1, 0.06), (1, 0.01), (2, 0.005), (float("inf"), 0.0025))
    return machine.vcpu - _tiered(machine.vcpu, tiers)


def allocatable_memory_gb(machine: Machine) -> float:
    """Memory in GB a pod may request on one node of ``machine``, after GKE's reservation.

    GKE reserves 25% of the first 4 GB, 20% of the next 4, 10% of the next 8, 6% of
    the next 112 and 2% above, plus a 100 MiB eviction threshold, taken as 0.1 GB
    (GKE docs, "node allocatable"). GCE's machine memory is in GiB and pod limits in
    decimal GB, so this errs slightly on the safe side.
    """
    tiers = ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (float("inf"), 0.02))
    return machine.memory_gb - _tiered(machine.memory_gb, tiers) - 0.1
