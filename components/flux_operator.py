"""The Flux Operator from its pinned release manifest, patched on the way in.

The release (0.2.1), its manifest URL and the controller image are ``fluxOperator`` in
``compatlab/data/versions.yaml``; the patch is ``compatlab.kube.operator.patch_operator_object``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from compatlab.kube.operator import patch_operator_object
from compatlab.lab.catalogue import pins
from compatlab.lab.model import Lab


@dataclass(frozen=True)
class FluxOperatorArgs:
    """Inputs of ``FluxOperator``: the lab (for the system pool) and the cluster's Kubernetes provider."""

    lab: Lab
    provider: k8s.Provider


def operator_transform(lab: Lab):
    """A Pulumi resource transform that pins the controller and drops the dead kube-rbac-proxy sidecar.

    The returned callable takes ``pulumi.ResourceTransformArgs`` and returns a
    ``ResourceTransformResult`` with ``patch_operator_object``'s props for the controller
    Deployment, ``None`` (unchanged) for every other resource. Raises as ``patch_operator_object``.
    """

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ != "kubernetes:apps/v1:Deployment":
            return None
        obj = {"apiVersion": "apps/v1", "kind": "Deployment", **args.props}
        patched = patch_operator_object(obj, lab)
        if patched is obj:
            return None
        props = {k: v for k, v in patched.items() if k not in ("apiVersion", "kind")}
        return pulumi.ResourceTransformResult(props={**args.props, **props}, opts=args.opts)

    return transform


class FluxOperator(pulumi.ComponentResource):
    """The operator's CRD and controller; MiniClusters depend on this so they never race the CRD.

    Declares a ``k8s.yaml.v2.ConfigFile`` of the pinned release manifest (URL from
    ``compatlab/data/versions.yaml``) with ``operator_transform``, on ``args.provider``.
    Attribute: ``manifest``; outputs ``release`` and ``controllerImage``. Depends on the
    provider (so on the cluster and its pools).
    """

    manifest: k8s.yaml.v2.ConfigFile

    def __init__(self, name: str, args: FluxOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("compatlab:flux:Operator", name, {}, opts)
        release = pins()["fluxOperator"]
        # The provider reads the manifest, so transforms reach its children.
        self.manifest = k8s.yaml.v2.ConfigFile(
            f"{name}-{release['release']}",
            file=release["manifest"],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider,
                                        transforms=[operator_transform(args.lab)]),
        )
        self.register_outputs({"release": release["release"], "controllerImage": release["controllerImage"]})
