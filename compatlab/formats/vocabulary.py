"""The subsystems and fields the metadata and the jobspecs share.

Real rainbow keeps only the last ``requires`` item of each subsystem, so every
attribute a jobspec may ask about lives in a subsystem of its own: one per
software package, one for the arch, one for disk, one for GPUs.
"""

from __future__ import annotations

ARCH = ("archspec", "cpu.target")
OS = ("os", "os.id")
STORAGE = ("storage", "local.gb")
GPU = ("gpu", "gpu.count")

# The dominant graph's resource types (nodes.json).
CLUSTER, NODE, CORE, MEMORY = "cluster", "node", "core", "memory"


def software(package: str) -> tuple[str, str]:
    """The ``(subsystem, field)`` that carry one package's version: ``("software-<package>", "version")``."""
    return (f"software-{package}", "version")
