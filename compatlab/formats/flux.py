"""The Flux command a jobspec becomes: what the receiver will run, known before anything is submitted.

The jobspec library's own Flux transformer (``jobspec`` 0.1.15, the version the lab
installs in every lead broker) writes it, so what ``compatlab generate`` shows a
reviewer is what the ``flux`` executor later runs, bar the three changes that
executor makes (see ``EXECUTOR_CHANGES``).
"""

from __future__ import annotations

import copy
import shlex
from functools import cache
from typing import Any

from .nextgen import JobspecDoc

# What compatlab.experiment.flux.FluxExecutor adds to the transformer's line, and why.
EXECUTOR_CHANGES = (
    "--job-name <rainbow's job name> (the transformer names every job task-0)",
    "--env=PYTHONPATH=... --env=LD_LIBRARY_PATH=... without the receiver's /mnt/flux entries (the image's stay)",
    "--requires=-rank:0 for a one-node job on a bigger MiniCluster (an eviction or out-of-memory kill then spares "
    "the lead broker and its receiver); --requires=rank:0-<N-1> for a smaller job of N nodes (its first task on "
    "the lead broker's pod, <minicluster>-0)",
)


# The jobspec package's name pattern backtracks exponentially on a long run of digits that then fails
# ("000...0-x" takes seconds at 22 characters, doubling with each one). It admits exactly the non-empty
# strings of these characters, so the library's schema is used with this linear pattern in its place.
BACKTRACKING_NAME = "^([a-z]|[|]|&|[0-9]+)+$"
LINEAR_NAME = "^[a-z|&0-9]+$"


@cache
def _linear_schema() -> dict[str, Any]:
    """The jobspec package's nextgen schema with ``LINEAR_NAME`` for ``BACKTRACKING_NAME`` wherever it is a key."""
    from jobspec.schema import jobspec_nextgen

    def swap(node: Any) -> Any:
        if isinstance(node, dict):
            return {(LINEAR_NAME if k == BACKTRACKING_NAME else k): swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    schema: dict[str, Any] = swap(copy.deepcopy(jobspec_nextgen))
    return schema


def flux_commands(jobspec: JobspecDoc) -> list[list[str]]:
    """The ``flux submit`` argv of each task (a list of lists of str), as the transformer writes them.

    The library validates as it always does (its schema, a command or steps per task),
    with its name pattern swapped for the linear one, so a received jobspec with a
    long resource name cannot hang the receiver. Raises ``ValueError`` for a jobspec
    the library refuses, or that has groups (``flux batch`` needs a running Flux just
    to be written).
    """
    import jobspec.core as js
    from jobspec.transformer.flux.workload import FluxWorkload

    try:
        spec = js.Jobspec(jobspec, validate=False)
        spec.schema = _linear_schema()
        spec.validate()
        steps = FluxWorkload().parse(spec)
    except Exception as err:  # the library raises bare exceptions of several kinds
        raise ValueError(f"the jobspec library cannot read it: {err}") from None
    commands = []
    for step in steps:
        if step.name != "submit":
            raise ValueError(f"a {step.name} step (groups) is not supported; allowed: tasks")
        commands.append([str(part) for part in step.generate_command()])
    return commands


def option(argv: list[str], flag: str) -> str | None:
    """The value after ``flag`` in an argv (``-N`` -> ``"4"``), or None when it is absent."""
    return argv[argv.index(flag) + 1] if flag in argv[:-1] else None


def flux_text(jobspec: JobspecDoc) -> str:
    """The ``.flux.txt`` beside a generated jobspec: the transformer's line, shell-quoted, and the executor's changes.

    Raises ``ValueError`` as ``flux_commands``.
    """
    lines = ["# The jobspec library's Flux transformer (jobspec 0.1.15) turns this jobspec into:"]
    lines += [shlex.join(argv) for argv in flux_commands(jobspec)]
    lines += ["# compatlab's flux executor then adds:"] + [f"#   {change}" for change in EXECUTOR_CHANGES]
    return "\n".join(lines) + "\n"
