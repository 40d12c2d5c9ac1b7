"""One Flux MiniCluster, as the core builds it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from compatlab.k8s_minicluster import minicluster
from compatlab.model import Lab, MiniCluster

from .objects import apply_object


@dataclass(frozen=True)
class MiniClusterArgs:
    lab: Lab
    minicluster: MiniCluster
    provider: k8s.Provider
    operator: pulumi.Resource  # the CRD must exist first (pulumi-kubernetes #861, #1164, #3188)
    namespace: pulumi.Resource


class FluxMiniCluster(pulumi.ComponentResource):
    resource: pulumi.CustomResource

    def __init__(self, name: str, args: MiniClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("compatlab:flux:MiniCluster", name, {}, opts)
        mc = args.minicluster
        self.resource = apply_object(
            name, minicluster(args.lab, mc),
            pulumi.ResourceOptions(parent=self, provider=args.provider,
                                   depends_on=[args.operator, args.namespace]),
        )
        self.register_outputs({"name": mc.name, "pool": mc.pool, "arch": mc.arch,
                               "base": mc.base.name, "size": mc.size})
