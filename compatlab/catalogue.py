"""The repository's catalogues: base images and machine types."""

from __future__ import annotations

from functools import cache

import yaml

from .model import Base, Machine
from .paths import DATA


@cache
def bases() -> dict[str, Base]:
    raw = yaml.safe_load((DATA / "bases.yaml").read_text())["bases"]
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
    raw = yaml.safe_load((DATA / "bases.yaml").read_text())
    return tuple(raw["go"]["allowed"])


@cache
def machines() -> dict[str, Machine]:
    raw = yaml.safe_load((DATA / "machines.yaml").read_text())["machines"]
    return {
        name: Machine(name, int(m["vcpu"]), int(m["memoryGb"]), m["arch"])
        for name, m in raw.items()
    }
