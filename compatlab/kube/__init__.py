"""The lab on Kubernetes, as plain data.

Owns the objects the Pulumi program and ``compatlab render`` apply (the Flux
Operator patch, rainbow with its Envoy sidecar and GKE Ingress, MiniClusters),
their labels, and the GKE kubeconfig. Built from the lab model alone: imports
only from ``compatlab.lab`` and the base modules, never pulumi.
"""
