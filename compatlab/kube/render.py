"""`compatlab render`: the lab's Kubernetes objects as files, for review or a kind dry run.

These are the very objects the Pulumi program applies (the same functions build
them), minus rainbow's Secrets, whose values live only in Pulumi's encrypted
state. The MiniClusters' credentials Secrets are written with placeholders only;
``compatlab register --kubeconfig`` fills them.
"""

from __future__ import annotations

from compatlab.files import dump_yaml
from compatlab.lab.model import Lab

from . import receiver
from .labels import KubeObject
from .minicluster import NAMESPACE as MINICLUSTERS
from .minicluster import credentials_secret_name, minicluster
from .minicluster import namespace as minicluster_namespace
from .operator import operator_files
from .rainbow import BACKEND_TLS, CREDENTIALS, core_objects, gke_objects
from .rainbow import NAMESPACE as RAINBOW_NAMESPACE


def object_file(obj: KubeObject) -> str:
    """The file name (str) of a Kubernetes object (dict): ``<kind, lowercased>-<metadata.name>.yaml``.

    Raises ``KeyError`` if ``obj`` has no ``kind`` or ``metadata.name``.
    """
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def all_objects(lab: Lab) -> dict[str, list[KubeObject]]:
    """{folder: [Kubernetes object dicts]}, in apply order within each folder. Raises as ``rainbow.deployment``.

    ``rainbow`` (``rainbow.core_objects``), ``gke`` (``rainbow.gke_objects``) and
    ``miniclusters`` (its Namespace, the receiver ConfigMap, each MiniCluster's
    credentials Secret with placeholders, then one MiniCluster per configured MiniCluster).
    """
    return {
        "rainbow": core_objects(lab),
        "gke": gke_objects(lab),
        "miniclusters": [minicluster_namespace(lab), receiver.configmap(lab, MINICLUSTERS)]
        + [receiver.credentials_placeholder(lab, credentials_secret_name(mc.name), MINICLUSTERS)
           for mc in lab.miniclusters]
        + [minicluster(lab, mc) for mc in lab.miniclusters],
    }


def _kustomization(resources: list[str]) -> bytes:
    return dump_yaml({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                      "resources": resources})


def render(lab: Lab) -> dict[str, bytes]:
    """The files ``compatlab render`` writes: {relative path: bytes of YAML or Markdown}.

    ``operator/`` (``operator_files``), one folder per ``all_objects`` entry with one file
    per object and a ``kustomization.yaml``, a top-level ``kustomization.yaml`` over
    ``operator``, ``rainbow`` and ``miniclusters`` (not ``gke``: kind has no GKE Ingress),
    and ``README.md`` saying which Secrets to create by hand. Raises as ``all_objects``.
    """
    files = {f"operator/{name}": dump_yaml(doc) for name, doc in operator_files(lab).items()}
    for folder, objects in all_objects(lab).items():
        names = [object_file(o) for o in objects]
        for name, obj in zip(names, objects, strict=True):
            files[f"{folder}/{name}"] = dump_yaml(obj)
        files[f"{folder}/kustomization.yaml"] = _kustomization(names)
    # kind has no GKE Ingress; `kubectl apply -k gke` only on GKE.
    files["kustomization.yaml"] = _kustomization(["operator", "rainbow", "miniclusters"])
    files["README.md"] = README.format(stack=lab.stack, ns=RAINBOW_NAMESPACE, creds=CREDENTIALS,
                                       tls=BACKEND_TLS).encode()
    return files


README = """# compatlab objects for stack {stack}

Written by `compatlab render --stack {stack}`: the objects `pulumi up` applies, for review or
a dry run on a local kind cluster. rainbow's Secrets are not written (the MiniClusters'
credentials Secrets are, with placeholders that `compatlab register --kubeconfig` fills);
create rainbow's yourself:

    kubectl create namespace {ns}
    kubectl -n {ns} create secret generic {creds} \\
        --from-literal=secret="$(openssl rand -hex 16)" --from-literal=token="$(openssl rand -hex 16)"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=rainbow -keyout tls.key -out tls.crt
    kubectl -n {ns} create secret tls {tls} --cert tls.crt --key tls.key

Then `kubectl apply -k .` (the operator CRD must exist before the MiniClusters: if the first
apply reports no match for kind MiniCluster, run it again). On kind, label the nodes as the
pools expect (`cloud.google.com/gke-nodepool=<pool>`). `gke/` holds the Ingress, its
BackendConfig (and, with `compatlab:rainbow.host`, its ManagedCertificate), which only GKE
understands: `kubectl apply -k gke` there.
"""
