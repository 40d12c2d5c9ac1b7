"""The Pulumi program under Pulumi's mocks, for both stacks: what `pulumi up` would declare."""

from __future__ import annotations

import re

import pytest

from compatlab.errors import LabError
from compatlab.lab.stack import load_lab
from components.flux_operator import operator_transform
from tests.pulumi_harness import RecordingMocks, run_program, stack_config


@pytest.fixture(scope="module", params=["full", "dev"])
def program(request):
    mocks, globals_, exports = run_program(request.param)
    return request.param, mocks, exports


def declared(mocks, type_):
    return [d for d in mocks.declared if d.type == type_]


def one(mocks, type_):
    found = declared(mocks, type_)
    assert len(found) == 1, f"{type_}: {len(found)}"
    return found[0]


def test_a_zonal_cluster_without_its_default_pool_and_no_deletion_protection(program):
    stack, mocks, _ = program
    cluster = one(mocks, "gcp:container/cluster:Cluster")
    assert cluster.inputs["location"] == "us-central1-a"
    assert cluster.inputs["removeDefaultNodePool"] is True
    assert cluster.inputs["deletionProtection"] is False
    assert cluster.inputs["resourceLabels"] == {"project": "compatlab", "stack": stack, "expiry": "2026-12-31"}


def test_one_node_pool_per_lab_pool_with_its_arch_and_machine(program):
    stack, mocks, _ = program
    lab = load_lab(stack)
    pools = {d.inputs["name"]: d.inputs for d in declared(mocks, "gcp:container/nodePool:NodePool")}
    assert set(pools) == {p.name for p in lab.pools}
    for pool in lab.pools:
        got = pools[pool.name]
        config = got["nodeConfig"]
        assert got["nodeCount"] == pool.node_count and got["location"] == "us-central1-a"
        assert config["machineType"] == pool.machine.name and config["spot"] is pool.spot
        assert config["labels"]["compatlab/arch"] == pool.arch
        assert config["machineType"].startswith("t2a-" if pool.arch == "arm64" else "e2-")
        assert config["resourceLabels"]["expiry"] == "2026-12-31"


def test_the_operator_comes_from_the_pinned_release(program):
    _, mocks, _ = program
    manifest = one(mocks, "kubernetes:yaml/v2:ConfigFile")
    assert manifest.inputs["file"].startswith("https://raw.githubusercontent.com/flux-framework/flux-operator/0.2.1/")


def test_every_minicluster_depends_on_the_operator(program):
    stack, mocks, _ = program
    crs = declared(mocks, "kubernetes:flux-framework.org/v1alpha2:MiniCluster")
    assert len(crs) == len(load_lab(stack).miniclusters)
    for cr in crs:
        options = mocks.options[("kubernetes:flux-framework.org/v1alpha2:MiniCluster", cr.name)]
        assert "flux-operator" in options.depends_on, cr.name
        assert options.provider == "compatlab-k8s"


def test_every_minicluster_mounts_the_receiver_and_a_secret_register_fills(program):
    stack, mocks, _ = program
    configmaps = [d for d in declared(mocks, "kubernetes:core/v1:ConfigMap") if d.name == "compatlab-receiver"]
    assert len(configmaps) == 1 and "compatlab.zip" in configmaps[0].inputs["binaryData"]
    secrets = {d.name: d for d in declared(mocks, "kubernetes:core/v1:Secret") if d.name.endswith("-credentials")
               and d.name.startswith("mc-")}
    for mc in load_lab(stack).miniclusters:
        secret = secrets[f"mc-{mc.name}-credentials"]
        assert secret.inputs["metadata"]["name"] == f"compatlab-{mc.name}"
        # No data at all: register writes it, and a later `pulumi up` (server-side apply) owns none to take back.
        assert "stringData" not in secret.inputs and "data" not in secret.inputs
        deps = mocks.options[("kubernetes:flux-framework.org/v1alpha2:MiniCluster", f"mc-{mc.name}")].depends_on
        assert {"compatlab-receiver", f"mc-{mc.name}-credentials"} <= set(deps)


def test_the_arm_cluster_gets_arm_images_and_the_arm_flux_view(program):
    stack, mocks, _ = program
    for cr in declared(mocks, "kubernetes:flux-framework.org/v1alpha2:MiniCluster"):
        spec = cr.inputs["spec"]
        arch = spec["pod"]["nodeSelector"]["kubernetes.io/arch"]
        image = spec["containers"][0]["image"]
        assert image.endswith(f"-{arch}"), cr.name
        if arch == "arm64":
            assert spec["flux"]["arch"] == "arm" and ":arm-" in spec["flux"]["container"]["image"]
        else:
            assert "arch" not in spec["flux"] and ":tag-" in spec["flux"]["container"]["image"]


def test_each_minicluster_is_pinned_to_its_pool_and_named_for_itself(program):
    stack, mocks, _ = program
    lab = load_lab(stack)
    by_name = {cr.inputs["metadata"]["name"]: cr.inputs["spec"]
               for cr in declared(mocks, "kubernetes:flux-framework.org/v1alpha2:MiniCluster")}
    for mc in lab.miniclusters:
        spec = by_name[mc.name]
        assert spec["pod"]["nodeSelector"]["cloud.google.com/gke-nodepool"] == mc.pool
        assert spec["size"] == mc.size and spec["interactive"] is True
        container = spec["containers"][0]
        assert container["environment"]["CLUSTER_NAME"] == mc.name
        assert "docker pull" not in container["image"]
        assert "rainbow-scheduler==0.0.16" in container["commands"]["brokerPre"]
        assert "jobspec==0.1.15" in container["commands"]["brokerPre"]
        assert container["name"] == mc.name  # the operator names it so; exec and limits look for it
        limits = container["resources"]["limits"]
        assert limits == container["resources"]["requests"]
        assert limits["memory"] == f"{mc.memory_gb}G" and limits["ephemeral-storage"] == f"{mc.disk_gb}G"
        privileged = container.get("securityContext", {}).get("privileged", False)
        assert privileged is mc.base.name.startswith("rocky"), mc.name


def test_the_starved_and_tiny_clusters_are_really_bounded():
    mocks, _, _ = run_program("full")
    specs = {cr.inputs["metadata"]["name"]: cr.inputs["spec"]["containers"][0]["resources"]["limits"]
             for cr in declared(mocks, "kubernetes:flux-framework.org/v1alpha2:MiniCluster")}
    assert specs["lowmem-jammy-amd64"]["memory"] == "1G"
    assert specs["tinydisk-jammy-amd64"]["ephemeral-storage"] == "1G"
    assert specs["jammy-amd64"]["memory"] == "2G"


def test_rainbow_runs_a_pinned_image_with_explicit_command_and_secret_args(program):
    _, mocks, _ = program
    pod = one(mocks, "kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    server = next(c for c in pod["containers"] if c["name"] == "rainbow")
    assert server["command"] == ["rainbow-scheduler"] and "--address" not in server["args"]
    assert not server["image"].endswith(":latest") and ":" in server["image"].rsplit("/", 1)[1]
    assert server["args"][server["args"].index("--secret") + 1] == "$(RAINBOW_SECRET)"
    assert {e["valueFrom"]["secretKeyRef"]["name"] for e in server["env"]} == {"rainbow-credentials"}
    assert pod["nodeSelector"]["kubernetes.io/arch"] == "amd64"


def test_the_ingress_carries_grpc_over_http2_with_tls_and_restricted_callers(program):
    stack, mocks, _ = program
    service = one(mocks, "kubernetes:core/v1:Service").inputs
    assert service["metadata"]["annotations"]["cloud.google.com/app-protocols"] == '{"grpc-tls": "HTTP2"}'
    ingress = one(mocks, "kubernetes:networking.k8s.io/v1:Ingress").inputs
    annotations = ingress["metadata"]["annotations"]
    assert annotations["kubernetes.io/ingress.allow-http"] == "false"
    cert = one(mocks, "gcp:compute/sSLCertificate:SSLCertificate").inputs
    assert annotations["ingress.gcp.kubernetes.io/pre-shared-cert"] == cert["name"]
    backend = one(mocks, "kubernetes:cloud.google.com/v1:BackendConfig").inputs["spec"]
    policy = one(mocks, "gcp:compute/securityPolicy:SecurityPolicy").inputs
    assert backend["securityPolicy"]["name"] == policy["name"]
    assert backend["healthCheck"]["port"] == 8080 and backend["healthCheck"]["requestPath"] == "/healthz"
    allowed = policy["rules"][0]
    assert allowed["action"] == "allow"
    assert allowed["match"]["config"]["srcIpRanges"] == list(load_lab(stack).rainbow_source_ranges)
    assert policy["rules"][-1]["action"].startswith("deny")
    assert policy["labels"] == {"project": "compatlab", "stack": stack, "expiry": "2026-12-31"}


def test_secrets_are_secret_outputs_and_nowhere_in_plain_text(program):
    _, mocks, exports = program
    secret_value = "mock-rainbow-secret-value"
    assert exports["rainbowSecret"] == (secret_value, True)
    assert exports["rainbowToken"][1] is True and exports["kubeconfig"][1] is True
    for name, (value, is_secret) in exports.items():
        if not is_secret:
            assert secret_value not in str(value), name
    for d in mocks.declared:
        if d.type != "kubernetes:core/v1:Secret":
            assert secret_value not in str(d.inputs), d.name


def test_outputs_carry_the_endpoint_miniclusters_metadata_jobspecs_and_cost(program):
    stack, _, exports = program
    lab = load_lab(stack)
    assert exports["rainbowEndpoint"][0] == "198.51.100.7:443"
    assert [m["name"] for m in exports["miniclusters"][0]] == [mc.name for mc in lab.miniclusters]
    assert set(exports["subsystemMetadata"][0]) == {mc.name for mc in lab.miniclusters}
    assert "archspec-subsystem.json" in exports["subsystemMetadata"][0][lab.miniclusters[0].name]
    assert set(exports["jobspecs"][0]) == {level.name for level in lab.levels}
    assert 0 < exports["costUsdPerHour"][0]["configured"] <= lab.max_hourly_usd


def test_credentials_from_config_replace_generated_ones():
    config = stack_config("dev")
    config["compatlab:rainbowSecret"] = "from-config-secret"
    mocks, _, exports = run_program("dev", config)
    assert exports["rainbowSecret"] == ("from-config-secret", True)
    assert len(declared(mocks, "random:index/randomPassword:RandomPassword")) == 1  # the token only


def test_a_budget_overrun_stops_before_any_resource():
    config = stack_config("full")
    config["compatlab:budget"] = '{"maxHourlyUsd": 0.5}'
    mocks = RecordingMocks()
    with pytest.raises(LabError, match=r"compatlab:budget\.maxHourlyUsd: the lab is estimated at 0\.73"):
        run_program("full", config, mocks)
    assert mocks.declared == []


@pytest.mark.parametrize(("key", "value", "message"), [
    ("compatlab:pools", '[{"name": "amd", "arch": "amd64", "machineType": "t2a-standard-4", "nodeCount": 1}]',
     "pools[0].machineType: 't2a-standard-4' is an arm64 machine"),
    ("compatlab:miniclusters", '[{"name": "x", "base": "centos-7", "arch": "amd64", "pool": "amd", "size": 1}]',
     "miniclusters[0].base: 'centos-7' is not a base"),
])
def test_bad_input_is_caught_before_any_resource(key, value, message):
    config = stack_config("dev")
    config[key] = value
    mocks = RecordingMocks()
    with pytest.raises(LabError, match=re.escape(message)):
        run_program("dev", config, mocks)
    assert mocks.declared == []


class _Args:
    def __init__(self, type_, props):
        self.type_, self.props, self.opts = type_, props, None


def test_the_operator_transform_pins_the_controller_and_drops_the_dead_sidecar():
    lab = load_lab("full")
    props = {"metadata": {"name": "operator-controller-manager", "namespace": "operator-system"},
             "spec": {"template": {"spec": {"containers": [
                 {"name": "kube-rbac-proxy", "image": "gcr.io/kubebuilder/kube-rbac-proxy:v0.11.0"},
                 {"name": "manager", "image": "ghcr.io/flux-framework/flux-operator:latest"}]}}}}
    result = operator_transform(lab)(_Args("kubernetes:apps/v1:Deployment", props))
    pod = result.props["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["manager"]
    assert pod["containers"][0]["image"] == "ghcr.io/flux-framework/flux-operator:v0.2.1"
    assert pod["nodeSelector"] == {"kubernetes.io/arch": "amd64", "cloud.google.com/gke-nodepool": "system"}
    other = {"metadata": {"name": "something-else"}, "spec": {}}
    assert operator_transform(lab)(_Args("kubernetes:apps/v1:Deployment", other)) is None
    assert operator_transform(lab)(_Args("kubernetes:core/v1:Service", props)) is None
