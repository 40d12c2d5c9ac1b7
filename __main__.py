"""The Pulumi program: stack config -> lab model -> components -> stack outputs.

Everything is checked (schema, semantic rules, budget) before the first resource is
declared, so `pulumi preview` on a bad stack fails with one line and declares nothing.
"""

import json

import pulumi

from compatlab.cost import check_budget
from compatlab.formats.generate import generate
from compatlab.kube.labels import gcp_labels
from compatlab.kube.minicluster import NAMESPACE as MINICLUSTERS
from compatlab.kube.minicluster import namespace as minicluster_namespace
from compatlab.kube.rainbow import in_cluster_host
from compatlab.kube.receiver import configmap as receiver_configmap
from compatlab.lab.paths import stack_file
from compatlab.lab.stack import lab_config_keys, lab_from_config
from components.cluster import LabCluster, LabClusterArgs
from components.flux_operator import FluxOperator, FluxOperatorArgs
from components.minicluster import FluxMiniCluster, MiniClusterArgs
from components.objects import apply_object
from components.rainbow import Rainbow, RainbowArgs


def _value(raw: str):
    # Pulumi hands structured config over as JSON text and plain strings as they are.
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


config = pulumi.Config("compatlab")
raw = {key: _value(config.get(key)) for key in lab_config_keys() if config.get(key) is not None}
zone = pulumi.Config("gcp").require("zone")
# The zone is checked with the lab (its region's prices, Arm machines there) before anything is declared.
lab = lab_from_config(raw, stack_file(pulumi.get_stack()), zone=zone)
estimate = check_budget(lab)
labels = gcp_labels(lab)

cluster = LabCluster("compatlab", LabClusterArgs(
    zone=zone, pools=lab.pools, labels=labels, deletion_protection=lab.deletion_protection))
operator = FluxOperator("flux-operator", FluxOperatorArgs(lab=lab, provider=cluster.provider))
rainbow = Rainbow("rainbow", RainbowArgs(
    lab=lab, provider=cluster.provider, labels=labels,
    secret=config.get_secret("rainbowSecret"), token=config.get_secret("rainbowToken")))
namespace = apply_object("miniclusters-ns", minicluster_namespace(lab),
                         pulumi.ResourceOptions(provider=cluster.provider))
# compatlab itself, for `compatlab receive` inside every MiniCluster.
receiver = apply_object("compatlab-receiver", receiver_configmap(lab, MINICLUSTERS),
                        pulumi.ResourceOptions(provider=cluster.provider, depends_on=[namespace]))
miniclusters = [
    FluxMiniCluster(f"mc-{mc.name}", MiniClusterArgs(
        lab=lab, minicluster=mc, provider=cluster.provider, operator=operator, namespace=namespace,
        receiver=receiver))
    for mc in lab.miniclusters
]

# The generator's output, as the design card asks: metadata per cluster, jobspecs per level.
generated = generate(lab)
subsystems: dict[str, dict[str, str]] = {}
jobspecs: dict[str, dict[str, str]] = {}
for rel, data in generated.items():
    kind, group, name = rel.split("/", 2)
    (subsystems if kind == "clusters" else jobspecs).setdefault(group, {})[name] = data.decode()

pulumi.export("clusterName", cluster.cluster.name)
pulumi.export("zone", zone)
pulumi.export("kubeconfig", cluster.kubeconfig)  # secret: it names the cluster's endpoint and CA
pulumi.export("rainbowEndpoint", rainbow.endpoint)
pulumi.export("rainbowInClusterHost", in_cluster_host())
pulumi.export("rainbowCaCertificate", rainbow.ca_certificate)
pulumi.export("rainbowSecret", rainbow.secret)
pulumi.export("rainbowToken", rainbow.token)
pulumi.export("miniclusters", [
    {"name": mc.name, "pool": mc.pool, "arch": mc.arch, "base": mc.base.name, "size": mc.size}
    for mc in lab.miniclusters
])
pulumi.export("subsystemMetadata", subsystems)
pulumi.export("jobspecs", jobspecs)
pulumi.export("costUsdPerHour", {
    "configured": estimate.configured_usd_per_hour,
    "onDemand": estimate.on_demand_usd_per_hour,
    "spot": estimate.spot_usd_per_hour,
    "priceTableDate": estimate.price_table_date,
})
