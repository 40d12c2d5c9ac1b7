"""Pinned versions (compatlab/data/versions.yaml)."""

from __future__ import annotations

from functools import cache

import yaml

from .paths import DATA


@cache
def versions() -> dict:
    return yaml.safe_load((DATA / "versions.yaml").read_text())
