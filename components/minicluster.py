"""One Flux MiniCluster, as the core builds it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from compatlab.kube.minicluster import NAMESPACE, credentials_secret_name, minicluster
from compatlab.kube.receiver import credentials_placeholder
from compatlab.lab.model import Lab, MiniCluster

from .objects import apply_object


@dataclass(frozen=True)
class MiniClusterArgs:
    """Inputs of ``FluxMiniCluster``: the lab, the MiniCluster, the provider, and what must exist first.

    ``operator``: the ``FluxOperator`` (its CRD); ``namespace``: the ``miniclusters``
    Namespace; ``receiver``: the ConfigMap holding compatlab, which every pod mounts.
    """

    lab: Lab
    minicluster: MiniCluster
    provider: k8s.Provider
    operator: pulumi.Resource  # the CRD must exist first (pulumi-kubernetes #861, #1164, #3188)
    namespace: pulumi.Resource
    receiver: pulumi.Resource


class FluxMiniCluster(pulumi.ComponentResource):
    """One Flux MiniCluster custom resource, as ``compatlab.kube.minicluster.minicluster`` builds it.

    Attributes: ``resource`` (a ``k8s.apiextensions.CustomResource``) and
    ``credentials`` (its Secret ``compatlab-<name>``, declared without data: ``compatlab
    register --write-secrets`` writes rainbow's token and secret, and a later ``pulumi up``,
    which applies server-side and owns no data field, keeps them); outputs ``name``,
    ``pool``, ``arch``, ``base``, ``size`` (pods). Depends on the operator, so it never
    races the CRD (pulumi-kubernetes #861, #1164, #3188), on the namespace, the
    receiver ConfigMap and its Secret, which its pods mount.
    """

    resource: pulumi.CustomResource
    credentials: pulumi.CustomResource

    def __init__(self, name: str, args: MiniClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("compatlab:flux:MiniCluster", name, {}, opts)
        mc = args.minicluster
        self.credentials = apply_object(
            f"{name}-credentials",
            credentials_placeholder(args.lab, credentials_secret_name(mc.name), NAMESPACE),
            pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[args.namespace]),
        )
        self.resource = apply_object(
            name, minicluster(args.lab, mc),
            pulumi.ResourceOptions(parent=self, provider=args.provider,
                                   depends_on=[args.operator, args.namespace, args.receiver, self.credentials]),
        )
        self.register_outputs({"name": mc.name, "pool": mc.pool, "arch": mc.arch,
                               "base": mc.base.name, "size": mc.size})
