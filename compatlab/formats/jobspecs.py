"""A workload's nextgen jobspec at a compatibility level.

Two named resources, because rainbow and Flux read counts differently:

- the slot, named after the workload, is what rainbow matches: ``replicas`` nodes
  each holding its ``with`` counts (dominant subsystem) and meeting its ``requires``
  items (other subsystems, one item per subsystem at most so real rainbow checks
  every one); it grows with the level, and at ``none`` it is one bare node;
- ``run`` is the task's shape, the same at every level: the jobspec library's Flux
  transformer (``jobspec`` 0.1.15, ``flatten_slot``) reads a flat node count as
  ``-N`` and a flat core count as ``-n`` (the nextgen schema has no task count), so
  ``run`` holds the job's totals: ``nodes`` nodes and ``nodes x tasksPerNode`` cores.

rainbow looks only at resources with ``replicas`` when one has them (its
``Satisfy``), so ``run`` never changes a match; the task names ``run``, so the slot
never changes the Flux command.
"""

from __future__ import annotations

from compatlab.errors import LabError
from compatlab.files import dump_yaml
from compatlab.lab.model import Level, Workload
from compatlab.lab.workloads import RUN

from . import vocabulary as v
from .nextgen import Jobspec, JobspecDoc, Requirement, Resource


def requirements(workload: Workload, level: Level) -> list[Requirement]:
    """The ``requires`` items a workload's slot carries at ``level``: a list of ``{name, field, match | min}`` dicts.

    At most one item per subsystem (``vocabulary``), since real rainbow keeps only
    the last item of each subsystem (DESIGN.md, "Matching semantics").
    """
    needs, facets = workload.needs, level.facets
    items: list[Requirement] = []
    if "arch" in facets and needs.binary_arch:
        items.append({"name": v.ARCH[0], "field": v.ARCH[1], "match": needs.binary_arch})
    if "software" in facets:
        wanted = dict(needs.software)
        if needs.go:
            wanted["go"] = needs.go
        for package, minimum in sorted(wanted.items()):
            subsystem, field = v.software(package)
            items.append({"name": subsystem, "field": field, "min": minimum})
    if "disk" in facets:
        items.append({"name": v.STORAGE[0], "field": v.STORAGE[1], "min": str(needs.disk_gb)})
    if "gpu" in facets and needs.gpus:
        items.append({"name": v.GPU[0], "field": v.GPU[1], "min": str(needs.gpus)})
    return items




def task_shape(workload: Workload) -> Resource:
    """The ``run`` resource: ``{type: node, count: nodes, with: [{type: core, count: nodes x tasksPerNode}]}``.

    The Flux transformer turns it into ``-N <nodes> -n <tasks>`` at every level, so
    a 4-node job asks Flux for 4 nodes even where rainbow was told less.
    """
    return {"type": v.NODE, "count": workload.nodes, "with": [{"type": v.CORE, "count": workload.tasks}]}


def jobspec(workload: Workload, level: Level) -> Jobspec:
    """A workload's nextgen jobspec (version 1) at ``level``, as a dict ready for YAML.

    The slot (named after the workload) has ``replicas`` = the workload's node
    count from the ``counts`` level up (1 before), ``with`` cores per node (one per
    task, ``counts``) and memory in GB per node (``memory``), ``requires`` the items of
    ``requirements``. The task runs the workload's command on ``run`` (``task_shape``).
    """
    facets = level.facets
    slot: Resource = {"type": v.NODE, "replicas": workload.nodes if "counts" in facets else 1}
    with_: list[Resource] = []
    if "counts" in facets:
        with_.append({"type": v.CORE, "count": workload.cores_per_node})
    if "memory" in facets:
        with_.append({"type": v.MEMORY, "count": workload.needs.memory_gb_per_node})
    if with_:
        slot["with"] = with_
    items = requirements(workload, level)
    if items:
        slot["requires"] = items
    return {
        "version": 1,
        "name": f"{workload.name}-{level.name}",
        "resources": {workload.name: slot, RUN: task_shape(workload)},
        "tasks": [{"command": list(workload.command), "resources": RUN}],
    }


def jobspec_yaml(doc: JobspecDoc) -> str:
    """A jobspec as the YAML text ``SubmitJob`` carries, checked to be storable by real rainbow.

    rainbow (main branch, ``pkg/database/jobs.go``) writes the job's YAML into a
    double-quoted SQL string, so a ``"`` anywhere, or non-ASCII text (which YAML
    escapes inside double quotes), makes the submit fail on the server. Raises
    ``LabError`` naming the jobspec and the first offending character.
    """
    text = dump_yaml(doc).decode()
    bad = next((c for c in text if c == '"' or not c.isascii()), None)
    if bad is not None:
        raise LabError(str(doc.get("name", "jobspec")), "", f"its YAML holds {bad!r}, which real rainbow cannot "
                       "store (it builds its SQL from strings); allowed: ASCII text without double quotes")
    return text
