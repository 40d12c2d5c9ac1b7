"""The Envoy sidecar in front of rainbow: its config parses as Envoy's own API and wires up right."""

from __future__ import annotations

import pytest
import yaml
from envoy.config.bootstrap.v3 import bootstrap_pb2
from envoy.extensions.filters.http.health_check.v3 import health_check_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2  # noqa: F401  (registers the type)
from envoy.extensions.filters.network.http_connection_manager.v3 import http_connection_manager_pb2 as hcm
from envoy.extensions.transport_sockets.tls.v3 import tls_pb2
from envoy.extensions.upstreams.http.v3 import http_protocol_options_pb2  # noqa: F401
from google.protobuf import json_format

from compatlab.kube import rainbow as spec


@pytest.fixture(scope="module")
def bootstrap(full_lab) -> bootstrap_pb2.Bootstrap:
    text = spec.envoy_configmap(full_lab)["data"]["envoy.yaml"]
    return json_format.ParseDict(yaml.safe_load(text), bootstrap_pb2.Bootstrap())


def _manager(listener) -> hcm.HttpConnectionManager:
    manager = hcm.HttpConnectionManager()
    listener.filter_chains[0].filters[0].typed_config.Unpack(manager)
    return manager


def test_a_misspelt_field_does_not_parse():
    bad = spec.envoy_config()
    bad["static_resources"]["clusters"][0]["conect_timeout"] = "1s"
    with pytest.raises(json_format.ParseError, match="conect_timeout"):
        json_format.ParseDict(bad, bootstrap_pb2.Bootstrap())


def test_the_load_balancer_port_serves_tls_with_http2_to_rainbow(bootstrap, full_lab):
    listeners = {listener.name: listener for listener in bootstrap.static_resources.listeners}
    grpc = listeners["grpc_tls"]
    assert grpc.address.socket_address.port_value == spec.TLS_PORT
    tls = tls_pb2.DownstreamTlsContext()
    grpc.filter_chains[0].transport_socket.typed_config.Unpack(tls)
    assert list(tls.common_tls_context.alpn_protocols) == ["h2"]
    route = _manager(grpc).route_config.virtual_hosts[0].routes[0].route
    assert route.cluster == spec.NAME
    cluster = bootstrap.static_resources.clusters[0]
    assert cluster.name == spec.NAME
    upstream = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address
    server = next(c for c in spec.deployment(full_lab)["spec"]["template"]["spec"]["containers"]
                  if c["name"] == spec.NAME)
    assert upstream.port_value == server["ports"][0]["containerPort"] == spec.grpc_port()


def test_the_health_check_answers_on_the_port_the_backend_config_probes(bootstrap, full_lab):
    health = {listener.name: listener for listener in bootstrap.static_resources.listeners}["health"]
    assert health.address.socket_address.port_value == spec.backend_config(full_lab)["spec"]["healthCheck"]["port"]
    check = health_check_pb2.HealthCheck()
    _manager(health).http_filters[0].typed_config.Unpack(check)
    assert check.pass_through_mode.value is False
    assert check.headers[0].string_match.exact == "/healthz"
    # healthy only while rainbow's port accepts connections
    assert dict(check.cluster_min_healthy_percentages) and spec.NAME in check.cluster_min_healthy_percentages
    assert bootstrap.static_resources.clusters[0].health_checks[0].HasField("tcp_health_check")


def test_the_service_exposes_what_envoy_and_rainbow_listen_on(full_lab):
    ports = {p["name"]: p for p in spec.service(full_lab)["spec"]["ports"]}
    containers = spec.deployment(full_lab)["spec"]["template"]["spec"]["containers"]
    named = {p["name"]: p["containerPort"] for c in containers for p in c["ports"]}
    for port in ports.values():
        assert port["targetPort"] in named
    assert named["grpc-tls"] == spec.TLS_PORT and named["health"] == spec.HEALTH_PORT
    assert '"grpc-tls": "HTTP2"' in spec.service(full_lab)["metadata"]["annotations"]["cloud.google.com/app-protocols"]
