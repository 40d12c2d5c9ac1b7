"""Apply a Kubernetes object that the core built as plain data."""

from __future__ import annotations

import re

import pulumi
import pulumi_kubernetes as k8s

# Typed resources where pulumi-kubernetes has them (better diffs and await logic).
_TYPED = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def apply_object(name: str, obj: dict, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Declare ``obj`` (dict: a Kubernetes object) as Pulumi resource ``name``; return it.

    A typed resource for Namespace, ConfigMap, Service, Deployment and Ingress, else a
    ``k8s.apiextensions.CustomResource`` (MiniCluster, BackendConfig, ManagedCertificate).
    Raises ``KeyError`` if ``obj`` lacks ``apiVersion`` or ``kind``, ``TypeError`` if it has
    a top-level field the typed resource does not take.
    """
    cls = _TYPED.get((obj["apiVersion"], obj["kind"]))
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if cls is not None:
        # Typed resources take Python names for their top-level fields (binaryData -> binary_data).
        return cls(name, **{_snake(k): v for k, v in fields.items()}, opts=opts)
    return k8s.apiextensions.CustomResource(
        name, api_version=obj["apiVersion"], kind=obj["kind"], **fields, opts=opts)
