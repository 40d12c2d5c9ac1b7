"""The repository's catalogues (``compatlab/data/``): base images, machine types, pins, prices.

Each is read once and cached. The files are the single source of these facts;
each file cites where its numbers come from.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from .model import Base, Machine
from .paths import DATA


def _read(name: str) -> Any:
    return yaml.safe_load((DATA / name).read_text())


@cache
def bases() -> dict[str, Base]:
    """Base image name -> ``Base``: OS, arches, flux view per arch, software per arch (``bases.yaml``)."""
    raw = _read("bases.yaml")["bases"]
    return {
        name: Base(
            name=name,
            os_vendor=b["os"]["vendor"],
            os_release=str(b["os"]["release"]),
            arches=tuple(b["arches"]),
            privileged=bool(b["privileged"]),
            flux_view=dict(b["fluxView"]),
            software={k: str(v) for k, v in b["software"].items()},
            missing={arch: tuple(names) for arch, names in (b.get("missing") or {}).items()},
        )
        for name, b in raw.items()
    }


@cache
def go_versions() -> tuple[str, ...]:
    """The Go versions the images are built with (``bases.yaml`` ``go.allowed``), oldest first."""
    return tuple(_read("bases.yaml")["go"]["allowed"])


@cache
def commands() -> dict[str, str]:
    """Package name -> the command whose presence shows it is installed (``bases.yaml`` ``commands``)."""
    return dict(_read("bases.yaml")["commands"])


@cache
def zones() -> dict[str, tuple[str, ...]]:
    """Machine family (``t2a``) -> the GCP zones that offer it (``machines.yaml`` ``zones``)."""
    return {family: tuple(where) for family, where in (_read("machines.yaml").get("zones") or {}).items()}


@cache
def machines() -> dict[str, Machine]:
    """GCE machine type -> ``Machine`` (vCPUs, memory in GB, arch), from ``machines.yaml``."""
    raw = _read("machines.yaml")["machines"]
    return {
        name: Machine(name, int(m["vcpu"]), int(m["memoryGb"]), m["arch"])
        for name, m in raw.items()
    }


@cache
def pins() -> dict[str, Any]:
    """Pinned versions of what the lab deploys besides the base images (``versions.yaml``).

    Keys: ``fluxOperator`` (release, manifest URL, controller image), ``rainbow``
    (commit, image tag, gRPC port), ``envoy`` (image), ``clients`` (pip pins
    installed in every MiniCluster).
    """
    return _read("versions.yaml")


@cache
def prices() -> dict[str, Any]:
    """The GKE price table (``prices.yaml``): region, date, source, USD/h per machine, USD/GB-month per disk."""
    return _read("prices.yaml")
