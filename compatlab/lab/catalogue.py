"""The repository's catalogues (``compatlab/data/``): base images, machine types, pins, prices.

Each is read once and cached, and handed out read-only (``types.MappingProxyType``,
tuples, frozen dataclasses): every caller shares the one cached object, so none may
change it. The files are the single source of these facts; each file cites where
its numbers come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypedDict, cast

import yaml

from .model import Base, FrozenMap, Machine
from .paths import DATA

if TYPE_CHECKING:
    from typing_extensions import ReadOnly


class FluxOperatorPin(TypedDict):
    """``versions.yaml`` ``fluxOperator``: the release, its manifest URL and what compatlab changes in it."""

    release: ReadOnly[str]
    manifest: ReadOnly[str]
    namespace: ReadOnly[str]
    deployment: ReadOnly[str]
    controllerImage: ReadOnly[str]
    dropSidecar: ReadOnly[str]


class RainbowPin(TypedDict):
    """``versions.yaml`` ``rainbow``: the commit built, its image tag and the gRPC port."""

    commit: ReadOnly[str]
    tag: ReadOnly[str]
    port: ReadOnly[int]


class EnvoyPin(TypedDict):
    """``versions.yaml`` ``envoy``: the sidecar image."""

    image: ReadOnly[str]


class Pins(TypedDict):
    """``versions.yaml``: what the lab deploys besides the base images; ``clients`` is package -> pip version."""

    fluxOperator: ReadOnly[FluxOperatorPin]
    rainbow: ReadOnly[RainbowPin]
    envoy: ReadOnly[EnvoyPin]
    clients: ReadOnly[Mapping[str, str]]


class MachinePrice(TypedDict):
    """One machine type's price in USD per hour, on demand and spot."""

    onDemand: ReadOnly[float]
    spot: ReadOnly[float]


class PriceTable(TypedDict):
    """``prices.yaml``: the GKE price table of one region, as of ``date``, with its ``source``."""

    date: ReadOnly[str]
    source: ReadOnly[str]
    region: ReadOnly[str]
    clusterFeeUsdPerHour: ReadOnly[float]
    machines: ReadOnly[Mapping[str, MachinePrice]]
    disksUsdPerGbMonth: ReadOnly[Mapping[str, float]]


def _read(name: str) -> Any:
    return yaml.safe_load((DATA / name).read_text())


def _read_only(value: Any) -> Any:
    """A parsed YAML document made read-only all the way down: mappings as ``MappingProxyType``, lists as tuples."""
    if isinstance(value, dict):
        return MappingProxyType({k: _read_only(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_read_only(v) for v in value)
    return value


@cache
def bases() -> Mapping[str, Base]:
    """Base image name -> ``Base``: OS, arches, flux view per arch, software per arch (``bases.yaml``)."""
    raw = _read("bases.yaml")["bases"]
    return MappingProxyType({
        name: Base(
            name=name,
            os_vendor=b["os"]["vendor"],
            os_release=str(b["os"]["release"]),
            arches=tuple(b["arches"]),
            privileged=bool(b["privileged"]),
            flux_view=FrozenMap(b["fluxView"]),
            software=FrozenMap({k: str(v) for k, v in b["software"].items()}),
            missing=FrozenMap({arch: tuple(names) for arch, names in (b.get("missing") or {}).items()}),
        )
        for name, b in raw.items()
    })


@cache
def go_versions() -> tuple[str, ...]:
    """The Go versions the images are built with (``bases.yaml`` ``go.allowed``), oldest first."""
    return tuple(_read("bases.yaml")["go"]["allowed"])


@cache
def commands() -> Mapping[str, str]:
    """Package name -> the command whose presence shows it is installed (``bases.yaml`` ``commands``)."""
    return MappingProxyType(dict(_read("bases.yaml")["commands"]))


@cache
def zones() -> Mapping[str, tuple[str, ...]]:
    """Machine family (``t2a``) -> the GCP zones that offer it (``machines.yaml`` ``zones``)."""
    return MappingProxyType({family: tuple(where)
                             for family, where in (_read("machines.yaml").get("zones") or {}).items()})


@cache
def machines() -> Mapping[str, Machine]:
    """GCE machine type -> ``Machine`` (vCPUs, memory in GB, arch), from ``machines.yaml``."""
    raw = _read("machines.yaml")["machines"]
    return MappingProxyType({
        name: Machine(name, int(m["vcpu"]), int(m["memoryGb"]), m["arch"])
        for name, m in raw.items()
    })


@cache
def pins() -> Pins:
    """Pinned versions of what the lab deploys besides the base images (``versions.yaml``), read-only.

    Keys: ``fluxOperator`` (release, manifest URL, controller image), ``rainbow``
    (commit, image tag, gRPC port), ``envoy`` (image), ``clients`` (pip pins
    installed in every MiniCluster).
    """
    return cast(Pins, _read_only(_read("versions.yaml")))  # read-only mappings, typed as the file's shape


@cache
def prices() -> PriceTable:
    """The GKE price table (``prices.yaml``): region, date, source, USD/h per machine, USD/GB-month per disk.

    Read-only, as every catalogue.
    """
    return cast(PriceTable, _read_only(_read("prices.yaml")))
