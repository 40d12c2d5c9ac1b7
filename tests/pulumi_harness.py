"""Run the Pulumi program under Pulumi's mocks: no CLI, no plugins, no cloud."""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import yaml

from compatlab.lab.paths import STACKS

REPO = Path(__file__).resolve().parents[1]  # the Pulumi program runs in place from the checkout


@dataclass
class Declared:
    type: str
    name: str
    inputs: dict
    parent: str | None = None


@dataclass
class Options:
    """What a resource was declared with: its parent and explicit dependencies (by name)."""

    parent: str | None
    depends_on: list[str]
    provider: str | None
    ignore_changes: list[str] = field(default_factory=list)


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    declared: list[Declared] = field(default_factory=list)
    options: dict[tuple[str, str], Options] = field(default_factory=dict)  # (type, name) ->
    exports: dict[str, object] = field(default_factory=dict)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = {"name": args.name, **args.inputs}
        if args.typ == "gcp:container/cluster:Cluster":
            outputs.update(endpoint="203.0.113.10", masterAuth={"clusterCaCertificate": "Q0E="})
        elif args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = f"mock-{args.name}-value"
        elif args.typ == "tls:index/privateKey:PrivateKey":
            outputs["privateKeyPem"] = "-----BEGIN PRIVATE KEY-----mock"
        elif args.typ == "tls:index/selfSignedCert:SelfSignedCert":
            outputs["certPem"] = "-----BEGIN CERTIFICATE-----mock"
        elif args.typ == "kubernetes:networking.k8s.io/v1:Ingress":
            outputs["status"] = {"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}]}}
        self.declared.append(Declared(args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


def stack_config(stack: str | Path) -> dict[str, str]:
    """A stack file's config as Pulumi passes it to a program (JSON for structured values)."""
    path = Path(stack) if str(stack).endswith(".yaml") else STACKS / f"Pulumi.{stack}.yaml"
    raw = yaml.safe_load(path.read_text())["config"]
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    config.setdefault("gcp:zone", "us-central1-a")
    config.setdefault("gcp:project", "compatlab-test")
    return config


def run_program(stack: str, config: dict[str, str] | None = None, mocks: RecordingMocks | None = None):
    """Declare the whole program; return (mocks, program globals, resolved exports)."""
    mocks = mocks if mocks is not None else RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="compatlab", stack=stack, preview=False)
    pulumi.runtime.set_all_config(config if config is not None else stack_config(stack))
    result: dict = {}

    def capture(args: pulumi.ResourceTransformationArgs):
        opts = args.opts
        deps = opts.depends_on or []
        deps = deps if isinstance(deps, list) else [deps]
        mocks.options[(args.type_, args.name)] = Options(
            parent=getattr(opts.parent, "_name", None),
            depends_on=[getattr(d, "_name", repr(d)) for d in deps],
            provider=getattr(opts.provider, "_name", None),
            ignore_changes=list(opts.ignore_changes or []),
        )
        return None

    @pulumi.runtime.test
    def program():
        pulumi.runtime.register_stack_transformation(capture)
        real_export = pulumi.export
        pulumi.export = lambda name, value: mocks.exports.__setitem__(name, value)
        try:
            result["globals"] = runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")
        finally:
            pulumi.export = real_export
        # Resolve every export with its secretness, so tests can look at plain values.
        names = list(mocks.exports)
        outputs = [pulumi.Output.from_input(mocks.exports[n]) for n in names]
        secrets = [o.is_secret() for o in outputs]

        async def settle():
            for name, out, secret in zip(names, outputs, secrets, strict=True):
                result.setdefault("resolved", {})[name] = (await out.future(with_unknowns=True), await secret)

        return pulumi.Output.from_input(settle())

    program()
    return mocks, result["globals"], result.get("resolved", {})
