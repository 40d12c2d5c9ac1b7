"""One Flux MiniCluster custom resource per configured MiniCluster.

Built from the lab model so the seed's hand-written mistakes cannot happen: the
image is a reference (never a `docker pull` line), CLUSTER_NAME is the cluster's own
name, and every pod is pinned to its pool and arch.
"""

from __future__ import annotations

from .images import image_ref
from .k8s_rainbow import in_cluster_host
from .labels import kube_labels
from .model import Lab, MiniCluster
from .versions import versions

NAMESPACE = "miniclusters"
FLUX_PYTHON = "/mnt/flux/view/bin/python3.11"


def install_clients() -> str:
    """Runs before Flux starts: the pinned rainbow client and jobspec library, in the view's Python."""
    pins = " ".join(f"{name}=={version}" for name, version in versions()["clients"].items())
    return f"{FLUX_PYTHON} -m ensurepip\n{FLUX_PYTHON} -m pip install --no-cache-dir {pins}\n"


def namespace(lab: Lab) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": kube_labels(lab, "minicluster")}}


def minicluster(lab: Lab, mc: MiniCluster) -> dict:
    # Decimal units: the metadata says memory and disk in GB, the limits are the same GB.
    quantities = {"cpu": mc.cores_per_node, "memory": f"{mc.memory_gb}G", "ephemeral-storage": f"{mc.disk_gb}G"}
    container: dict = {
        "name": "app",
        "image": image_ref(lab, mc),
        "environment": {"CLUSTER_NAME": mc.name, "RAINBOW_HOST": in_cluster_host(), "COMPATLAB_STACK": lab.stack},
        # Requests equal limits: the memory-starved and tiny-disk clusters are really bounded.
        "resources": {"requests": dict(quantities), "limits": dict(quantities)},
        "commands": {"pre": install_clients()},
    }
    if mc.base.privileged:  # singularity needs it (the Rocky bases); nothing else gets it
        container["securityContext"] = {"privileged": True}
    flux: dict = {"container": {"image": mc.base.flux_view[mc.arch]}}
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
