"""The lab model: typed, frozen values that everything downstream is derived from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ARCHES = ("amd64", "arm64")


@dataclass(frozen=True)
class Machine:
    name: str
    vcpu: int
    memory_gb: int
    arch: str


@dataclass(frozen=True)
class Pool:
    """A GKE node pool: one machine type, one arch."""

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
    flux_view: dict[str, str]
    software: dict[str, str]
    missing: dict[str, tuple[str, ...]]

    def software_on(self, arch: str) -> dict[str, str]:
        """What this base really installs on ``arch``."""
        gone = set(self.missing.get(arch, ()))
        return {name: v for name, v in sorted(self.software.items()) if name not in gone}


@dataclass(frozen=True)
class MiniCluster:
    """One Flux MiniCluster: ``size`` pods, each a 'node' to Flux and to rainbow."""

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
        """Installed software (name -> version), Go included."""
        return {**self.base.software_on(self.arch), "go": self.go_version}

    @property
    def gpus(self) -> int:
        # None of the lab's MiniClusters has a GPU: the GPU job must be rejected.
        return 0


@dataclass(frozen=True)
class Needs:
    """What a workload truly needs to run: the outcome model's input."""

    binary_arch: str | None = None
    go: str | None = None
    software: dict[str, str] = field(default_factory=dict)
    memory_gb_per_node: int = 1
    disk_gb: int = 1
    gpus: int = 0


@dataclass(frozen=True)
class Workload:
    """One application, from jobspecs/<name>.yaml."""

    name: str
    description: str
    command: tuple[str, ...]
    nodes: int
    cores_per_node: int
    needs: Needs
    source: Path


@dataclass(frozen=True)
class Level:
    """A compatibility level: which groups of metadata a jobspec carries (cumulative)."""

    name: str
    description: str
    facets: frozenset[str]


@dataclass(frozen=True)
class Lab:
    """One stack's experiment."""

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
