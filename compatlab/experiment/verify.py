"""Is the metadata true? Probe one pod of each MiniCluster and compare with what it is registered as.

If a cluster's registration says arm64 and its pods run amd64, or 2 GB where the
cgroup allows 1, every conclusion about matching is wrong. The probe is a short
POSIX shell script run in the lead broker's app container: ``uname -m``,
``/etc/os-release``, ``go version``, the cgroup's CPU quota and memory limit
(cgroup v2 ``cpu.max``/``memory.max``, else v1), free space on the work
directory, and whether each package's command is on PATH. The pod's
ephemeral-storage limit comes from its spec (the Kubernetes API). The claims
come from the very graphs ``generate`` writes for the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypedDict, cast

from compatlab.errors import LabError
from compatlab.files import dump_json, write_file
from compatlab.formats import vocabulary as v
from compatlab.formats.graphs import nodes_graph, subsystem_graphs
from compatlab.inputs import load_json
from compatlab.kube.access import KubeAccess
from compatlab.kube.minicluster import container_name
from compatlab.lab.catalogue import commands
from compatlab.lab.model import MiniCluster

PROBE_FILE = "probe.json"
ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}  # uname -m -> Go/Kubernetes arch
# The container's own cgroup, wherever it is mounted: a privileged container (the Rocky bases, for
# singularity) gets no cgroup namespace from containerd, so /sys/fs/cgroup there is the node's root and
# the container's limits live under the path /proc/self/cgroup names.
PROBE = r"""
workdir=$1; shift
echo "arch=$(uname -m)"
if [ -r /etc/os-release ]; then . /etc/os-release; echo "os_id=$ID"; echo "os_version=$VERSION_ID"; fi
echo "go=$(go version 2>/dev/null | awk '{print $3}')"
v2=$(sed -n 's/^0:://p' /proc/self/cgroup 2>/dev/null)
if [ -r "/sys/fs/cgroup$v2/cpu.max" ]; then
  echo "cpu_max=$(cat "/sys/fs/cgroup$v2/cpu.max")"; echo "memory_max=$(cat "/sys/fs/cgroup$v2/memory.max")"
else
  cpu=$(sed -n 's/^[0-9]*:[^:]*cpu[,:][^:]*:\(.*\)/\1/p;s/^[0-9]*:cpu:\(.*\)/\1/p' /proc/self/cgroup | head -1)
  mem=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' /proc/self/cgroup | head -1)
  for d in "/sys/fs/cgroup/cpu,cpuacct$cpu" "/sys/fs/cgroup/cpu$cpu" /sys/fs/cgroup/cpu; do
    if [ -r "$d/cpu.cfs_quota_us" ]; then
      echo "cpu_max=$(cat "$d/cpu.cfs_quota_us") $(cat "$d/cpu.cfs_period_us")"; break; fi; done
  for d in "/sys/fs/cgroup/memory$mem" /sys/fs/cgroup/memory; do
    if [ -r "$d/memory.limit_in_bytes" ]; then echo "memory_max=$(cat "$d/memory.limit_in_bytes")"; break; fi; done
fi
echo "disk_free_kb=$(df -Pk "$workdir" 2>/dev/null | awk 'NR==2 {print $4}')"
if [ -r /mnt/flux/flux-view.sh ]; then
  . /mnt/flux/flux-view.sh >/dev/null 2>&1
  echo "flux_resources=$(flux proxy "$fluxsocket" flux resource info 2>/dev/null)"
fi
echo "receiver=$(compatlab --version 2>&1 | head -1)"
for c in "$@"; do if command -v "$c" >/dev/null 2>&1; then echo "has_$c=yes"; else echo "has_$c=no"; fi; done
"""
WORKDIR = "/tmp"  # where jobs write by default


@dataclass(frozen=True)
class Difference:
    """One field where the pod disagrees with the registration: what is ``claimed`` and what was ``observed``."""

    field: str
    claimed: str
    observed: str


def claims(mc: MiniCluster) -> dict[str, str]:
    """What the cluster is registered as, read from its generated graphs: field -> value (strings).

    ``arch``, ``os`` (``<vendor>-<release>``), ``cores_per_node``, ``memory_gb``,
    ``disk_gb`` and ``software.<package>`` (version) for each software subsystem.
    """
    found: dict[str, str] = {}
    for subsystem, graph in subsystem_graphs(mc).items():
        for vertex in graph["graph"]["nodes"].values():
            meta: Mapping[str, object] = vertex["metadata"]  # the feature fields are its further keys (strings)
            if subsystem == v.ARCH[0] and v.ARCH[1] in meta:
                found["arch"] = str(meta[v.ARCH[1]])
            elif subsystem == v.OS[0] and v.OS[1] in meta:
                found["os"] = str(meta[v.OS[1]])
            elif subsystem == v.STORAGE[0] and v.STORAGE[1] in meta:
                found["disk_gb"] = str(meta[v.STORAGE[1]])
            elif subsystem.startswith("software-") and "version" in meta:
                found[f"software.{subsystem.removeprefix('software-')}"] = str(meta["version"])
    nodes = nodes_graph(mc)["graph"]
    vertices, edges = nodes["nodes"], nodes["edges"]
    node = next(vid for vid, x in vertices.items() if x["metadata"]["type"] == v.NODE)
    children = [vertices[e["target"]]["metadata"] for e in edges if e["source"] == node]
    found["cores_per_node"] = str(sum(1 for c in children if c["type"] == v.CORE))
    found["memory_gb"] = str(next(c["size"] for c in children if c["type"] == v.MEMORY))
    return found


def parse_probe(text: str) -> dict[str, str]:
    """The probe's ``key=value`` lines as a dict (later lines win)."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _cores(cpu_max: str) -> str:
    quota, _, period = cpu_max.partition(" ")
    if quota == "max" or not period:
        return "unlimited"
    try:
        return f"{int(quota) / int(period):g}"
    except ValueError:
        return cpu_max


def _gb(value: str) -> str:
    try:
        return f"{int(value) / 1e9:g}"  # decimal GB, as the limits are written (2G = 2e9 bytes)
    except ValueError:
        return value or "unknown"


def observations(probe: dict[str, str], ephemeral_limit: str | None) -> dict[str, str]:
    """What the pod shows, in the claims' words and units (GB decimal, cores)."""
    from kubernetes.utils.quantity import parse_quantity

    seen = {"arch": ARCH.get(probe.get("arch", ""), probe.get("arch", "") or "unknown"),
            "os": f"{probe.get('os_id', '')}-{probe.get('os_version', '')}",
            "cores_per_node": _cores(probe.get("cpu_max", "")),
            "memory_gb": _gb(probe.get("memory_max", "")),
            "disk_free_gb": _gb(str(int(probe["disk_free_kb"]) * 1024) if probe.get("disk_free_kb", "").isdigit()
                                else ""),
            "go": probe.get("go", "").removeprefix("go") or "none"}
    seen["disk_gb"] = f"{float(parse_quantity(ephemeral_limit)) / 1e9:g}" if ephemeral_limit else "unlimited"
    # Flux schedules on what it sees, the node's cores, not the cgroup's quota: say what it sees per broker.
    counts = re.findall(r"([0-9]+) (Nodes|Cores)", probe.get("flux_resources", ""))
    found = {kind: int(n) for n, kind in counts}
    if found.get("Nodes") and "Cores" in found:
        seen["flux_cores_per_node"] = f"{found['Cores'] / found['Nodes']:g}"
    seen["receiver"] = probe.get("receiver", "") or "missing"
    for key, value in probe.items():
        if key.startswith("has_"):
            seen[key] = value
    return seen


def compare(claimed: dict[str, str], seen: dict[str, str]) -> list[Difference]:
    """Every claim the pod contradicts. A Rocky ``VERSION_ID`` of 9.3 satisfies a release of 9."""
    differences = []
    for field, value in sorted(claimed.items()):
        if field == "os":
            ok = seen["os"] == value or seen["os"].startswith(f"{value}.")
            observed = seen["os"]
        elif field.startswith("software."):
            package = field.removeprefix("software.")
            if package == "go":
                ok, observed = seen["go"] == value, seen["go"]
            else:
                command = commands().get(package, package)
                observed = f"{command} {'found' if seen.get(f'has_{command}') == 'yes' else 'not found'}"
                ok = seen.get(f"has_{command}") == "yes"
        elif field in ("cores_per_node", "memory_gb", "disk_gb"):
            observed = seen[field]
            try:
                ok = abs(float(observed) - float(value)) <= 0.01 * float(value)
            except ValueError:
                ok = False
        else:
            observed = seen.get(field, "unknown")
            ok = observed == value
        if not ok:
            differences.append(Difference(field, value, observed))
    flux_cores = seen.get("flux_cores_per_node")
    if flux_cores is not None and claimed.get("cores_per_node") and flux_cores != claimed["cores_per_node"]:
        differences.append(Difference("flux_cores_per_node", claimed["cores_per_node"], flux_cores))
    if not seen.get("receiver", "").startswith("compatlab "):
        differences.append(Difference("receiver", "compatlab installed", seen.get("receiver", "missing")[:120]))
    free, disk = seen.get("disk_free_gb", ""), claimed.get("disk_gb", "")
    try:
        if float(free) < float(disk):
            differences.append(Difference("disk_free_gb", f">= {disk}", free))
    except ValueError:
        differences.append(Difference("disk_free_gb", f">= {disk}", free or "unknown"))
    return differences


@dataclass(frozen=True)
class Verdict:
    """One MiniCluster's probe: the pod probed, what it showed, and where it differs from its registration."""

    cluster: str
    pod: str
    observed: dict[str, str]
    differences: tuple[Difference, ...]

    @property
    def agrees(self) -> bool:
        """True when the pod contradicts no claim."""
        return not self.differences


def verify(kube: KubeAccess, mc: MiniCluster) -> Verdict:
    """Probe ``mc``'s lead broker through ``kube`` (a ``KubeAccess``) and compare.

    A MiniCluster that cannot be probed (not running, the API refusing) is a
    verdict with one difference, ``reachable``: one cluster down does not stop
    the others being verified.
    """
    try:
        pod = kube.lead_pod(mc.name)
        wanted = sorted({commands().get(p, p) for p in mc.software})
        code, out, err = kube.exec(pod.name, container_name(mc.name), ["sh", "-c", PROBE, "probe", WORKDIR, *wanted])
    except LabError as problem:
        return Verdict(mc.name, "-", {}, (Difference("reachable", "a running lead broker", str(problem)[:200]),))
    seen = observations(parse_probe(out), pod.limits.get("ephemeral-storage"))
    differences = compare(claims(mc), seen)
    if code != 0:
        differences.append(Difference("probe", "exit 0", f"exit {code}: {' '.join(err.split())[:200]}"))
    return Verdict(mc.name, pod.name, seen, tuple(differences))


class DifferenceJson(TypedDict):
    """A ``Difference`` as JSON: the field, what the registration claims, what the pod showed (strings)."""

    field: str
    claimed: str
    observed: str


class ProbeEntry(TypedDict):
    """One cluster in ``probe.json``: the pod probed, what it showed (field -> value), and the differences."""

    pod: str
    observed: dict[str, str]
    agrees: bool
    differences: list[DifferenceJson]


MAX_PROBE_BYTES = 4 << 20  # a cluster's entry is under 2 KB: thousands of clusters fit


def _is_entry(entry: object) -> bool:
    """Is ``entry`` a ``ProbeEntry``: every key there with its type, text where text is due, and
    differences exactly when the pod disagrees?"""
    if not isinstance(entry, dict) or not {"pod", "observed", "agrees", "differences"} <= entry.keys():
        return False
    observed, differences = entry["observed"], entry["differences"]
    return (isinstance(entry["pod"], str) and isinstance(observed, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in observed.items())
            and isinstance(differences, list) and entry["agrees"] is (not differences)
            and all(isinstance(d, dict) and d.keys() == {"field", "claimed", "observed"}
                    and all(isinstance(x, str) for x in d.values()) for d in differences))


def _probe_doc(path: Path) -> dict[str, ProbeEntry]:
    """``probe.json`` as written by ``save_verdicts``, ``{}`` when there is none; ``LabError`` naming it otherwise
    (a dangling link included: something was meant to be there)."""
    if not path.exists() and not path.is_symlink():
        return {}
    allowed = "the probe.json compatlab verify writes (remove it and verify again)"
    doc = load_json(path, limit=MAX_PROBE_BYTES, what=allowed)
    for name, entry in doc.items() if isinstance(doc, dict) else [("", doc)]:
        if not _is_entry(entry):
            raise LabError(path, name, f"is not a cluster's probe; allowed: {allowed}")
    return cast(dict[str, ProbeEntry], doc)


def save_verdicts(state_dir: Path, verdicts: list[Verdict]) -> Path:
    """Write ``<state_dir>/probe.json`` whole: cluster -> ``ProbeEntry``, over the clusters probed before.

    Raises ``LabError`` when the existing file is not one ``save_verdicts`` wrote.
    """
    doc = {v.cluster: ProbeEntry(pod=v.pod, observed=v.observed, agrees=v.agrees,
                                 differences=[cast(DifferenceJson, asdict(d)) for d in v.differences])
           for v in verdicts}
    path = state_dir / PROBE_FILE
    write_file(path, dump_json({**_probe_doc(path), **doc}))
    return path


def disagreeing(state_dir: Path) -> dict[str, list[DifferenceJson]]:
    """Clusters whose last probe (``probe.json``) disagreed with their metadata: cluster -> differences.

    Raises ``LabError`` naming ``probe.json`` when it is not one ``save_verdicts`` wrote.
    """
    return {name: entry["differences"] for name, entry in _probe_doc(state_dir / PROBE_FILE).items()
            if not entry["agrees"]}
