"""Pulumi ComponentResources for the lab: no experiment logic lives here, only declarations.

``cluster`` (GKE cluster, node pools, kubeconfig, Kubernetes provider), ``flux_operator``,
``rainbow`` and ``minicluster``; ``objects`` applies the plain-data objects that
``compatlab.kube`` builds. ``__main__.py`` wires them together.
"""
