"""The Flux Operator release manifest, made safe to apply: pinned, pinned to amd64, no dead sidecar.

The 0.2.1 release manifest (``examples/dist/flux-operator.yaml``) runs the controller
image ``:latest`` beside a ``kube-rbac-proxy`` sidecar from gcr.io/kubebuilder, which is
no longer served. Release, manifest URL, Deployment and sidecar names and the pinned
controller image are ``fluxOperator`` in ``compatlab/data/versions.yaml``.
"""

from __future__ import annotations

import copy

from compatlab.lab.catalogue import pins
from compatlab.lab.model import Lab

from .labels import KubeObject


def system_pool(lab: Lab) -> str:
    """The name (str) of the first amd64 pool: system pods, the operator and rainbow run there.

    The operator's controller image is amd64 only. Raises ``StopIteration`` on a lab
    without an amd64 pool, which ``load_lab`` refuses with a ``LabError`` first.
    """
    return next(p.name for p in lab.pools if p.arch == "amd64")


def system_node_selector(lab: Lab) -> dict[str, str]:
    """{node label: value} that pins a pod to the system pool.

    ``kubernetes.io/arch`` is Kubernetes' well-known arch label; ``cloud.google.com/gke-nodepool``
    is the pool label GKE puts on every node. Raises as ``system_pool``.
    """
    return {"kubernetes.io/arch": "amd64", "cloud.google.com/gke-nodepool": system_pool(lab)}


def patch_operator_object(obj: KubeObject, lab: Lab) -> KubeObject:
    """The manifest object ``obj`` (dict) as compatlab applies it; only the controller Deployment changes.

    Any other object is returned as is (the same object, so callers can test ``is``).
    The Deployment named ``fluxOperator.deployment`` comes back as a deep copy without the
    ``dropSidecar`` container, with the ``manager`` container on ``controllerImage`` and
    ``IfNotPresent``, and with ``system_node_selector``. Raises ``KeyError`` only if that
    Deployment lacks ``spec.template.spec.containers`` (the 0.2.1 manifest's has them),
    otherwise as ``system_pool``.
    """
    op = pins()["fluxOperator"]
    if obj.get("kind") != "Deployment" or obj.get("metadata", {}).get("name") != op["deployment"]:
        return obj
    patched = copy.deepcopy(obj)
    pod = patched["spec"]["template"]["spec"]
    pod["containers"] = [c for c in pod["containers"] if c.get("name") != op["dropSidecar"]]
    for container in pod["containers"]:
        if container.get("name") == "manager":
            container["image"] = op["controllerImage"]
            container["imagePullPolicy"] = "IfNotPresent"
    pod["nodeSelector"] = system_node_selector(lab)
    return patched


def operator_files(lab: Lab) -> dict[str, KubeObject]:
    """The same changes for ``kubectl apply -k``: {file name: dict}, on the same release manifest.

    ``kustomization.yaml`` (a kustomize ``Kustomization``: the release manifest URL as its
    resource, the controller image's tag pinned) and ``controller-patch.yaml`` (a
    strategic-merge patch of the Deployment: sidecar deleted with ``$patch: delete``,
    ``IfNotPresent``, ``system_node_selector``). Raises as ``system_pool``.
    """
    op = pins()["fluxOperator"]
    image, tag = op["controllerImage"].rsplit(":", 1)
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": op["deployment"], "namespace": op["namespace"]},
        "spec": {"template": {"spec": {
            "nodeSelector": system_node_selector(lab),
            "containers": [{"name": op["dropSidecar"], "$patch": "delete"},
                           {"name": "manager", "imagePullPolicy": "IfNotPresent"}],
        }}},
    }
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [op["manifest"]],
        "images": [{"name": image, "newTag": tag}],
        "patches": [{"path": "controller-patch.yaml"}],
    }
    return {"kustomization.yaml": kustomization, "controller-patch.yaml": patch}
