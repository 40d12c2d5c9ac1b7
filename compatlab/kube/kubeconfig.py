"""A kubeconfig for a GKE cluster that authenticates with gke-gcloud-auth-plugin.

The ``exec`` stanza is the one ``gcloud container clusters get-credentials`` writes
(GKE docs, "Install kubectl and configure cluster access").
"""

from __future__ import annotations

import yaml


def gke_kubeconfig(name: str, endpoint: str, ca_certificate: str) -> str:
    """The kubeconfig YAML text (str) for one cluster, one context ``compatlab-<name>``.

    ``name`` is the GKE cluster's name, ``endpoint`` its API server address (IP or host,
    no scheme; ``https://`` is added), ``ca_certificate`` its base64-encoded PEM CA as the
    cluster's ``master_auth.cluster_ca_certificate`` gives it. Holds no credential: the
    user is ``gke-gcloud-auth-plugin`` (``client.authentication.k8s.io/v1beta1``). Raises nothing.
    """
    context = f"compatlab-{name}"
    return yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {
            "server": f"https://{endpoint}", "certificate-authority-data": ca_certificate}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
        "users": [{"name": context, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "gke-gcloud-auth-plugin",
            "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
        }}}],
    }, sort_keys=False)
