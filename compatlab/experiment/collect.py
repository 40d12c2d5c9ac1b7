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
from compatlab.kube.minicluster import RESULTS
from compatlab.lab.model import Lab

from .records import ResultRecord

NAME = re.compile(r"[0-9a-f]{8}\.[a-z]+\.[a-z][a-z0-9]*\.[0-9]+\.json")
MAX_RECORD = 4 << 20  # bytes; a record holds 50 lines of output, never megabytes
TAR_B64 = ('cd "$1" 2>/dev/null || exit 0; find . -maxdepth 1 -type f -name "*.json" | sed "s|^./||" | '
           'tar -cf - -T - 2>/dev/null | base64')


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


def _cluster_of(path: Path) -> str | None:
    try:
        return str(json.loads(path.read_text())["cluster"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def collect(kube: Any, lab: Lab, results: Path, force: bool = False,
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
            code, out, err = kube.exec(pod.name, ["sh", "-c", TAR_B64, "collect", RESULTS])
            if code != 0:
                raise LabError(pod.name, "", f"listing {RESULTS} failed: exit {code}: {' '.join(err.split())[:200]}")
            files = _records(out)
        except (LabError, ValueError) as err:
            done.unreachable[mc.name] = str(err)
            tick(mc.name)
            continue
        for name, data in files:
            why = _parse(name, data, mc.name)
            if why:
                done.bad.append(f"{mc.name}:{name}: {why}")
                continue
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
