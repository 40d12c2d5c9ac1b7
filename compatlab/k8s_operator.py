"""The Flux Operator release manifest, made safe to apply: pinned, pinned to amd64, no dead sidecar."""

from __future__ import annotations

import copy

from .model import Lab
from .versions import versions


def system_pool(lab: Lab) -> str:
    """The first amd64 pool: system pods, the operator (amd64-only image) and rainbow run there."""
    return next(p.name for p in lab.pools if p.arch == "amd64")


def system_node_selector(lab: Lab) -> dict[str, str]:
    return {"kubernetes.io/arch": "amd64", "cloud.google.com/gke-nodepool": system_pool(lab)}


def patch_operator_object(obj: dict, lab: Lab) -> dict:
    """Return the object as compatlab applies it; only the controller Deployment changes."""
    op = versions()["fluxOperator"]
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


def operator_files(lab: Lab) -> dict[str, dict]:
    """The same changes for `kubectl apply -k`, on the same release manifest."""
    op = versions()["fluxOperator"]
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
