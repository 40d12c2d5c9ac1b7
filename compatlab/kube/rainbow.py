"""rainbow on the lab cluster: Deployment, Service, and a GKE Ingress that carries gRPC.

The path is HTTP/2 end to end with TLS at the edge. rainbow's own TLS demands client
certificates, which Google's load balancer does not present, so an Envoy sidecar
terminates the load balancer's TLS (HTTP/2) and forwards plain gRPC to rainbow; it
also answers the load balancer's HTTP health check, healthy only while rainbow's
port accepts connections (rainbow has no health service). Receivers inside the
cluster talk to rainbow's plain port through the Service.

Credentials never appear here: the Deployment reads them from the Secret
``CREDENTIALS`` that the Pulumi program fills from Pulumi secrets.

Sources: rainbow's server flags (``cmd/server/server.go`` at the commit pinned in
``compatlab/data/versions.yaml``), Envoy's v3 API, and GKE's Ingress docs (Service
annotations ``cloud.google.com/app-protocols``, ``backend-config``, ``neg``; BackendConfig;
ManagedCertificate; pre-shared certificates). Ports: ``TLS_PORT`` 8443 and
``HEALTH_PORT`` 8080 are Envoy's (TCP), rainbow's plain gRPC port is ``grpc_port()``.
"""

from __future__ import annotations

from typing import Any

import yaml

from compatlab.lab.catalogue import pins
from compatlab.lab.model import Lab

from .labels import KubeObject, kube_labels
from .operator import system_node_selector

NAMESPACE = "rainbow"
NAME = "rainbow"
CREDENTIALS = "rainbow-credentials"  # keys: secret, token
BACKEND_TLS = "rainbow-backend-tls"  # kubernetes.io/tls
TLS_PORT, HEALTH_PORT = 8443, 8080
SECURITY_POLICY = "compatlab-rainbow-{stack}"
SSL_CERTIFICATE = "compatlab-rainbow-{stack}"


def grpc_port() -> int:
    """rainbow's plain gRPC TCP port (50051), ``rainbow.port`` in ``compatlab/data/versions.yaml``. Raises nothing."""
    return int(pins()["rainbow"]["port"])


def in_cluster_host() -> str:
    """``host:port`` (str) receivers in the cluster dial: ``rainbow.rainbow.svc.cluster.local:<grpc_port>``.

    Plain gRPC through the Service's ``grpc`` port, as rainbow's Python client does. Raises nothing.
    """
    return f"{NAME}.{NAMESPACE}.svc.cluster.local:{grpc_port()}"


def rainbow_image(lab: Lab) -> str:
    """The rainbow server image reference (str): ``<lab.image_repository>:<rainbow.tag>``.

    rainbow publishes only ``:latest``, so the images workflow builds the commit pinned in
    ``compatlab/data/versions.yaml`` and pushes it under that tag. Raises nothing.
    """
    return f"{lab.image_repository}:{pins()['rainbow']['tag']}"


def _meta(lab: Lab, name: str = NAME, **extra: Any) -> KubeObject:
    return {"name": name, "namespace": NAMESPACE, "labels": kube_labels(lab, "rainbow"), **extra}


def _http_manager(prefix: str, routes: list[KubeObject], filters: list[KubeObject]) -> KubeObject:
    return {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
                     ".HttpConnectionManager",
            "stat_prefix": prefix,
            "codec_type": "AUTO",
            "stream_idle_timeout": "3600s",
            "route_config": {"virtual_hosts": [{"name": prefix, "domains": ["*"], "routes": routes}]},
            "http_filters": [*filters, {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
            }],
        },
    }


def envoy_config() -> dict[str, Any]:
    """dict: Envoy's bootstrap config (v3 API: the ``@type`` URLs name each message).

    Listener ``grpc_tls`` on ``TLS_PORT`` terminates TLS (ALPN ``h2``, certificate from
    ``/etc/envoy/tls``, the ``BACKEND_TLS`` Secret) and routes everything to cluster
    ``rainbow`` at 127.0.0.1:``grpc_port()`` over HTTP/2, with no route timeout and a
    3600 s stream idle timeout. Listener ``health`` on ``HEALTH_PORT`` answers ``/healthz``
    200 only while that cluster's TCP health check passes (every 5 s, 2 s timeout), else
    503; other paths 404. Raises nothing.
    """
    tls = {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "alpn_protocols": ["h2"],
                "tls_certificates": [{"certificate_chain": {"filename": "/etc/envoy/tls/tls.crt"},
                                      "private_key": {"filename": "/etc/envoy/tls/tls.key"}}],
            },
        },
    }
    health = {
        "name": "envoy.filters.http.health_check",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck",
            "pass_through_mode": False,
            "headers": [{"name": ":path", "string_match": {"exact": "/healthz"}}],
            "cluster_min_healthy_percentages": {NAME: {"value": 100}},
        },
    }
    return {"static_resources": {
        "listeners": [
            {"name": "grpc_tls",
             "address": {"socket_address": {"address": "0.0.0.0", "port_value": TLS_PORT}},
             "filter_chains": [{
                 "filters": [_http_manager("grpc_tls", [
                     {"match": {"prefix": "/"}, "route": {"cluster": NAME, "timeout": "0s"}}], [])],
                 "transport_socket": tls}]},
            {"name": "health",
             "address": {"socket_address": {"address": "0.0.0.0", "port_value": HEALTH_PORT}},
             "filter_chains": [{"filters": [_http_manager("health", [
                 {"match": {"prefix": "/"}, "direct_response": {"status": 404}}], [health])]}]},
        ],
        "clusters": [{
            "name": NAME,
            "type": "STATIC",
            "connect_timeout": "2s",
            "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }},
            "load_assignment": {"cluster_name": NAME, "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": grpc_port()}}}}]}]},
            "health_checks": [{"timeout": "2s", "interval": "5s", "unhealthy_threshold": 2,
                               "healthy_threshold": 1, "tcp_health_check": {}}],
        }],
    }}


def namespace(lab: Lab) -> KubeObject:
    """dict: the Kubernetes Namespace ``rainbow``. Raises nothing."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": kube_labels(lab, "rainbow")}}


def envoy_configmap(lab: Lab) -> KubeObject:
    """dict: the ConfigMap ``rainbow-envoy``, key ``envoy.yaml``: ``envoy_config()`` as YAML. Raises nothing."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(lab, f"{NAME}-envoy"),
            "data": {"envoy.yaml": yaml.safe_dump(envoy_config(), sort_keys=False)}}


def deployment(lab: Lab) -> KubeObject:
    """dict: the Kubernetes Deployment of rainbow and its Envoy sidecar, one replica on the system pool.

    rainbow gets an explicit command and args (``--host :<grpc_port> --name --secret
    --global-token``, rainbow's server flags) because its Dockerfile's CMD passes
    ``--address``, which the server no longer knows; secret and token come from the
    ``CREDENTIALS`` Secret. Requests: rainbow 250m CPU / 256 MiB (limit 1 GiB), Envoy
    50m / 64 MiB (limit 256 MiB). Raises as ``operator.system_pool``.
    """
    selector = {"app.kubernetes.io/name": NAME}
    env = [{"name": var, "valueFrom": {"secretKeyRef": {"name": CREDENTIALS, "key": key}}}
           for var, key in (("RAINBOW_SECRET", "secret"), ("RAINBOW_TOKEN", "token"))]
    server = {
        "name": NAME,
        "image": rainbow_image(lab),
        # The image's default CMD passes --address, which the server no longer knows.
        "command": ["rainbow-scheduler"],
        "args": ["--host", f":{grpc_port()}", "--name", NAME,
                 "--secret", "$(RAINBOW_SECRET)", "--global-token", "$(RAINBOW_TOKEN)"],
        "env": env,
        "ports": [{"name": "grpc", "containerPort": grpc_port()}],
        "readinessProbe": {"tcpSocket": {"port": grpc_port()}, "periodSeconds": 5},
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    }
    envoy = {
        "name": "envoy",
        "image": pins()["envoy"]["image"],
        "args": ["-c", "/etc/envoy/envoy.yaml", "--log-level", "warn"],
        "ports": [{"name": "grpc-tls", "containerPort": TLS_PORT}, {"name": "health", "containerPort": HEALTH_PORT}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": HEALTH_PORT}, "periodSeconds": 5},
        "volumeMounts": [{"name": "envoy", "mountPath": "/etc/envoy", "readOnly": True},
                         {"name": "tls", "mountPath": "/etc/envoy/tls", "readOnly": True}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(lab),
        "spec": {
            "replicas": 1,  # rainbow keeps its state in memory: one scheduler
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, **kube_labels(lab, "rainbow")}},
                "spec": {
                    "nodeSelector": system_node_selector(lab),
                    "containers": [server, envoy],
                    "volumes": [{"name": "envoy", "configMap": {"name": f"{NAME}-envoy"}},
                                {"name": "tls", "secret": {"secretName": BACKEND_TLS}}],
                },
            },
        },
    }


def service(lab: Lab) -> KubeObject:
    """dict: the ClusterIP Service ``rainbow`` in front of rainbow and Envoy.

    Ports (TCP): ``grpc`` (``grpc_port()``, in-cluster receivers), ``grpc-tls`` (443 to
    Envoy's 8443, the load balancer), ``health`` (8080). Annotations per GKE's Ingress
    docs: ``cloud.google.com/app-protocols`` makes the load balancer speak HTTP/2 (TLS)
    to ``grpc-tls``, ``cloud.google.com/backend-config`` binds ``backend_config`` to that
    port, ``cloud.google.com/neg`` asks for container-native load balancing. Raises nothing.
    """
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": _meta(lab, annotations={
            "cloud.google.com/app-protocols": '{"grpc-tls": "HTTP2"}',
            "cloud.google.com/backend-config": f'{{"ports": {{"grpc-tls": "{NAME}"}}}}',
            "cloud.google.com/neg": '{"ingress": true}',
        }),
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": NAME},
            "ports": [
                {"name": "grpc", "port": grpc_port(), "targetPort": "grpc"},  # in-cluster receivers
                {"name": "grpc-tls", "port": 443, "targetPort": "grpc-tls"},  # the load balancer
                {"name": "health", "port": HEALTH_PORT, "targetPort": "health"},
            ],
        },
    }


def backend_config(lab: Lab) -> KubeObject:
    """dict: the GKE ``BackendConfig`` (``cloud.google.com/v1``) of the load balancer's backend.

    3600 s backend timeout (long gRPC streams); an HTTP health check of Envoy's
    ``/healthz`` on ``HEALTH_PORT`` every 10 s, 5 s timeout; the Cloud Armor policy
    ``compatlab-rainbow-<stack>`` that admits only ``rainbow.sourceRanges`` (GKE Ingress has no
    source-range annotation). Field names per GKE's BackendConfig docs. Raises nothing.
    """
    return {
        "apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": _meta(lab),
        "spec": {
            "timeoutSec": 3600,
            "healthCheck": {"type": "HTTP", "port": HEALTH_PORT, "requestPath": "/healthz",
                            "checkIntervalSec": 10, "timeoutSec": 5},
            # GKE Ingress has no source-range annotation: a Cloud Armor policy restricts callers.
            "securityPolicy": {"name": SECURITY_POLICY.format(stack=lab.stack_id)},
        },
    }


def managed_certificate(lab: Lab) -> KubeObject | None:
    """dict: a GKE ``ManagedCertificate`` (``networking.gke.io/v1``) for ``lab.rainbow_host``; None without a host.

    Raises nothing.
    """
    if not lab.rainbow_host:
        return None
    return {"apiVersion": "networking.gke.io/v1", "kind": "ManagedCertificate", "metadata": _meta(lab),
            "spec": {"domains": [lab.rainbow_host]}}


def ingress(lab: Lab) -> KubeObject:
    """dict: the GKE Ingress (``networking.k8s.io/v1``, class ``gce``), HTTPS only, to the Service's ``grpc-tls``.

    With ``lab.rainbow_host``: a host rule and the ``ManagedCertificate`` (annotation
    ``networking.gke.io/managed-certificates``); without: the pre-shared certificate
    ``compatlab-rainbow-<stack>`` the Pulumi program uploads (``ingress.gcp.kubernetes.io/pre-shared-cert``).
    Annotations per GKE's Ingress docs. Raises nothing.
    """
    annotations = {"kubernetes.io/ingress.class": "gce", "kubernetes.io/ingress.allow-http": "false"}
    if lab.rainbow_host:
        annotations["networking.gke.io/managed-certificates"] = NAME
    else:  # no domain: a self-signed certificate the Pulumi program uploads
        annotations["ingress.gcp.kubernetes.io/pre-shared-cert"] = SSL_CERTIFICATE.format(stack=lab.stack_id)
    backend = {"service": {"name": NAME, "port": {"name": "grpc-tls"}}}
    spec: KubeObject = {"defaultBackend": backend}
    if lab.rainbow_host:
        spec["rules"] = [{"host": lab.rainbow_host, "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": backend}]}}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": _meta(lab, annotations=annotations), "spec": spec}


def core_objects(lab: Lab) -> list[KubeObject]:
    """list of dict: what any Kubernetes runs (kind included), in apply order.

    Namespace, Envoy ConfigMap, Deployment, Service; the Namespace is first (the Pulumi
    program relies on it). Raises as ``deployment``.
    """
    return [namespace(lab), envoy_configmap(lab), deployment(lab), service(lab)]


def gke_objects(lab: Lab) -> list[KubeObject]:
    """list of dict: what only GKE understands, in apply order. Raises nothing.

    BackendConfig, ManagedCertificate (only with ``lab.rainbow_host``), Ingress.
    """
    return [o for o in (backend_config(lab), managed_certificate(lab), ingress(lab)) if o]
