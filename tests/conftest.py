"""Shared fixtures: the repository's stacks, and broken copies of them."""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, settings

from compatlab.lab.paths import STACKS
from compatlab.lab.stack import load_lab

# Property tests: the same examples on every run (CI reproduces what a developer saw), no example
# database written into the checkout, and few enough examples that `make test` stays within its time.
settings.register_profile("compatlab", max_examples=120, derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
# Under `make mutate` (mutmut sets MUTANT_UNDER_TEST) a failing example needs no shrinking: a mutant is killed
# by the first failure, and shrinking it took minutes per mutant.
settings.register_profile("mutmut", parent=settings.get_profile("compatlab"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
settings.load_profile("mutmut" if "MUTANT_UNDER_TEST" in os.environ else "compatlab")

if "MUTANT_UNDER_TEST" in os.environ:
    @pytest.fixture(autouse=True)
    def _no_answer_cached_before_the_mutant():
        """mutmut forks each mutant's tests from a process that already ran them, so every ``lru_cache`` in
        compatlab (semver's parsed versions and constraints) would answer from the unmutated code: empty them."""
        for name, module in list(sys.modules.items()):
            if name.startswith("compatlab"):
                for value in list(vars(module).values()):
                    if callable(getattr(value, "cache_clear", None)):
                        value.cache_clear()


@pytest.fixture(scope="session")
def full_lab():
    return load_lab("full")


@pytest.fixture(scope="session")
def dev_lab():
    return load_lab("dev")


@pytest.fixture
def stack_variant(tmp_path: Path) -> Callable[..., Path]:
    """Write a copy of a stack with its compatlab config changed by ``edit(config)``."""

    def make(edit: Callable[[dict], None], stack: str = "full") -> Path:
        doc = yaml.safe_load((STACKS / f"Pulumi.{stack}.yaml").read_text())
        config = {k.split(":", 1)[1]: v for k, v in doc["config"].items() if k.startswith("compatlab:")}
        config = copy.deepcopy(config)
        edit(config)
        path = tmp_path / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump({"config": {f"compatlab:{k}": v for k, v in config.items()}}))
        return path

    return make


def minicluster(config: dict, name: str) -> dict:
    return next(m for m in config["miniclusters"] if m["name"] == name)
