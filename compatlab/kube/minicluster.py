"""One Flux MiniCluster custom resource per configured MiniCluster.

Built from the lab model so the seed's hand-written mistakes cannot happen: the
image is a reference (never a `docker pull` line), CLUSTER_NAME is the cluster's own
name, and every pod is pinned to its pool and arch. The object follows the Flux
Operator's ``flux-framework.org/v1alpha2`` MiniCluster CRD as released in 0.2.x (the
release pinned in ``compatlab/data/versions.yaml``).
"""

from __future__ import annotations

from compatlab.lab.catalogue import pins
from compatlab.lab.images import image_ref
from compatlab.lab.model import Lab, MiniCluster

from .labels import KubeObject, kube_labels
from .rainbow import in_cluster_host
from .receiver import CONFIGMAP, ZIP

NAMESPACE = "miniclusters"
MOUNT = "/mnt/flux"  # the operator's volume: its flux view (view/) and, below WORK, compatlab's own files
FLUX_PYTHON = f"{MOUNT}/view/bin/python3.11"
DIST = "/opt/compatlab-dist"  # the receiver ConfigMap, mounted
CREDENTIALS = "/var/run/compatlab"  # the cluster's Secret, mounted: files token and secret, once registered
# The flux view's emptyDir outlives the container: on Kubernetes >= 1.28 an out-of-memory kill of one job takes
# the whole container (memory.oom.group), and its filesystem with it, but not the pod's volumes.
WORK = f"{MOUNT}/compatlab"
HOME = f"{WORK}/home"  # the package, unpacked
VENV = f"{WORK}/venv"  # its pinned dependencies, apart from Flux's own Python packages
STATE = f"{WORK}/state"  # the receiver's journal in the lead broker
RESULTS = f"{WORK}/results"  # its result records, which compatlab collect copies out


def container_name(minicluster: str) -> str:
    """The name of a MiniCluster's Flux container: the operator names it after the MiniCluster.

    Flux Operator 0.2.1, ``controllers/flux/containers.go``: the container that runs
    Flux takes the MiniCluster's name, whatever the spec says.
    """
    return minicluster


def credentials_secret_name(minicluster: str) -> str:
    """The name of a MiniCluster's credentials Secret: ``compatlab-<minicluster>``."""
    return f"compatlab-{minicluster}"


def install_clients() -> str:
    """The lead broker's ``commands.brokerPre`` shell script (str): the receiver and its pinned dependencies.

    Runs as root on the lead broker before Flux starts (the receiver runs there
    only): a venv from the flux view's Python 3.11 (``FLUX_PYTHON``), kept apart
    from the packages Flux itself imports, gets the ``clients`` pins of
    ``compatlab/data/versions.yaml`` (rainbow-scheduler, jobspec and what the
    receiver imports); the compatlab zip from the mounted ConfigMap is unpacked
    into ``HOME``; a ``compatlab`` command goes on PATH. All of it lives under
    ``WORK`` (the flux view's emptyDir), so a container restart finds it again.
    A failed install is logged to ``WORK/install.log`` and said on stderr; the
    ``compatlab`` command then says so too. Raises nothing.
    """
    wanted = " ".join(f"{name}=={version}" for name, version in pins()["clients"].items())
    return (
        f"mkdir -p {HOME} {STATE} {RESULTS}\n"
        f"( {FLUX_PYTHON} -m venv {VENV} && {VENV}/bin/python -m pip install --no-cache-dir {wanted} && "
        f"rm -rf {HOME}/compatlab && {FLUX_PYTHON} -m zipfile -e {DIST}/{ZIP} {HOME} ) > {WORK}/install.log 2>&1 "
        f"|| echo 'compatlab: installing the receiver failed; see {WORK}/install.log' >&2\n"
        f"printf '#!/bin/sh\\nPYTHONPATH={HOME} exec {VENV}/bin/python -m compatlab \"$@\"\\n' "
        "> /usr/local/bin/compatlab\n"
        "chmod 0755 /usr/local/bin/compatlab\n"
    )


def namespace(lab: Lab) -> KubeObject:
    """dict: the Kubernetes Namespace ``miniclusters`` that holds every MiniCluster. Raises nothing."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": kube_labels(lab, "minicluster")}}


def minicluster(lab: Lab, mc: MiniCluster) -> KubeObject:
    """dict: the ``MiniCluster`` custom resource (``flux-framework.org/v1alpha2``) for ``mc``.

    ``spec.size`` pods, each requesting and limited to ``cores_per_node`` cores,
    ``memory_gb`` GB and ``disk_gb`` GB of ephemeral storage (decimal ``G``), pinned by
    ``spec.pod.nodeSelector`` to the pool and arch; arm64 gets ``spec.flux.arch: arm`` and
    the base's arm flux view (``compatlab/data/bases.yaml``); env ``CLUSTER_NAME`` is
    ``mc.name``, ``RAINBOW_HOST`` rainbow's in-cluster host and ``COMPATLAB_STACK`` the
    stack, plus where the receiver finds its secret, state and results; the
    receiver ConfigMap and the cluster's credentials Secret mounted; privileged
    only on bases that say so. Fields as the Flux Operator 0.2.1 CRD names them. Raises nothing for a
    MiniCluster that ``load_lab`` accepted.
    """
    # Decimal units: the metadata says memory and disk in GB, the limits are the same GB.
    quantities = {"cpu": mc.cores_per_node, "memory": f"{mc.memory_gb}G", "ephemeral-storage": f"{mc.disk_gb}G"}
    container: KubeObject = {
        "name": container_name(mc.name),
        "image": image_ref(lab, mc),
        # What `compatlab receive` reads by default, so the seed's one line runs it in the lead broker.
        "environment": {"CLUSTER_NAME": mc.name, "RAINBOW_HOST": in_cluster_host(), "COMPATLAB_STACK": lab.stack,
                        "COMPATLAB_CLUSTER_SECRET_FILE": f"{CREDENTIALS}/secret",
                        "COMPATLAB_STATE": STATE, "COMPATLAB_RESULTS": RESULTS},
        "volumes": {
            "compatlab-receiver": {"configMapName": CONFIGMAP, "path": DIST, "readOnly": True},
            "compatlab-credentials": {"secretName": credentials_secret_name(mc.name), "path": CREDENTIALS,
                                      "readOnly": True},
        },
        # Requests equal limits: the memory-starved and tiny-disk clusters are really bounded.
        "resources": {"requests": dict(quantities), "limits": dict(quantities)},
        "commands": {"brokerPre": install_clients()},
    }
    if mc.base.privileged:  # singularity needs it (the Rocky bases); nothing else gets it
        container["securityContext"] = {"privileged": True}
    flux: KubeObject = {"container": {"image": mc.base.flux_view[mc.arch]}}
    if mc.arch == "arm64":
        flux["arch"] = "arm"
    return {
        "apiVersion": "flux-framework.org/v1alpha2",
        "kind": "MiniCluster",
        "metadata": {"name": mc.name, "namespace": NAMESPACE,
                     "labels": {**kube_labels(lab, "minicluster"), "compatlab/arch": mc.arch,
                                "compatlab/base": mc.base.name}},
        "spec": {
            "size": mc.size,
            "interactive": True,  # the researcher shells in and runs the receiver by hand
            "pod": {"nodeSelector": {"cloud.google.com/gke-nodepool": mc.pool, "kubernetes.io/arch": mc.arch}},
            "flux": flux,
            "containers": [container],
        },
    }
