"""The lab model: typed, frozen values that everything downstream is derived from."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ARCHES = ("amd64", "arm64")

K = TypeVar("K")
V = TypeVar("V", covariant=True)


class FrozenMap(Mapping[K, V]):
    """A read-only, hashable mapping: what a frozen model value holds where a dict would make it unhashable.

    Built from a mapping or from (key, value) pairs, which it copies; equal to any
    mapping with the same items (a dict too), and hashed by its items, so equal maps
    hash equal. ``m[k] = v`` and ``del m[k]`` raise ``TypeError``, as for a tuple.
    Pickles as its items (the hash is recomputed in the other process).
    """

    __slots__ = ("_items", "_hash")

    def __init__(self, items: Mapping[K, V] | Iterable[tuple[K, V]] = ()) -> None:
        self._items: dict[K, V] = dict(items)
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._items.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._items == other._items
        return self._items == other if isinstance(other, dict) else super().__eq__(other)

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._items,))


def frozen_map(items: Mapping[K, V] | Iterable[tuple[K, V]]) -> FrozenMap[K, V]:
    """``items`` as a ``FrozenMap``: the same object when it already is one, else a read-only copy."""
    return items if isinstance(items, FrozenMap) else FrozenMap(items)


@dataclass(frozen=True)
class Machine:
    """A GCE machine type (``compatlab/data/machines.yaml``).

    ``vcpu`` cores, ``memory_gb`` GB of memory, ``arch`` amd64 or arm64.
    """

    name: str
    vcpu: int
    memory_gb: int
    arch: str


@dataclass(frozen=True)
class Pool:
    """A GKE node pool: ``node_count`` nodes of one machine type, one arch.

    ``disk_size_gb`` is each node's boot disk in GB, ``disk_type`` a GCE disk type
    (``pd-standard``, ``pd-balanced``, ``hyperdisk-balanced`` on C4A); ``spot`` nodes
    may be preempted.
    """

    name: str
    arch: str
    machine: Machine
    node_count: int
    disk_size_gb: int = 50
    disk_type: str = "pd-standard"
    spot: bool = True


@dataclass(frozen=True)
class Base:
    """A MiniCluster base image (docker/), as described in compatlab/data/bases.yaml."""

    name: str
    os_vendor: str
    os_release: str
    arches: tuple[str, ...]
    privileged: bool
    flux_view: Mapping[str, str]
    software: Mapping[str, str]
    missing: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        # Read-only and hashable whatever the caller passed, so a Lab holding this base is hashable.
        for name in ("flux_view", "software", "missing"):
            object.__setattr__(self, name, frozen_map(getattr(self, name)))

    def software_on(self, arch: str) -> dict[str, str]:
        """Package name -> version this base really installs on ``arch`` (``bases.yaml`` minus its ``missing``)."""
        gone = set(self.missing.get(arch, ()))
        return {name: v for name, v in sorted(self.software.items()) if name not in gone}


@dataclass(frozen=True)
class MiniCluster:
    """One Flux MiniCluster: ``size`` pods, each a node to Flux and to rainbow.

    Each pod is bounded to ``cores_per_node`` cores, ``memory_gb`` GB of memory and
    ``disk_gb`` GB of ephemeral storage (requests equal limits); ``go_version`` is
    the Go its image is built with; ``pool`` names the node pool it is pinned to.
    """

    name: str
    base: Base
    arch: str
    pool: str
    size: int
    cores_per_node: int = 1
    memory_gb: int = 2
    disk_gb: int = 8
    go_version: str = "1.20.14"

    @property
    def software(self) -> dict[str, str]:
        """Installed software (package -> version), Go included: what the metadata says and the image holds."""
        return {**self.base.software_on(self.arch), "go": self.go_version}

    @property
    def gpus(self) -> int:
        """GPUs per node: always 0, since none of the lab's pools has a GPU (the seed's plan)."""
        return 0


@dataclass(frozen=True)
class Needs:
    """What a workload truly needs to run: the outcome model's input, never the matcher's.

    ``binary_arch``: the arch of a prebuilt binary or container (None: builds anywhere);
    ``go``: the minimum Go to build it; ``software``: package -> minimum version;
    ``memory_gb_per_node`` and ``disk_gb`` in GB; ``gpus`` per node.
    """

    binary_arch: str | None = None
    go: str | None = None
    software: Mapping[str, str] = field(default_factory=lambda: FrozenMap[str, str]())
    memory_gb_per_node: int = 1
    disk_gb: int = 1
    gpus: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "software", frozen_map(self.software))  # read-only and hashable


@dataclass(frozen=True)
class Evidence:
    """What a failure mode looks like when it happens: the job's ``exit_code`` and a ``message``.

    ``exit_code`` None means the job's own exit does not tell (Kubernetes evicted or
    killed its pod, and ``compatlab collect`` completes the record); ``message`` is a
    line of the job's output, Flux's or Kubernetes' that names the failure.
    """

    exit_code: int | None
    message: str


@dataclass(frozen=True)
class Workload:
    """One application, from ``jobspecs/<name>.yaml``: its command, task shape, true needs and failure evidence.

    ``nodes`` is the node count it runs on at every level and ``tasks_per_node`` the
    tasks Flux starts on each, one core each; ``command`` is argv (a ``script``
    becomes ``/bin/bash -c <script>``); ``evidence`` maps each failure mode it can
    hit to what that looks like.
    """

    name: str
    description: str
    command: tuple[str, ...]
    nodes: int
    needs: Needs
    source: Path
    tasks_per_node: int = 1
    evidence: Mapping[str, Evidence] = field(default_factory=lambda: FrozenMap[str, Evidence]())

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", frozen_map(self.evidence))  # read-only and hashable

    @property
    def tasks(self) -> int:
        """Tasks in all (Flux ``-n``): ``nodes`` x ``tasks_per_node``."""
        return self.nodes * self.tasks_per_node

    @property
    def cores_per_node(self) -> int:
        """Cores it needs per node: one per task. The jobspec library's Flux transformer (0.1.15) reads only node,
        core and gpu counts, so Flux gives each task one core and a task shape cannot ask for more."""
        return self.tasks_per_node


@dataclass(frozen=True)
class Level:
    """A compatibility level: which groups of metadata (``facets``) a jobspec carries, cumulatively."""

    name: str
    description: str
    facets: frozenset[str]


@dataclass(frozen=True)
class Lab:
    """One stack's experiment: everything downstream (metadata, jobspecs, objects, cost) derives from it.

    ``max_hourly_usd`` is the budget in USD per hour (None: no budget);
    ``rainbow_source_ranges`` are the CIDR ranges allowed to call rainbow's Ingress.
    """

    stack: str
    source: Path
    expiry: str
    image_repository: str
    pools: tuple[Pool, ...]
    miniclusters: tuple[MiniCluster, ...]
    workloads: tuple[Workload, ...]
    levels: tuple[Level, ...]
    deletion_protection: bool = False
    max_hourly_usd: float | None = None
    rainbow_host: str | None = None
    rainbow_source_ranges: tuple[str, ...] = ()
    zone: str | None = None  # gcp:zone, when the stack file (or Pulumi's config) says it

    @property
    def stack_id(self) -> str:
        """The stack's name as GCP resource names take it: lowercase letters, digits and hyphens (``Lab_A`` ->
        ``lab-a``), at most 40 characters, so ``compatlab-rainbow-<stack_id>`` stays within GCP's 63."""
        cleaned = re.sub(r"[^a-z0-9]+", "-", self.stack.lower()).strip("-")[:40].strip("-")
        return cleaned or "stack"
