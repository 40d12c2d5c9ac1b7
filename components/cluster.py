"""The GKE cluster and its node pools: one pool per configured pool, arches kept apart."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from compatlab.kube.kubeconfig import gke_kubeconfig
from compatlab.lab.model import Pool


@dataclass(frozen=True)
class LabClusterArgs:
    """Inputs of ``LabCluster``.

    ``zone``: a GCP zone (e.g. ``us-central1-a``; Arm pools need one with T2A/C4A);
    ``pools``: the lab's pools; ``labels``: {label: value} for every GCP resource
    (``kube.labels.gcp_labels``); ``deletion_protection``: GKE's, False so ``pulumi destroy`` works.
    """

    zone: str
    pools: tuple[Pool, ...]
    labels: dict[str, str]
    deletion_protection: bool = False


class LabCluster(pulumi.ComponentResource):
    """A zonal GKE Standard cluster without its default pool, one node pool per lab pool.

    Declares the cluster (REGULAR release channel, VPC-native), one ``NodePool`` per pool
    (``node_count`` nodes of its machine type, boot disk GB and type, spot or not, nodes
    labelled ``compatlab/pool`` and ``compatlab/arch``), and a Kubernetes provider.
    Attributes: ``cluster``, ``pools`` ({pool name: NodePool}), ``kubeconfig`` (secret
    Output of the YAML text) and ``provider``, which depends on every pool so nothing is
    scheduled before nodes exist. Depends on the gcp provider's project; nothing else.
    """

    cluster: gcp.container.Cluster
    pools: dict[str, gcp.container.NodePool]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, args: LabClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("compatlab:gke:LabCluster", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Zonal, so node_count is the real number of nodes (a regional pool multiplies it by 3).
        self.cluster = gcp.container.Cluster(
            name,
            location=args.zone,
            remove_default_node_pool=True,
            initial_node_count=1,
            deletion_protection=args.deletion_protection,
            resource_labels=args.labels,
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel="REGULAR"),
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(),
            opts=child,
        )
        self.pools = {pool.name: self._pool(name, pool, args) for pool in args.pools}
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster.name, self.cluster.endpoint,
                              self.cluster.master_auth.cluster_ca_certificate)
            .apply(lambda a: gke_kubeconfig(a[0], a[1], a[2]))
        )
        # The provider waits for the pools so nothing is scheduled onto a cluster without nodes.
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.pools.values())),
        )
        self.register_outputs({
            "clusterName": self.cluster.name,
            "endpoint": self.cluster.endpoint,
            "pools": {n: p.name for n, p in self.pools.items()},
        })

    def _pool(self, name: str, pool: Pool, args: LabClusterArgs) -> gcp.container.NodePool:
        return gcp.container.NodePool(
            f"{name}-{pool.name}",
            name=pool.name,  # nodes carry cloud.google.com/gke-nodepool=<pool>, which MiniClusters select
            cluster=self.cluster.name,
            location=args.zone,
            node_count=pool.node_count,
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=pool.machine.name,
                disk_size_gb=pool.disk_size_gb,
                disk_type=pool.disk_type,
                spot=pool.spot,
                labels={"compatlab/pool": pool.name, "compatlab/arch": pool.arch},
                resource_labels=args.labels,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
