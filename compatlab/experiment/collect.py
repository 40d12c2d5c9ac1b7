"""Copy the result records out of every MiniCluster's lead broker, through the Kubernetes API.

Receivers in the lab write one record per job into ``/tmp/compatlab/results`` of
their lead broker. ``collect`` reads them all in one exec per MiniCluster (a tar
of ``*.json``, base64 so it survives the exec stream's text channel), checks that
each parses as a result record of that cluster, and writes it locally whole. A
local record that differs is kept unless ``force``: collecting twice, or after a
report, never loses anything.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import io
import json
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compatlab.errors import LabError
from compatlab.files import write_file
from compatlab.kube.access import KubeAccess
from compatlab.kube.minicluster import RESULTS, container_name
from compatlab.lab.model import Lab

from .observe import OTHER, classify
from .records import ResultRecord

NAME = re.compile(r"[0-9a-f]{8}\.[a-z]+\.[a-z][a-z0-9]*\.[0-9]+\.json")
MAX_RECORD = 4 << 20  # bytes; a record holds 50 lines of output, never megabytes
# Exit 3: no results directory (the receiver never ran there); 4: tar failed. Names are compatlab's (no spaces).
TAR_B64 = r"""
cd "$1" 2>/dev/null || exit 3
set -- $(find . -maxdepth 1 -type f -name '*.json' | sed 's|^\./||')
[ "$#" -eq 0 ] && exit 0
tar -cf /tmp/.compatlab-collect.tar -- "$@" || exit 4
base64 /tmp/.compatlab-collect.tar; rc=$?
rm -f /tmp/.compatlab-collect.tar
exit $rc
"""


@dataclass
class Collected:
    """What ``collect`` did: records ``copied``, already ``same`` locally, ``conflicts`` kept, ``bad`` ones refused.

    ``unreachable`` maps a MiniCluster to why its lead broker could not be read;
    ``duplicates`` names jobs that ran on two clusters (a submission queued twice):
    the first record is kept, the second is not copied.
    """

    copied: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)


def _records(payload: str) -> list[tuple[str, bytes]]:
    if not payload.strip():
        return []
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            out = []
            for member in archive.getmembers():
                if member.isfile() and member.size <= MAX_RECORD:
                    handle = archive.extractfile(member)
                    out.append((member.name, handle.read() if handle else b""))
                else:
                    out.append((member.name, b""))
            return out
    except (binascii.Error, tarfile.TarError, ValueError) as err:
        raise ValueError(f"the records did not arrive whole ({err})") from None


def _parse(name: str, data: bytes, cluster: str) -> str | None:
    """Why this file is not a record of ``cluster`` (None: it is one)."""
    if not NAME.fullmatch(name):
        return "not a compatlab record name"
    try:
        doc: dict[str, Any] = json.loads(data)
        doc["output_tail"] = tuple(doc["output_tail"])
        record = ResultRecord(**doc)
    except (ValueError, TypeError, KeyError) as err:
        return f"does not parse as a result record ({type(err).__name__})"
    if record.cluster != cluster or f"{record.name}.json" != name:
        return f"names cluster {record.cluster} and job {record.name}"
    return None


SLACK_S = 10  # seconds after a record's end in which Kubernetes may still report what ended the job
OPEN_S = 3600  # a record with no end (its receiver never came back) takes events this long after its start


def with_kubernetes_evidence(data: bytes, events: list[tuple[str, str]]) -> bytes:
    """A record the job's own end could not explain, told by Kubernetes what happened to its pod.

    ``events`` are (what, when) pairs of the MiniCluster's pods: a container's last
    termination reason (``OOMKilled``) or an eviction message, with its time (ISO
    8601). Kubernetes answers a pod over its limits by killing or evicting the whole
    pod, not with an error the job could print: an out-of-memory kill takes the
    whole container on Kubernetes 1.28 and later (``memory.oom.group``), and an
    ephemeral-storage limit is enforced by the kubelet's eviction manager, not by
    ``ENOSPC``. So a ``failed-other`` record (its job lost a broker, or the receiver
    died with it) within whose time (``SLACK_S`` after its end included) such an
    event falls becomes the mode the event names (``observe.classify``), with that
    evidence (a record with no end: within ``OPEN_S`` of its start). Other records
    are returned as they are. Kubernetes keeps only a container's last termination,
    so of several out-of-memory kills of one pod only the newest can be told;
    collecting after each level keeps them apart. Raises nothing.
    """
    doc: dict[str, Any] = json.loads(data)
    if doc.get("outcome") != "failed-other":
        return data
    start, end = _when(doc.get("start", "")), _when(doc.get("end") or "")
    if start is None:
        return data
    last = (end + datetime.timedelta(seconds=SLACK_S)) if end else start + datetime.timedelta(seconds=OPEN_S)
    for what, at in events:
        when = _when(at)
        if when is None or not start <= when <= last:
            continue
        mode = classify(None, what).outcome
        if mode == OTHER:
            continue
        doc.update(outcome=mode, evidence=f"Kubernetes: {_said(what)} at {_utc(at)}")
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
    return data


def _said(what: str) -> str:
    return f"the container was {what}" if what == "OOMKilled" else f"the pod was evicted: {what}"


def _when(stamp: str) -> datetime.datetime | None:
    try:
        when = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)


def _utc(stamp: str) -> str:
    # Records say UTC to the second, ...Z; the API's times are datetimes with an offset.
    when = _when(stamp)
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else stamp


def _cluster_of(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text())["cluster"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def collect(kube: KubeAccess, lab: Lab, results: Path, force: bool = False,
            tick: Callable[[str], None] = lambda _: None) -> Collected:
    """Copy every MiniCluster's records into ``results``. ``kube`` is a ``KubeAccess``.

    A MiniCluster whose lead broker is down is reported in ``unreachable``, not
    fatal: the others are still collected. Raises ``OSError`` from the local disk.
    """
    done = Collected()
    results.mkdir(parents=True, exist_ok=True)
    for mc in lab.miniclusters:
        try:
            pod = kube.lead_pod(mc.name)
            code, out, err = kube.exec(pod.name, container_name(mc.name), ["sh", "-c", TAR_B64, "collect", RESULTS])
            if code == 3:
                raise LabError(pod.name, "", f"has no {RESULTS}: no receiver has run there yet (or the pod was "
                               "replaced, and its results with it)")
            if code != 0:
                raise LabError(pod.name, "", f"reading {RESULTS} failed: exit {code}: {' '.join(err.split())[:200]}")
            files = _records(out)
            pods = kube.pods(mc.name)
            events = [p.terminated for p in pods if p.terminated and p.terminated[0] == "OOMKilled"]
            events += [p.evicted for p in pods if p.evicted]
        except (LabError, ValueError) as err:
            done.unreachable[mc.name] = str(err)
            tick(mc.name)
            continue
        for name, data in files:
            why = _parse(name, data, mc.name)
            if why:
                done.bad.append(f"{mc.name}:{name}: {why}")
                continue
            data = with_kubernetes_evidence(data, events)
            local = results / name
            other = _cluster_of(local)
            if other is not None and other != mc.name:
                done.duplicates.append(f"{name} ran on {other} and on {mc.name}")
            elif local.exists() and local.read_bytes() == data:
                done.same.append(name)
            elif local.exists() and not force:
                done.conflicts.append(name)
            else:
                write_file(local, data)
                done.copied.append(name)
        tick(mc.name)
    return done
