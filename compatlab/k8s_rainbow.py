"""rainbow on the lab cluster: Deployment, Service, and a GKE Ingress that carries gRPC.

The path is HTTP/2 end to end with TLS at the edge. rainbow's own TLS demands client
certificates, which Google's load balancer does not present, so an Envoy sidecar
terminates the load balancer's TLS (HTTP/2) and forwards plain gRPC to rainbow; it
also answers the load balancer's HTTP health check, healthy only while rainbow's
port accepts connections (rainbow has no health service). Receivers inside the
cluster talk to rainbow's plain port through the Service.

Credentials never appear here: the Deployment reads them from the Secret
``CREDENTIALS`` that the Pulumi program fills from Pulumi secrets.
"""

from __future__ import annotations

import yaml

from .k8s_operator import system_node_selector
from .labels import kube_labels
from .model import Lab
from .versions import versions

NAMESPACE = "rainbow"
NAME = "rainbow"
CREDENTIALS = "rainbow-credentials"  # keys: secret, token
BACKEND_TLS = "rainbow-backend-tls"  # kubernetes.io/tls
TLS_PORT, HEALTH_PORT = 8443, 8080
SECURITY_POLICY = "compatlab-rainbow-{stack}"
SSL_CERTIFICATE = "compatlab-rainbow-{stack}"


def grpc_port() -> int:
    return int(versions()["rainbow"]["port"])


def in_cluster_host() -> str:
    return f"{NAME}.{NAMESPACE}.svc.cluster.local:{grpc_port()}"


def rainbow_image(lab: Lab) -> str:
    return f"{lab.image_repository}:{versions()['rainbow']['tag']}"


def _meta(lab: Lab, name: str = NAME, **extra) -> dict:
    return {"name": name, "namespace": NAMESPACE, "labels": kube_labels(lab, "rainbow"), **extra}


def _http_manager(prefix: str, routes: list, filters: list) -> dict:
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


def envoy_config() -> dict:
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


def namespace(lab: Lab) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": kube_labels(lab, "rainbow")}}


def envoy_configmap(lab: Lab) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(lab, f"{NAME}-envoy"),
            "data": {"envoy.yaml": yaml.safe_dump(envoy_config(), sort_keys=False)}}


def deployment(lab: Lab) -> dict:
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
        "image": versions()["envoy"]["image"],
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


def service(lab: Lab) -> dict:
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


def backend_config(lab: Lab) -> dict:
    return {
        "apiVersion": "cloud.google.com/v1", "kind": "BackendConfig", "metadata": _meta(lab),
        "spec": {
            "timeoutSec": 3600,
            "healthCheck": {"type": "HTTP", "port": HEALTH_PORT, "requestPath": "/healthz",
                            "checkIntervalSec": 10, "timeoutSec": 5},
            # GKE Ingress has no source-range annotation: a Cloud Armor policy restricts callers.
            "securityPolicy": {"name": SECURITY_POLICY.format(stack=lab.stack)},
        },
    }


def managed_certificate(lab: Lab) -> dict | None:
    if not lab.rainbow_host:
        return None
    return {"apiVersion": "networking.gke.io/v1", "kind": "ManagedCertificate", "metadata": _meta(lab),
            "spec": {"domains": [lab.rainbow_host]}}


def ingress(lab: Lab) -> dict:
    annotations = {"kubernetes.io/ingress.class": "gce", "kubernetes.io/ingress.allow-http": "false"}
    if lab.rainbow_host:
        annotations["networking.gke.io/managed-certificates"] = NAME
    else:  # no domain: a self-signed certificate the Pulumi program uploads
        annotations["ingress.gcp.kubernetes.io/pre-shared-cert"] = SSL_CERTIFICATE.format(stack=lab.stack)
    backend = {"service": {"name": NAME, "port": {"name": "grpc-tls"}}}
    spec: dict = {"defaultBackend": backend}
    if lab.rainbow_host:
        spec["rules"] = [{"host": lab.rainbow_host, "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": backend}]}}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": _meta(lab, annotations=annotations), "spec": spec}


def core_objects(lab: Lab) -> list[dict]:
    """What any Kubernetes runs (kind included)."""
    return [namespace(lab), envoy_configmap(lab), deployment(lab), service(lab)]


def gke_objects(lab: Lab) -> list[dict]:
    """What only GKE understands: the Ingress and its BackendConfig/ManagedCertificate."""
    return [o for o in (backend_config(lab), managed_certificate(lab), ingress(lab)) if o]
