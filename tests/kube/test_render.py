"""`compatlab render`: objects that validate against Kubernetes and the operator's API."""

from __future__ import annotations

import jsonschema
import kubernetes_validate
import pytest
import yaml

from compatlab.cli import main
from compatlab.lab.stack import load_lab
from tests.minicluster_schema import minicluster_schema
from tests.pulumi_harness import run_program

KUBERNETES = "1.33.0"  # GKE's regular channel


@pytest.fixture(scope="module", params=["full", "dev"])
def rendered(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param) / "objects"
    assert main(["render", "--stack", request.param, "--out", str(out)]) == 0
    return request.param, out


def objects(out, folder):
    return [yaml.safe_load(p.read_text()) for p in sorted((out / folder).glob("*.yaml"))
            if p.name != "kustomization.yaml"]


def test_core_objects_validate_with_kubernetes_validate(rendered):
    _, out = rendered
    core = objects(out, "rainbow") + [o for o in objects(out, "miniclusters") if o["kind"] != "MiniCluster"]
    core += [o for o in objects(out, "gke") if o["kind"] == "Ingress"]
    assert {o["kind"] for o in core} == {"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Ingress"}
    for obj in core:
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def test_miniclusters_validate_against_the_operators_api(rendered):
    stack, out = rendered
    schema = minicluster_schema()
    found = [o for o in objects(out, "miniclusters") if o["kind"] == "MiniCluster"]
    assert len(found) == len(load_lab(stack).miniclusters)
    for obj in found:
        jsonschema.validate(obj, schema)


def test_the_schema_rejects_what_the_operator_does_not_know(rendered):
    _, out = rendered
    obj = next(o for o in objects(out, "miniclusters") if o["kind"] == "MiniCluster")
    obj["spec"]["pod"]["tolerations"] = []  # not in 0.2.x
    with pytest.raises(jsonschema.ValidationError, match="tolerations"):
        jsonschema.validate(obj, minicluster_schema())


def test_every_object_is_listed_in_its_kustomization(rendered):
    _, out = rendered
    top = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert top["resources"] == ["operator", "rainbow", "miniclusters"]
    for folder in ("rainbow", "miniclusters", "gke"):
        listed = yaml.safe_load((out / folder / "kustomization.yaml").read_text())["resources"]
        assert sorted(listed) == sorted(p.name for p in (out / folder).glob("*.yaml") if p.name != "kustomization.yaml")
    operator = yaml.safe_load((out / "operator/kustomization.yaml").read_text())
    assert operator["resources"][0].endswith("/0.2.1/examples/dist/flux-operator.yaml")
    patch = yaml.safe_load((out / "operator/controller-patch.yaml").read_text())
    assert {"name": "kube-rbac-proxy", "$patch": "delete"} in patch["spec"]["template"]["spec"]["containers"]


def test_no_credential_is_rendered(rendered):
    stack, out = rendered
    docs = [yaml.safe_load(p.read_text()) for p in out.rglob("*.yaml")]
    secrets = [doc for doc in docs if doc.get("kind") == "Secret"]
    # Only each MiniCluster's credentials Secret, empty until register writes rainbow's answer into it.
    assert sorted(s["metadata"]["name"] for s in secrets) == sorted(f"compatlab-{mc.name}"
                                                                   for mc in load_lab(stack).miniclusters)
    assert not any("data" in s or "stringData" in s for s in secrets)
    assert "create secret generic rainbow-credentials" in (out / "README.md").read_text()


def test_rendered_miniclusters_are_the_ones_pulumi_declares():
    mocks, _, _ = run_program("dev")
    declared = {d.inputs["metadata"]["name"]: d.inputs["spec"] for d in mocks.declared
                if d.type == "kubernetes:flux-framework.org/v1alpha2:MiniCluster"}
    from compatlab.kube.minicluster import minicluster

    lab = load_lab("dev")
    assert declared == {mc.name: minicluster(lab, mc)["spec"] for mc in lab.miniclusters}
