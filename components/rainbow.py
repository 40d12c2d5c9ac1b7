"""rainbow behind a GKE Ingress: credentials as Pulumi secrets, TLS at the edge, callers restricted."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from compatlab.kube import rainbow as spec
from compatlab.lab.model import Lab

from .objects import apply_object


@dataclass(frozen=True)
class RainbowArgs:
    """Inputs of ``Rainbow``: the lab, the cluster's Kubernetes provider, GCP labels, and optional credentials.

    ``secret`` and ``token`` are rainbow's ``--secret`` and ``--global-token`` as Pulumi
    secrets; 32-character random passwords are generated when they are None.
    """

    lab: Lab
    provider: k8s.Provider
    labels: dict[str, str]
    # From `pulumi config set --secret compatlab:rainbowSecret ...`; generated when absent.
    secret: pulumi.Output[str] | None = None
    token: pulumi.Output[str] | None = None


class Rainbow(pulumi.ComponentResource):
    """rainbow and its Envoy sidecar behind a GKE Ingress, as ``compatlab.kube.rainbow`` builds them.

    Declares the credentials, a self-signed ECDSA P-256 certificate (valid 90 days, renewed
    by a ``pulumi up`` in the last 14), the Cloud Armor policy admitting only
    ``rainbow.sourceRanges``, the edge SSL certificate when there is no host, the two
    Secrets and the Kubernetes objects. Attributes: ``endpoint`` (``<host or IP>:443``,
    ``pending:443`` until the load balancer has an IP), ``secret`` and ``token`` (secret
    Outputs), ``ca_certificate`` (PEM). Depends on the provider (cluster) and the gcp provider.
    """

    endpoint: pulumi.Output[str]
    secret: pulumi.Output[str]
    token: pulumi.Output[str]
    ca_certificate: pulumi.Output[str]

    def __init__(self, name: str, args: RainbowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("compatlab:rainbow:Rainbow", name, {}, opts)
        lab = args.lab
        mine = pulumi.ResourceOptions(parent=self)
        on_k8s = pulumi.ResourceOptions(parent=self, provider=args.provider)

        self.secret = pulumi.Output.secret(args.secret or self._password(f"{name}-secret", mine))
        self.token = pulumi.Output.secret(args.token or self._password(f"{name}-token", mine))

        # One self-signed certificate: the load balancer does not verify backends, and a lab
        # without a domain also presents it at the edge (clients pin it as their CA).
        key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=mine)
        cert = tls.SelfSignedCert(
            f"{name}-cert", private_key_pem=key.private_key_pem, validity_period_hours=24 * 90,
            early_renewal_hours=24 * 14,  # a `pulumi up` in the last two weeks renews it
            subject=tls.SelfSignedCertSubjectArgs(common_name=lab.rainbow_host or "rainbow"),
            dns_names=[lab.rainbow_host or "rainbow", f"{spec.NAME}.{spec.NAMESPACE}.svc"],
            allowed_uses=["key_encipherment", "digital_signature", "server_auth"], opts=mine)
        self.ca_certificate = cert.cert_pem

        policy = gcp.compute.SecurityPolicy(
            f"{name}-callers", name=spec.SECURITY_POLICY.format(stack=lab.stack_id),
            description="Only the configured source ranges may call rainbow",
            labels=args.labels,
            rules=[
                gcp.compute.SecurityPolicyRuleArgs(
                    action="allow", priority=1000, description="configured source ranges",
                    match=gcp.compute.SecurityPolicyRuleMatchArgs(
                        versioned_expr="SRC_IPS_V1",
                        config=gcp.compute.SecurityPolicyRuleMatchConfigArgs(
                            src_ip_ranges=list(lab.rainbow_source_ranges)))),
                gcp.compute.SecurityPolicyRuleArgs(
                    action="deny(403)", priority=2147483647, description="everyone else",
                    match=gcp.compute.SecurityPolicyRuleMatchArgs(
                        versioned_expr="SRC_IPS_V1",
                        config=gcp.compute.SecurityPolicyRuleMatchConfigArgs(src_ip_ranges=["*"]))),
            ],
            opts=mine)
        edge: list[pulumi.Resource] = [policy]
        if not lab.rainbow_host:
            edge.append(gcp.compute.SSLCertificate(
                f"{name}-edge", name=spec.SSL_CERTIFICATE.format(stack=lab.stack_id),
                certificate=cert.cert_pem, private_key=key.private_key_pem,
                # A fixed name (the Ingress annotation names it): delete the old one first on renewal.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True)))

        objects = spec.core_objects(lab)
        namespace = apply_object(f"{name}-ns", objects[0], on_k8s)
        after_ns = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[namespace])
        secrets = [
            k8s.core.v1.Secret(f"{name}-credentials", metadata={"name": spec.CREDENTIALS, "namespace": spec.NAMESPACE},
                               string_data={"secret": self.secret, "token": self.token}, opts=after_ns),
            k8s.core.v1.Secret(f"{name}-backend-tls", metadata={"name": spec.BACKEND_TLS, "namespace": spec.NAMESPACE},
                               type="kubernetes.io/tls",
                               string_data={"tls.crt": cert.cert_pem, "tls.key": key.private_key_pem}, opts=after_ns),
        ]
        ready = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[namespace, *secrets])
        applied = [apply_object(f"{name}-{o['kind'].lower()}", o, ready) for o in objects[1:]]
        with_edge = pulumi.ResourceOptions(parent=self, provider=args.provider,
                                           depends_on=[namespace, *applied, *edge])
        gke = {o["kind"]: apply_object(f"{name}-{o['kind'].lower()}", o, with_edge) for o in spec.gke_objects(lab)}
        ingress = gke["Ingress"]
        address = ingress.status.apply(
            lambda s: (s.load_balancer.ingress[0].ip if s and s.load_balancer and s.load_balancer.ingress else None)
            or "pending")
        host = lab.rainbow_host
        self.endpoint = pulumi.Output.from_input(f"{host}:443") if host else address.apply(lambda ip: f"{ip}:443")
        self.register_outputs({"endpoint": self.endpoint, "inClusterHost": spec.in_cluster_host()})

    @staticmethod
    def _password(name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        return random.RandomPassword(name, length=32, special=False, opts=opts).result
