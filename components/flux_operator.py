"""The Flux Operator from its pinned release manifest, patched on the way in."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from compatlab.k8s_operator import patch_operator_object
from compatlab.model import Lab
from compatlab.versions import versions


@dataclass(frozen=True)
class FluxOperatorArgs:
    lab: Lab
    provider: k8s.Provider


def operator_transform(lab: Lab):
    """A Pulumi transform that pins the controller and drops the dead kube-rbac-proxy sidecar."""

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
    """The operator's CRD and controller; MiniClusters depend on this so they never race the CRD."""

    manifest: k8s.yaml.v2.ConfigFile

    def __init__(self, name: str, args: FluxOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("compatlab:flux:Operator", name, {}, opts)
        release = versions()["fluxOperator"]
        # The provider reads the manifest, so transforms reach its children.
        self.manifest = k8s.yaml.v2.ConfigFile(
            f"{name}-{release['release']}",
            file=release["manifest"],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider,
                                        transforms=[operator_transform(args.lab)]),
        )
        self.register_outputs({"release": release["release"], "controllerImage": release["controllerImage"]})
