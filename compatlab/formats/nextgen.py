"""The nextgen jobspec (version 1) as compatlab writes it: its shape, as ``TypedDict``s.

``formats.jobspecs`` builds these; a jobspec read from a file is checked by
``formats.validate.check_jobspec`` first and may hold more than this (other keys,
groups, attributes), which readers take from the parsed document as it is.
"""

from __future__ import annotations

from typing import Any, NotRequired, Required, TypedDict


class Requirement(TypedDict, total=False):
    """A ``requires`` item: a subsystem's ``name``, the ``field`` compared, and ``match`` or ``min``/``max``."""

    name: Required[str]
    field: Required[str]
    match: str
    min: str
    max: str


# "with" is a keyword, so the resource is declared the functional way.
Resource = TypedDict("Resource", {
    "type": Required[str],
    "count": int,
    "replicas": int,
    "with": list["Resource"],
    "requires": list[Requirement],
}, total=False)
Resource.__doc__ = "A named resource or one of its ``with`` children: ``type``, ``count``, ``replicas``, ``requires``."


class Task(TypedDict):
    """A task: its argv (``command``) and the name of the resource it runs on (``resources``)."""

    command: list[str]
    resources: str


class Jobspec(TypedDict):
    """A nextgen jobspec: ``version`` 1, a ``name`` (compatlab always writes one), named ``resources``, ``tasks``."""

    version: int
    name: NotRequired[str]
    resources: dict[str, Resource]
    tasks: list[Task]


# A jobspec compatlab built, or one parsed from a file (after ``check_jobspec``, any shape its schema admits).
JobspecDoc = Jobspec | dict[str, Any]
