"""Load a stack file into a Lab: schema first, then the rules a schema cannot say."""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict, cast

from compatlab.errors import LabError, brief, key_path
from compatlab.inputs import check, load_yaml

from . import catalogue
from .capacity import allocatable_cores, allocatable_memory_gb
from .levels import LEVEL_NAMES, level
from .model import Lab, MiniCluster, Pool
from .paths import JOBSPECS, SCHEMAS, STACKS, stack_file
from .workloads import available, load_workload

NAMESPACE = "compatlab"
DEFAULT_IMAGES = "ghcr.io/converged-computing/compatlab"
# Pulumi secrets for rainbow (`pulumi config set --secret`): read by the Pulumi program only.
CREDENTIAL_KEYS = ("rainbowSecret", "rainbowToken")
# The config namespaces a lab's stack file may hold: ours, and the providers the program uses.
NAMESPACES = (NAMESPACE, "gcp", "kubernetes", "random", "tls", "pulumi")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ZONE = re.compile(r"[a-z]+-[a-z]+[0-9]+-[a-z]")


# The compatlab: config as read, once schemas/lab.schema.json has passed it (keys as the stack file spells them).
class PoolConfig(TypedDict):
    """``compatlab:pools[i]``: a node pool as the stack file gives it."""

    name: str
    arch: str
    machineType: str
    nodeCount: int
    diskSizeGb: NotRequired[int]
    diskType: NotRequired[str]
    spot: NotRequired[bool]


class MiniClusterConfig(TypedDict):
    """``compatlab:miniclusters[i]``: a MiniCluster as the stack file gives it."""

    name: str
    pool: str
    arch: str
    base: str
    size: int
    coresPerNode: NotRequired[int]
    memoryGb: NotRequired[int]
    diskGb: NotRequired[int]
    goVersion: NotRequired[str]


class RainbowConfig(TypedDict):
    """``compatlab:rainbow``: the host its Ingress answers on and the CIDR ranges allowed to call it."""

    host: NotRequired[str]
    sourceRanges: list[str]


class BudgetConfig(TypedDict):
    """``compatlab:budget``: at most ``maxHourlyUsd`` USD per hour."""

    maxHourlyUsd: NotRequired[float]


class LabConfig(TypedDict):
    """The ``compatlab:`` keys of a stack file, without their namespace, as ``lab.schema.json`` admits them."""

    expiry: str
    pools: list[PoolConfig]
    miniclusters: list[MiniClusterConfig]
    rainbow: RainbowConfig
    imageRepository: NotRequired[str]
    workloads: NotRequired[list[str]]
    levels: NotRequired[list[str]]
    deletionProtection: NotRequired[bool]
    budget: NotRequired[BudgetConfig]


def stack_config(path: Path) -> dict[str, Any]:
    """The ``compatlab:`` keys of a Pulumi stack file, without their namespace, plus ``gcp:zone`` as ``zone``.

    The credential keys (``rainbowSecret``, ``rainbowToken``) are left out: only the
    Pulumi program reads them, as secrets. Raises ``LabError`` if the file does not
    read, parse, hold a ``config:`` mapping, or holds a key outside the known
    namespaces (a misspelt ``compatlib:pools`` would otherwise be silently ignored).
    """
    doc = load_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise LabError(path, "config", "is missing or not a mapping; allowed: a Pulumi stack file, a mapping with "
                       "config: holding the compatlab: keys")
    config: dict[str, Any] = {}
    for key, value in doc["config"].items():
        namespace, _, name = str(key).partition(":")
        if not isinstance(key, str) or not name or namespace not in NAMESPACES:
            near = difflib.get_close_matches(namespace, NAMESPACES, n=1)
            hint = f" (did you mean {near[0]}:{name}?)" if near and name else ""
            shown = key_path([key]) if isinstance(key, str) else brief(key)
            raise LabError(path, f"config.{shown}", f"is not a config key this lab knows{hint}; allowed: "
                           f"<namespace>:<key> with a namespace of {', '.join(NAMESPACES)}")
        if namespace == NAMESPACE and name not in CREDENTIAL_KEYS:
            config[name] = value
        elif key == "gcp:zone":
            config["@zone"] = value
    return config


def lab_config_keys() -> tuple[str, ...]:
    """The keys a stack may set under ``compatlab:`` (the properties of ``schemas/lab.schema.json``)."""
    schema = json.loads((SCHEMAS / "lab.schema.json").read_text())
    return tuple(schema["properties"])


def load_lab(stack: str | Path, jobspecs: Path = JOBSPECS) -> Lab:
    """Load a stack into a ``Lab``: a name is looked up in ``stacks/``, a path (with a ``/`` or a ``.yaml``) is read.

    Raises ``LabError`` naming the file, the key and what is allowed for an unknown
    stack or any bad value (schema first, then the rules a schema cannot say).
    """
    path = stack_file(str(stack))
    known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in STACKS.glob("Pulumi.*.yaml"))
    if not path.exists() and path.parent == STACKS:
        raise LabError(f"stacks/Pulumi.{brief(str(stack))[1:-1]}.yaml", "", f"no such stack {brief(str(stack))}; "
                       f"allowed: {', '.join(known)}, or a stack file's path")
    if path.is_dir() or not (path.exists() or path.is_symlink()):
        raise LabError(path, "", f"{'is a directory' if path.is_dir() else 'does not exist'}; allowed: a stack "
                       f"name ({', '.join(known)}) or the path of a Pulumi.<stack>.yaml file")
    config = stack_config(path)
    given = "@zone" in config
    zone = config.pop("@zone", None)
    if given and not isinstance(zone, str):  # null too: a zone key left empty would silently price nowhere
        raise LabError(path, "gcp:zone", f"{brief(zone)} is not text; allowed: a GCP zone such as us-central1-a")
    return lab_from_config(config, path, jobspecs, zone=zone)


def lab_from_config(config: dict[str, Any], path: Path, jobspecs: Path = JOBSPECS, zone: str | None = None) -> Lab:
    """Build a ``Lab`` from the namespace-less config (as Pulumi's ``Config`` gives it).

    ``path`` is the stack file the errors name; ``jobspecs`` the workload directory.
    Checks the lab schema, pools (machine arch, the on-demand system pool), MiniClusters
    (pool, arch, base, Go version), node capacity (GKE allocatable cores and memory),
    workloads and levels, and, given the zone (``gcp:zone``), that its region has
    prices and every Arm pool's machine. Raises ``LabError`` on the first problem.
    """
    _single_lines(config, path)
    check(config, SCHEMAS / "lab.schema.json", path, prefix=f"{NAMESPACE}:")
    return _lab(cast(LabConfig, config), path, jobspecs, zone)  # the schema passed it: it has this shape


def _lab(config: LabConfig, path: Path, jobspecs: Path, zone: str | None) -> Lab:
    try:
        datetime.date.fromisoformat(config["expiry"])
    except ValueError:
        raise LabError(path, f"{NAMESPACE}:expiry", f"{brief(config['expiry'])} is not a date; allowed: a real "
                       "date, YYYY-MM-DD") from None
    pools = _pools(config["pools"], path)
    miniclusters = _miniclusters(config["miniclusters"], pools, path)
    _check_capacity(pools, miniclusters, path)
    found = available(jobspecs)
    names = _chosen(config, "workloads", list(found), path, f"has no file in {jobspecs}")
    levels = _chosen(config, "levels", list(LEVEL_NAMES), path, "is not a level")
    rainbow = config["rainbow"]
    for i, cidr in enumerate(rainbow["sourceRanges"]):
        try:
            ipaddress.ip_network(cidr)
        except ValueError:
            raise LabError(path, f"{NAMESPACE}:rainbow.sourceRanges[{i}]",
                           f"{cidr!r} is not a CIDR range; allowed: e.g. 203.0.113.7/32") from None
    return Lab(
        stack=path.name.removeprefix("Pulumi.").rsplit(".", 1)[0],
        source=path,
        expiry=config["expiry"],
        image_repository=config.get("imageRepository", DEFAULT_IMAGES),
        pools=tuple(pools.values()),
        miniclusters=miniclusters,
        workloads=tuple(load_workload(found[name]) for name in names),
        levels=tuple(level(name) for name in sorted(levels, key=LEVEL_NAMES.index)),
        deletion_protection=config.get("deletionProtection", False),
        max_hourly_usd=(config.get("budget") or {}).get("maxHourlyUsd"),
        rainbow_host=rainbow.get("host"),
        rainbow_source_ranges=tuple(rainbow.get("sourceRanges", ())),
        zone=_zone(zone, pools, path),
    )


def _single_lines(config: Any, path: Path) -> None:
    """Every key and string of the config is one line of printable text (a trailing newline hides in a name)."""
    stack: list[tuple[Any, list[Any]]] = [(config, [])]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(key, str):
                    raise LabError(path, key_path([f"{NAMESPACE}:", *where], ""), f"has a key {brief(key)} that is "
                                   "not text (YAML read a number or date); allowed: quoted keys")
                stack.append((child, [*where, key]))
        elif isinstance(value, list):
            stack.extend((child, [*where, i]) for i, child in enumerate(value))
        elif isinstance(value, str) and CONTROL.search(value):
            raise LabError(path, key_path(where, f"{NAMESPACE}:"), f"{brief(value)} holds a control character (a "
                           "newline?); allowed: one line of printable text")


def _zone(zone: str | None, pools: dict[str, Pool], path: Path) -> str | None:
    """Check ``gcp:zone`` against the price table's region and the zones that have each Arm pool's machine."""
    if zone is None:
        return None
    if not ZONE.fullmatch(zone):
        raise LabError(path, "gcp:zone", f"{brief(zone)} is not a GCP zone; allowed: e.g. us-central1-a")
    region = zone.rsplit("-", 1)[0]
    priced = catalogue.prices()["region"]
    if region != priced:
        raise LabError(path, "gcp:zone", f"{zone} is in {region}, but compatlab/data/prices.yaml prices "
                       f"{priced} only; allowed: a {priced} zone, or a price table for {region}")
    for pool in pools.values():
        where = catalogue.zones().get(pool.machine.name.split("-")[0])
        if where is not None and zone not in where:
            raise LabError(path, "gcp:zone", f"{zone} has no {pool.machine.name} machines for pool {pool.name}; "
                           f"allowed: {', '.join(where)}")
    return zone


def _unique(names: list[str], path: Path, key: str) -> None:
    counts = Counter(names)
    for i, name in enumerate(names):
        if counts[name] > 1:
            raise LabError(path, f"{NAMESPACE}:{key}[{i}]", f"{brief(name)} is listed twice; allowed: each name once")


def _chosen(config: LabConfig, key: Literal["workloads", "levels"], allowed: list[str], path: Path,
            problem: str) -> list[str]:
    """An optional list of names from ``allowed`` (all of them by default), each once."""
    names = config.get(key) or allowed
    _unique(names, path, key)
    for i, name in enumerate(names):
        if name not in allowed:
            raise LabError(path, f"{NAMESPACE}:{key}[{i}]", f"{name!r} {problem}; allowed: {', '.join(allowed)}")
    return names


def _pools(raw: list[PoolConfig], path: Path) -> dict[str, Pool]:
    _unique([p["name"] for p in raw], path, "pools")
    machines = catalogue.machines()
    pools: dict[str, Pool] = {}
    for i, p in enumerate(raw):
        key = f"{NAMESPACE}:pools[{i}]"
        machine = machines.get(p["machineType"])
        if machine is None:
            raise LabError(path, f"{key}.machineType",
                           f"{p['machineType']!r} is not a known machine type; allowed: {', '.join(machines)}")
        if machine.arch != p["arch"]:
            fitting = [m for m, spec in machines.items() if spec.arch == p["arch"]]
            raise LabError(path, f"{key}.machineType",
                           f"{machine.name!r} is an {machine.arch} machine but the pool's arch is "
                           f"{p['arch']}; allowed: {', '.join(fitting)}")
        disk_type = p.get("diskType", "hyperdisk-balanced" if machine.name.startswith("c4a") else "pd-standard")
        if machine.name.startswith("c4a") and not disk_type.startswith("hyperdisk"):
            raise LabError(path, f"{key}.diskType",
                           f"{disk_type!r} does not work on C4A machines; allowed: hyperdisk-balanced")
        pools[p["name"]] = Pool(
            name=p["name"], arch=p["arch"], machine=machine, node_count=p["nodeCount"],
            disk_size_gb=p.get("diskSizeGb", 50), disk_type=disk_type, spot=p.get("spot", True),
        )
    system = next((i for i, p in enumerate(raw) if p["arch"] == "amd64"), None)
    if system is None:
        # System pods and the Flux Operator controller (amd64-only image) need one.
        raise LabError(path, f"{NAMESPACE}:pools", "needs at least one amd64 pool for system pods and the operator")
    if pools[raw[system]["name"]].spot:
        # rainbow keeps its registrations in memory: a preempted node would lose them all.
        raise LabError(path, f"{NAMESPACE}:pools[{system}].spot",
                       f"the first amd64 pool ({raw[system]['name']}) runs rainbow and the operator and "
                       "must not be spot; allowed: false")
    return pools


def _miniclusters(raw: list[MiniClusterConfig], pools: dict[str, Pool], path: Path) -> tuple[MiniCluster, ...]:
    _unique([m["name"] for m in raw], path, "miniclusters")
    bases, go_versions = catalogue.bases(), catalogue.go_versions()
    out = []
    for i, m in enumerate(raw):
        key = f"{NAMESPACE}:miniclusters[{i}]"
        pool = pools.get(m["pool"])
        if pool is None:
            raise LabError(path, f"{key}.pool", f"{m['pool']!r} is not a pool; allowed: {', '.join(pools)}")
        if pool.arch != m["arch"]:
            same = [p.name for p in pools.values() if p.arch == m["arch"]] or ["(none: add one)"]
            raise LabError(path, f"{key}.pool",
                           f"{m['pool']!r} is an {pool.arch} pool but the minicluster is {m['arch']}; "
                           f"allowed: {', '.join(same)}")
        base = bases.get(m["base"])
        if base is None:
            raise LabError(path, f"{key}.base", f"{m['base']!r} is not a base; allowed: {', '.join(bases)}")
        if m["arch"] not in base.arches:
            raise LabError(path, f"{key}.arch",
                           f"base {base.name} has no {m['arch']} image; allowed: {', '.join(base.arches)}")
        go = m.get("goVersion", go_versions[-1])
        if go not in go_versions:
            raise LabError(path, f"{key}.goVersion", f"{go!r} is not built; allowed: {', '.join(go_versions)}")
        out.append(MiniCluster(
            name=m["name"], base=base, arch=m["arch"], pool=pool.name, size=m["size"],
            cores_per_node=m.get("coresPerNode", 1), memory_gb=m.get("memoryGb", 2),
            disk_gb=m.get("diskGb", 8), go_version=go,
        ))
    return tuple(out)


def _check_capacity(pools: dict[str, Pool], miniclusters: tuple[MiniCluster, ...], path: Path) -> None:
    """Every MiniCluster pod must fit a node, and each pool must hold all its pods."""
    for pool in pools.values():
        cores, memory = allocatable_cores(pool.machine), allocatable_memory_gb(pool.machine)
        need_cores = need_memory = 0.0
        for i, mc in enumerate(miniclusters):
            if mc.pool != pool.name:
                continue
            key = f"{NAMESPACE}:miniclusters[{i}]"
            if mc.cores_per_node > math.floor(cores):
                raise LabError(path, f"{key}.coresPerNode",
                               f"{mc.cores_per_node} does not fit a {pool.machine.name} node; "
                               f"allowed: <= {math.floor(cores)}")
            if mc.memory_gb > memory:
                raise LabError(path, f"{key}.memoryGb",
                               f"{mc.memory_gb} does not fit a {pool.machine.name} node; "
                               f"allowed: <= {memory:.1f}")
            need_cores += mc.size * mc.cores_per_node
            need_memory += mc.size * mc.memory_gb
            if need_cores > cores * pool.node_count or need_memory > memory * pool.node_count:
                raise LabError(path, f"{key}.size",
                               f"pool {pool.name} ({pool.node_count} x {pool.machine.name}: "
                               f"{cores * pool.node_count:.1f} cores, {memory * pool.node_count:.1f} GB "
                               f"allocatable) cannot hold its miniclusters ({need_cores:g} cores, "
                               f"{need_memory:g} GB so far); allowed: a smaller size or a bigger pool")
