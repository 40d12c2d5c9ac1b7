"""Checks on jobspecs and registration graphs beyond what their schemas say."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

from jobspec.schema import jobspec_nextgen

from compatlab.errors import LabError, brief, key_path
from compatlab.inputs import check, check_with, compiled, strict_validator, yaml_reading
from compatlab.lab import semver
from compatlab.lab.paths import SCHEMAS


@cache
def _nextgen() -> Any:
    return strict_validator(jobspec_nextgen)


@cache
def _resource_schema() -> dict[str, Any]:
    # The schema checks only resources whose names match its pattern; check every one.
    return {"$ref": "#/definitions/resources", "definitions": jobspec_nextgen["definitions"]}


@cache
def _resource() -> Any:
    return strict_validator(_resource_schema())


def _integer_floats(doc: dict[str, Any]) -> bool:
    """Does a float sit where the nextgen schema asks for an integer (``version``, a resource's ``count``)?"""
    if isinstance(doc.get("version"), float):
        return True
    resources = doc.get("resources")
    stack = list(resources.values()) if isinstance(resources, dict) else []
    while stack:
        resource = stack.pop()
        if isinstance(resource, dict):
            if isinstance(resource.get("count"), float):
                return True
            if isinstance(resource.get("with"), list):
                stack.extend(resource["with"])
    return False


# A resource's name, checked in linear time. The jobspec package's own pattern, ^([a-z]|[|]|&|[0-9]+)+$,
# backtracks exponentially on a long run of digits that does not match, so user names never reach it;
# hyphens, dots and underscores are allowed, as rainbow (a Go map key) and the Flux transformer take them.
RESOURCE_NAME = re.compile(r"[A-Za-z0-9._|&-]{1,128}")


def _schema_view(doc: dict[str, Any]) -> dict[str, Any]:
    """The jobspec with its resource and requires names replaced by plain letters, for the package's schema."""
    view = dict(doc)
    for key in ("resources", "requires"):
        if isinstance(doc.get(key), dict):
            view[key] = {_letters(i): value for i, value in enumerate(doc[key].values())}
    return view


def _real_names(doc: dict[str, Any], path: list[Any]) -> list[Any]:
    if len(path) >= 2 and path[0] in ("resources", "requires") and isinstance(doc.get(path[0]), dict):
        names = list(doc[path[0]])
        letters = [_letters(i) for i in range(len(names))]
        if path[1] in letters:
            return [path[0], names[letters.index(path[1])], *path[2:]]
    return path


def _letters(i: int) -> str:
    out = ""
    while True:
        out = chr(ord("a") + i % 26) + out
        i = i // 26 - 1
        if i < 0:
            return out


def check_requires_item(item: object, source: str | Path, key: str) -> None:
    """Check one ``requires`` item: ``name`` and ``field`` strings, then ``match`` or ``min``/``max`` strings.

    No other key is allowed (a misspelt ``max`` would be dropped). A bound must parse
    as rainbow parses it, ``">= " + min`` / ``"<= " + max`` by Masterminds semver
    v3.2.1 (wildcards, spaces, a comma adding a constraint),
    without ``||`` (rainbow joins an item's tests with ``||`` and splits them again,
    so an alternative in a bound is silently dropped there); a ``min`` above the
    ``max`` can hold for nothing. Raises ``LabError`` naming ``source`` and ``key``
    with what is allowed.
    """
    if type(item) is dict:
        seen = tuple(item.items())
        if seen in _GOOD_ITEMS:  # a corpus repeats its items thousands of times; the verdict is the same
            return
    if not isinstance(item, dict):
        raise LabError(source, key, f"{brief(item)} is not a mapping; allowed: {{name, field, match | min/max}}")
    for name in item:
        if name not in ITEM_KEYS:  # a typo (mxa: for max:) would silently drop a bound: rainbow reads no other key
            raise LabError(source, f"{key}.{key_path([name]) if isinstance(name, str) else brief(name)}",
                           f"is not a key of a requires item; allowed: {', '.join(ITEM_KEYS)}")
    for name in ("name", "field"):
        if name not in item:
            what = "subsystem" if name == "name" else "metadata field"
            raise LabError(source, f"{key}.{name}", f"is missing; allowed: the {what} to test, as text")
        if not isinstance(item[name], str) or not item[name]:
            raise LabError(source, f"{key}.{name}", f"{brief(item[name])} is not allowed; allowed: non-empty text")
    bounds = [b for b in ("min", "max") if b in item]
    if "match" not in item and not bounds:
        raise LabError(source, key, "has neither match nor min/max; allowed: match, or min and/or max")
    if "match" in item and bounds:
        raise LabError(source, key, "has both match and min/max; allowed: one kind of test per item")
    for name in [n for n in ("match", *bounds) if n in item]:
        if not isinstance(item[name], str):
            hint = yaml_reading(item[name])
            raise LabError(source, f"{key}.{name}", f"{brief(item[name])} is not text{hint}; allowed: text such as "
                           "'1.20'")
    for name in bounds:
        check_version_bound(item[name], source, f"{key}.{name}")
    low, high = semver.parse(item.get("min", "").strip()), semver.parse(item.get("max", "").strip())
    if low is not None and high is not None and low.key() > high.key():
        raise LabError(source, key, f"min {brief(item['min'])} is above max {brief(item['max'])}; allowed: a min "
                       "at or below the max")
    if all(type(k) is str and type(v) is str for k, v in seen):  # strings only: equal tuples, equal items
        if len(_GOOD_ITEMS) > 1 << 18:
            _GOOD_ITEMS.clear()
        _GOOD_ITEMS.add(seen)


_GOOD_ITEMS: set[tuple[tuple[object, object], ...]] = set()  # the (key, value) pairs of items that passed
ITEM_KEYS = ("name", "field", "match", "min", "max")  # what rainbow reads of an item (DESIGN.md, "Jobspec")


def check_version_bound(text: str, source: str | Path, key: str) -> None:
    """A ``min``/``max`` rainbow reads as Masterminds does, without ``||``. Raises ``LabError`` naming ``key``."""
    if "||" in text:
        raise LabError(source, key, f"{brief(text)} holds ||, which rainbow splits away; allowed: one "
                       "alternative (a comma adds a constraint that must also hold)")
    why = semver.check_bound(text)
    if why is not None:
        raise LabError(source, key, f"{brief(text)} is not a version bound ({why}); allowed: e.g. 1.20, v1.2.3, "
                       "1.20.x, or 1.20, <1.21")


def _walk(resource: dict[str, Any], key: str) -> Iterator[tuple[dict[str, Any], str]]:
    yield resource, key
    for i, child in enumerate(resource.get("with") or []):
        yield from _walk(child, f"{key}.with[{i}]")


def check_jobspec(doc: object, source: str | Path, *, one_item_per_subsystem: bool = False) -> None:
    """Check a jobspec: the ``jobspec`` package's nextgen schema, then the rules rainbow relies on.

    Every resource name and tree is checked (the schema only checks names matching
    its pattern), ``replicas`` are integers >= 1, tasks name existing resources.
    ``one_item_per_subsystem`` is for jobspecs meant for real rainbow, which keeps
    only the last item of each subsystem. Raises ``LabError`` naming the file and path.
    """
    if not isinstance(doc, dict):
        raise LabError(source, "", f"{brief(doc)} is not a jobspec; allowed: a mapping with version: 1")
    for key in ("resources", "requires"):
        for name in doc.get(key) or {} if isinstance(doc.get(key), dict) else ():
            if not isinstance(name, str) or not RESOURCE_NAME.fullmatch(name):
                raise LabError(source, f"{key}.{key_path([name])}", f"{brief(name)} is not a name; allowed: 1 to 128 "
                               "letters, digits, '.', '_', '-', '|' and '&'")
    view = _schema_view(doc)
    # The compiled validator decides alone when it says valid and no float sits where an integer is asked.
    valid = not _integer_floats(doc) and compiled(jobspec_nextgen).is_valid(view)
    if not valid:
        check_with(_nextgen(), view, source, rename=lambda path: _real_names(doc, path))
    resources = doc.get("resources") or {}
    if not resources:
        raise LabError(source, "resources", "no resources; allowed: a map of named resources with one slot")
    for name, top in resources.items():
        # In the view every resource has a name the schema's pattern takes, so a valid view is every resource
        # checked already; after the slow road, check each again to name it in the error.
        if not valid:
            check_with(_resource(), top, source, prefix=f"resources.{name}")
        for resource, key in _walk(top, f"resources.{name}"):
            replicas = resource.get("replicas", 1)
            if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
                raise LabError(source, f"{key}.replicas", f"{brief(replicas)} is not allowed; allowed: a whole "
                               "number >= 1")
            items = resource.get("requires") or []
            for i, item in enumerate(items):
                if type(item) is not dict or tuple(item.items()) not in _GOOD_ITEMS:  # checked once per corpus
                    check_requires_item(item, source, f"{key}.requires[{i}]")
            if one_item_per_subsystem:
                seen = Counter(item["name"] for item in items)
                for i, item in enumerate(items):
                    if seen[item["name"]] > 1:
                        raise LabError(source, f"{key}.requires[{i}].name",
                                       f"{item['name']!r} appears {seen[item['name']]} times; real rainbow "
                                       "keeps only the last item per subsystem, allowed: one")
    for i, task in enumerate(doc.get("tasks") or []):
        ref = task.get("resources")
        if ref is not None and ref not in resources:
            raise LabError(source, f"tasks[{i}].resources",
                           f"{ref!r} is not a resource; allowed: {', '.join(resources)}")


def _size_floats(doc: Any) -> bool:  # any parsed document: its shape is tried, not trusted
    """Could a float sit where the JGF schema asks for an integer (a vertex's ``size``)? True when unsure."""
    try:
        return any(isinstance(v["metadata"].get("size"), float) for v in doc["graph"]["nodes"].values())
    except (TypeError, KeyError, AttributeError):
        return True  # not the shape the schema wants: the full validator words why


JGF_SCHEMA = SCHEMAS / "jgf.schema.json"  # one path object: a cluster has hundreds of graphs, each a cache lookup


def check_graph(doc: object, source: str | Path, *, dominant: bool) -> None:
    """Check a registration graph: ``schemas/jgf.schema.json``, then rainbow's rules.

    A dominant graph (``nodes.json``, ``dominant=True``) needs the cluster vertex
    ``"0"`` where rainbow starts its search, and both ends of each ``contains`` edge in
    the graph; a subsystem graph needs the targets of its ``contains`` edges. Raises
    ``LabError`` naming the file and edge.
    """
    check(doc, JGF_SCHEMA, source, floats=_size_floats(doc))
    graph: dict[str, Any] = cast(dict[str, Any], doc)["graph"]  # the schema passed it: a JGF document
    vertices = graph["nodes"]
    if dominant and "0" not in vertices:
        raise LabError(source, "graph.nodes", 'has no vertex "0"; allowed: a graph holding the cluster vertex "0", '
                       "where rainbow starts its search")
    if not dominant:
        _check_feature_fields(vertices, source)
    seen: dict[tuple[str, str], int] = {}
    for i, edge in enumerate(graph["edges"]):
        if edge.get("relation") != "contains":
            continue  # rainbow follows only contains edges (no relation is none); "in" edges may point anywhere
        pair = (edge["source"], edge["target"])
        if pair in seen:
            # Counted twice by a reader that sums children, kept once by one that does not: refuse the doubt.
            raise LabError(source, f"graph.edges[{i}]", f"repeats graph.edges[{seen[pair]}] ({brief(pair[0])} "
                           f"contains {brief(pair[1])}); allowed: each contains edge once")
        seen[pair] = i
        # A subsystem's edges start at dominant-graph vertices, which live in nodes.json.
        ends = ("source", "target") if dominant else ("target",)
        for end in ends:
            if edge[end] not in vertices:
                raise LabError(source, f"graph.edges[{i}].{end}", f"{brief(edge[end])} is not a vertex of this graph; "
                               "allowed: an id under graph.nodes")


# Fluxion's JGF vertex fields (flux-sched resource/readers/resource_reader_jgf.cpp): numbers and
# structures by design. Any other metadata field of a subsystem vertex is a feature rainbow compares.
JGF_FIELDS = frozenset({"type", "basename", "name", "id", "uniq_id", "rank", "exclusive", "unit", "size", "paths",
                        "properties", "status"})


def _check_feature_fields(vertices: dict[str, Any], source: str | Path) -> None:
    """Refuse a subsystem vertex whose feature field is not text: rainbow reads every one as a string
    (jsongraph-go ``Metadata.GetStringElement``) and its server panics on a number."""
    for vid, vertex in vertices.items():
        for field, value in (vertex.get("metadata") or {}).items():
            if field not in JGF_FIELDS and not isinstance(value, str):
                where = key_path(["graph", "nodes", vid, "metadata", field])
                raise LabError(source, where, f"{brief(value)} is not text; allowed: text (quote it: rainbow reads "
                               "feature fields as strings and its server panics on anything else)")
