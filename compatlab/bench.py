"""``make bench``: ``compatlab replay`` end to end, from files, on a corpus shaped like rainbow's reliabuild.

rainbow-experiments' ``simulation-reliabuild``: 100 clusters with about 220 package
subsystems each, some 10,000 build specs with a version range per dependency. The
corpus is written once (not timed); then the replay is timed as a user runs it, from
the files on disk to the written results, and a sample of its answers is re-checked
one pair at a time against the reference matcher and rainbow's walk. The last line is
machine-readable. ``synthetic_cluster`` and ``synthetic_jobspec`` are varied labs for tests.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from compatlab.formats.nextgen import Jobspec, Requirement, Resource
from compatlab.inputs import load_yaml
from compatlab.scheduler.clusters import Cluster, build_cluster, read_clusters
from compatlab.scheduler.corpus import jobspec_paths, read_corpus
from compatlab.scheduler.index import Index
from compatlab.scheduler.match import satisfies
from compatlab.scheduler.rainbow_walk import MATCH, UNSETTLED, VARIES, outcome
from compatlab.scheduler.request import read_request

ARCHES = ("amd64", "arm64", "ppc64le")
OSES = ("ubuntu-20.04", "ubuntu-22.04", "ubuntu-24.04", "rocky-8", "rocky-9", "debian-12")
GO = tuple(f"1.{minor}.{patch}" for minor in range(15, 24) for patch in (0, 7, 14))
MPI = ("openmpi-4.1.6", "openmpi-5.0.3", "mpich-4.2.0", "mvapich-3.0")


def _vertex(vid: str, kind: str, size: int = 1, fields: dict[str, str] | None = None) -> dict[str, Any]:
    return {"label": vid, "metadata": {"type": kind, "size": size, **(fields or {})}}


def synthetic_cluster(i: int, rng: random.Random) -> Cluster:
    """A synthetic ``Cluster`` named ``cluster<i:04d>``, drawn from ``rng``: one or two kinds of node.

    Each kind has 1-12 nodes of 2-16 cores and 1-64 GB of memory, one arch, OS, Go
    version and disk size (GB, ``local.gb``), some an MPI and GPUs, as subsystems
    (``archspec``, ``os``, ``software-go``, ``storage``, ``mpi``, ``gpu``); so subsystems sit
    on some nodes only. Raises nothing (``build_cluster`` would raise ``LabError`` on a bad graph).
    """
    arch, os_id = rng.choice(ARCHES), rng.choice(OSES)
    vertices = {"0": _vertex("0", "cluster")}
    edges: list[dict[str, str]] = []
    subsystems: dict[str, tuple[dict[str, Any], list[dict[str, str]]]] = {}  # name -> (vertices, edges)

    def feature(subsystem: str, key: str, **fields: str) -> str:
        nodes, links = subsystems.setdefault(subsystem, ({}, []))
        fid = f"{subsystem}-{key}"
        nodes.setdefault(fid, _vertex(fid, subsystem, fields=fields))
        return fid

    next_id = 1
    for kind in range(rng.choice((1, 1, 2))):
        cores, memory = rng.choice((2, 4, 8, 16)), rng.choice((1, 2, 4, 8, 16, 64))
        go = rng.choice(GO)
        disk = str(rng.choice((1, 10, 100, 1000)))
        gpus = str(rng.choice((0, 0, 0, 1, 4)))
        for _ in range(rng.randint(1, 12)):
            nid = str(next_id)
            vertices[nid] = _vertex(nid, "node")
            edges.append({"source": "0", "target": nid, "relation": "contains"})
            next_id += 1
            for _c in range(cores):
                vertices[str(next_id)] = _vertex(str(next_id), "core")
                edges.append({"source": nid, "target": str(next_id), "relation": "contains"})
                next_id += 1
            vertices[str(next_id)] = _vertex(str(next_id), "memory", size=memory)
            edges.append({"source": nid, "target": str(next_id), "relation": "contains"})
            next_id += 1
            links = [
                ("archspec", feature("archspec", arch, **{"cpu.target": arch})),
                ("os", feature("os", os_id, **{"os.id": os_id})),
                ("software-go", feature("software-go", go, version=go)),
                ("storage", feature("storage", disk, **{"local.gb": disk})),
            ]
            if kind == 0 or rng.random() < 0.5:  # an MPI on some nodes only
                mpi = rng.choice(MPI)
                links.append(("mpi", feature("mpi", mpi, **{"mpi.variant": mpi.split("-")[0],
                                                             "mpi.version": mpi.split("-")[1]})))
            if gpus != "0":
                links.append(("gpu", feature("gpu", gpus, **{"gpu.count": gpus})))
            for subsystem, fid in links:
                subsystems[subsystem][1].append({"source": nid, "target": fid, "relation": "contains"})
    graphs = {name: {"graph": {"nodes": nodes, "edges": links}} for name, (nodes, links) in subsystems.items()}
    return build_cluster(f"cluster{i:04d}", {"graph": {"nodes": vertices, "edges": edges}}, graphs, f"synthetic/{i}")


def synthetic_jobspec(i: int, rng: random.Random) -> Jobspec:
    """A nextgen jobspec (version 1) drawn from ``rng``, running ``app <i>``.

    One slot ``job`` of 1-12 nodes with 1-16 cores each (half the time also 1-32 GB of
    memory each) and random ``requires`` items (arch, OS, Go ``min``/``max``, MPI, disk GB, GPUs).
    Raises nothing.
    """
    requires: list[Requirement] = []
    if rng.random() < 0.6:
        requires.append({"name": "archspec", "field": "cpu.target", "match": rng.choice(ARCHES)})
    if rng.random() < 0.4:
        requires.append({"name": "os", "field": "os.id", "match": rng.choice(OSES)})
    if rng.random() < 0.6:
        requires.append({"name": "software-go", "field": "version", "min": f"1.{rng.randint(14, 23)}"})
    if rng.random() < 0.2:  # a second item on the same subsystem: both must hold
        requires.append({"name": "software-go", "field": "version", "max": f"1.{rng.randint(18, 23)}"})
    if rng.random() < 0.3:
        requires.append({"name": "mpi", "field": "mpi.variant", "match": rng.choice(MPI).split("-")[0]})
    if rng.random() < 0.3:
        requires.append({"name": "storage", "field": "local.gb", "min": str(rng.choice((5, 50, 500)))})
    if rng.random() < 0.1:
        requires.append({"name": "gpu", "field": "gpu.count", "min": str(rng.choice((1, 2)))})
    slot: Resource = {"type": "node", "replicas": rng.randint(1, 12),
            "with": [{"type": "core", "count": rng.choice((1, 2, 4, 8, 16))}]}
    if rng.random() < 0.5:
        slot["with"].append({"type": "memory", "count": rng.choice((1, 2, 4, 8, 32))})
    if requires:
        slot["requires"] = requires
    return {"version": 1, "resources": {"job": slot}, "tasks": [{"command": ["app", str(i)], "resources": "job"}]}


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 5)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"


def write_reliabuild(root: Path, clusters: int = 100, subsystems: int = 220, jobspecs: int = 10_000,
                     requires: int = 30, seed: int = 7) -> tuple[Path, Path]:
    """Write a corpus shaped like rainbow-experiments' ``simulation-reliabuild``; (clusters dir, jobspecs dir).

    Each cluster is a rack of 4 nodes of one socket of 2 cores (as there) and has one
    subsystem per package (``pkg000`` ...), whose one ``package`` vertex carries a
    ``version`` drawn from the package's 6 versions and is contained by every node. Each
    jobspec asks for one node and ``requires`` ``{name: <package>, field: version, min[, max]}``
    of ``requires`` packages. JSON is written by orjson, YAML as text (the writing is not timed).
    """
    rng = random.Random(seed)
    packages = [f"pkg{i:03d}" for i in range(subsystems)]
    versions = {p: sorted({_version(rng) for _ in range(6)}, key=lambda v: tuple(map(int, v.split("."))))
                for p in packages}
    cluster_root, jobspec_root = root / "clusters", root / "jobspecs"
    for c in range(clusters):
        d = cluster_root / f"cluster{c:03d}"
        d.mkdir(parents=True)
        vertices = {"0": _vertex("0", "cluster"), "1": _vertex("1", "rack")}
        edges = [{"source": "0", "target": "1", "relation": "contains"}]
        nodes = []
        for n in range(4):
            node, socket = str(2 + 4 * n), str(3 + 4 * n)
            nodes.append(node)
            vertices[node], vertices[socket] = _vertex(node, "node"), _vertex(socket, "socket")
            edges += [{"source": "1", "target": node, "relation": "contains"},
                      {"source": node, "target": socket, "relation": "contains"}]
            for k in (4, 5):
                core = str(k + 4 * n)
                vertices[core] = _vertex(core, "core")
                edges.append({"source": socket, "target": core, "relation": "contains"})
        (d / "nodes.json").write_bytes(orjson.dumps({"graph": {"nodes": vertices, "edges": edges}}))
        for p in packages:
            graph = {"graph": {"nodes": {f"{p}0": _vertex(f"{p}0", p),
                                         f"{p}1": _vertex(f"{p}1", "package",
                                                                      fields={"version": rng.choice(versions[p])})},
                               "edges": [{"source": n, "target": f"{p}1", "relation": "contains"} for n in nodes]}}
            (d / f"{p}-subsystem.json").write_bytes(orjson.dumps(graph))
    jobspec_root.mkdir(parents=True)
    for j in range(jobspecs):
        lines = ["version: 1", "resources:", "  spec:", "    type: node", "    replicas: 1", "    with:",
                 "    - type: core", "      count: 1", "    requires:"]
        for p in rng.sample(packages, requires):
            # Mostly wide ranges, as reliabuild's (min 0.0.0 is common there), so some clusters satisfy all 30.
            known = versions[p]
            low = known[0] if rng.random() < 0.9 else rng.choice(known)
            lines += [f"    - name: {p}", "      field: version", f'      min: "{low}"']
            if rng.random() < 0.5:
                high = known[-1] if rng.random() < 0.9 else rng.choice(known[known.index(low):])
                lines.append(f'      max: "{high}"')
        # As the README's rebuild of reliabuild writes them: a package at a version, with "@".
        lines += ["tasks:", f"- command: [spack, install, app{j}@1.{j % 30}.0]", "  resources: spec", ""]
        (jobspec_root / f"spec{j:05d}.yaml").write_text("\n".join(lines))
    return cluster_root, jobspec_root


def _replay(clusters: Path, jobspecs: Path, out: Path) -> tuple[float, dict[str, Any]]:
    """Run ``compatlab replay`` as a user would, in a fresh process; (wall seconds, its replay.json)."""
    command = [sys.executable, "-m", "compatlab", "replay", "--clusters", str(clusters), "--jobspecs", str(jobspecs),
               "--out", str(out), "--json"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)  # noqa: S603 - our own command
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"compatlab-bench: replay failed: {done.stderr.decode()[-500:]}")
    return seconds, orjson.loads(done.stdout)


def _check_sample(clusters: Path, jobspecs: Path, out: Path, sample: int, rng: random.Random) -> tuple[int, int]:
    """Re-check ``sample`` jobspecs of the replay one pair at a time: (pairs checked, pairs that disagree).

    Ours against the reference ``match.satisfies`` (what ``match`` answers), real rainbow's
    against ``rainbow_walk.outcome`` (for a tenth of them: the walk is slow on purpose).
    """
    rows = {(r["level"], r["jobspec"]): r for r in csv.DictReader((out / "replay.csv").open())}
    all_clusters = read_clusters(clusters)
    names = sorted(p.name for p in jobspecs.iterdir())
    checked = disagree = 0
    for k, name in enumerate(rng.sample(names, min(sample, len(names)))):
        request = read_request(load_yaml(jobspecs / name), name)
        ours = sum(satisfies(c, request) for c in all_clusters)
        checked += len(all_clusters)
        disagree += ours != int(rows[("all", name)]["matches"])
        if k % 10 == 0:
            theirs = [outcome(c, request.rainbow) for c in all_clusters]
            checked += len(all_clusters)
            disagree += (theirs.count(MATCH) != int(rows[("all", name)]["rainbow_matches"])
                         or theirs.count(VARIES) != int(rows[("all", name)]["rainbow_varies"])
                         or theirs.count(UNSETTLED) != int(rows[("all", name)]["rainbow_unsettled"]))
    return checked, disagree


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; the exit status (int): 0 if every sampled answer agrees, else 1.

    ``argv`` defaults to ``sys.argv[1:]``: ``--clusters`` (100), ``--subsystems`` (220),
    ``--jobspecs`` (10000), ``--requires`` (30), ``--sample`` jobspecs re-checked (200),
    ``--seed`` (7). Writes a reliabuild-shaped corpus to a temporary directory (not
    timed), then times ``compatlab replay`` on it from the files, in a fresh process:
    reading, validating, matching ours and real rainbow's, writing the results. Prints
    the index's own rate as an extra figure; the last line is
    ``end_to_end_s=<s> pairs_per_second=<N> peak_mb=<M> sample_agrees=<true|false>``,
    pairs being (cluster, jobspec) pairs answered per second of the whole replay and
    peak memory the largest resident size of the replay's processes (MiB).
    """
    ap = argparse.ArgumentParser(prog="compatlab-bench", description=__doc__)
    ap.add_argument("--clusters", type=int, default=100)
    ap.add_argument("--subsystems", type=int, default=220)
    ap.add_argument("--jobspecs", type=int, default=10_000)
    ap.add_argument("--requires", type=int, default=30)
    ap.add_argument("--sample", type=int, default=200, help="jobspecs re-checked one pair at a time")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="compatlab-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        clusters, jobspecs = write_reliabuild(root, args.clusters, args.subsystems, args.jobspecs, args.requires,
                                              args.seed)
        print(f"corpus: {args.clusters} clusters x {args.subsystems} subsystems, {args.jobspecs} jobspecs x "
              f"{args.requires} requirements, written in {time.perf_counter() - t0:.1f} s (not timed)")
        seconds, result = _replay(clusters, jobspecs, root / "out")
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb, cpu = children.ru_maxrss / 1024, children.ru_utime + children.ru_stime
        pairs = args.clusters * args.jobspecs
        for level in result["levels"]:
            print(f"level {level['level']}: expected accuracy {level['expected_accuracy']:.4f}, "
                  f"{level['matching_pairs']:,} matching pairs, rainbow {level['rainbow']['expected_accuracy']:.4f}")
        # The CPU seconds do not depend on what else the machine runs; the wall clock does (the load average).
        print(f"replay: {pairs:,} pairs at {len(result['levels'])} levels in {seconds:.2f} s end to end, "
              f"{cpu:.2f} CPU seconds in all its processes ({os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f})")

        corpus = read_corpus(clusters, jobspec_paths(jobspecs))
        t1 = time.perf_counter()
        index = Index(corpus.clusters)
        index.fits_all(corpus.requests)
        index_seconds = time.perf_counter() - t1
        print(f"index alone (built and queried, files already read): {pairs / index_seconds:,.0f} pairs/s")

        checked, disagree = _check_sample(clusters, jobspecs, root / "out", args.sample, rng)
        print(f"sample: {checked:,} pairs re-checked one at a time: {disagree} disagree")
    print(f"end_to_end_s={seconds:.2f} pairs_per_second={pairs / seconds:.0f} peak_mb={peak_mb:.0f} "
          f"sample_agrees={'true' if not disagree else 'false'}")
    return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
