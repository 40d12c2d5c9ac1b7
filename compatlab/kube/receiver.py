"""How ``compatlab receive`` reaches every MiniCluster: the package in a ConfigMap, credentials in a Secret.

compatlab is not on PyPI and the MiniCluster images are built before a run, so
the lab ships the core itself: a zip of ``compatlab/`` (code and catalogues) with
the schemas, workloads and stacks laid out as in the wheel (``compatlab/schemas/``,
``compatlab/jobspecs/``, ``compatlab/stacks/``), as ``binaryData`` of one ConfigMap
(well under Kubernetes' 1 MiB limit). Each MiniCluster mounts it and, before
Flux starts, unpacks it beside the pinned receiver dependencies installed into
the flux view's Python, and puts a ``compatlab`` command on PATH.

Each MiniCluster also mounts a Secret ``compatlab-<minicluster>`` for its
rainbow token and secret. The lab creates it empty (so pods start before
anything is registered) and ``compatlab register --write-secrets`` writes the
values; Kubernetes refreshes mounted Secret files within about a minute.
"""

from __future__ import annotations

import base64
import io
import zipfile
from functools import cache
from pathlib import Path

from compatlab.lab.model import Lab
from compatlab.lab.paths import JOBSPECS, SCHEMAS, STACKS

from .labels import KubeObject, kube_labels

CONFIGMAP = "compatlab-receiver"
ZIP = "compatlab.zip"
PACKAGE = Path(__file__).resolve().parents[1]
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip's timestamps, so the bytes depend on the files only


def _files() -> list[tuple[str, Path]]:
    found = [(f"compatlab/{p.relative_to(PACKAGE)}", p) for p in PACKAGE.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".yaml")]
    # The data packages sit where the wheel puts them, so lab.paths finds them the same way there.
    for package, directory in (("schemas", SCHEMAS), ("jobspecs", JOBSPECS), ("stacks", STACKS)):
        found += [(f"compatlab/{package}/{p.name}", p) for p in directory.iterdir()
                  if p.is_file() and p.suffix in (".py", ".json", ".yaml")]
    # In an installed wheel the data packages are inside compatlab/ and the walk above met them already: one
    # entry per name, so the zip is the same bytes from a wheel as from a checkout.
    return sorted(dict(found).items())


@cache
def package_zip() -> bytes:
    """compatlab's code, catalogues, schemas and workloads as zip bytes, the same bytes for the same files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in _files():
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def configmap(lab: Lab, namespace: str) -> KubeObject:
    """dict: the ConfigMap ``compatlab-receiver`` with ``binaryData.compatlab.zip`` (base64)."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIGMAP, "namespace": namespace, "labels": kube_labels(lab, "receiver")},
            "binaryData": {ZIP: base64.b64encode(package_zip()).decode()}}


def credentials_placeholder(lab: Lab, name: str, namespace: str) -> KubeObject:
    """dict: a MiniCluster's Secret, with no data: ``register`` writes the token and secret into it.

    Created empty, so pods start before anything is registered, and so neither a
    later ``pulumi up`` (server-side apply: it owns no ``data`` field) nor ``kubectl
    apply`` (the keys are not in its last-applied object) takes the values back.
    """
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, "labels": kube_labels(lab, "receiver")}}
