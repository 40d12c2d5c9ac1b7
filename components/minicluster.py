"""One Flux MiniCluster, as the core builds it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from compatlab.kube.minicluster import minicluster
from compatlab.lab.model import Lab, MiniCluster

from .objects import apply_object


@dataclass(frozen=True)
class MiniClusterArgs:
    """Inputs of ``FluxMiniCluster``: the lab, the MiniCluster, the provider, and what must exist first.

    ``operator``: the ``FluxOperator`` (its CRD); ``namespace``: the ``miniclusters`` Namespace.
    """

    lab: Lab
    minicluster: MiniCluster
    provider: k8s.Provider
    operator: pulumi.Resource  # the CRD must exist first (pulumi-kubernetes #861, #1164, #3188)
    namespace: pulumi.Resource


class FluxMiniCluster(pulumi.ComponentResource):
    """One Flux MiniCluster custom resource, as ``compatlab.kube.minicluster.minicluster`` builds it.

    Attribute: ``resource`` (a ``k8s.apiextensions.CustomResource``); outputs ``name``,
    ``pool``, ``arch``, ``base``, ``size`` (pods). Depends on the operator, so it never
    races the CRD (pulumi-kubernetes #861, #1164, #3188), and on the namespace.
    """

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
