"""A JSON Schema for MiniCluster v1alpha2, derived from the Flux Operator's own API types.

The `fluxoperator` package (0.2.0 on PyPI) is generated from the operator's
v1alpha2 OpenAPI types; walking its models gives the fields and types the CRD
accepts, with unknown fields rejected as the API server's pruning would drop them.
"""

from __future__ import annotations

import re

import fluxoperator.models as models

_SCALARS = {"str": {"type": "string"}, "int": {"type": "integer"}, "bool": {"type": "boolean"},
            "float": {"type": "number"}, "IntOrString": {"type": ["integer", "string"]},
            "object": {}}


def _schema(kind: str, seen: frozenset = frozenset()) -> dict:
    if kind in _SCALARS:
        return _SCALARS[kind]
    if m := re.fullmatch(r"list\[(.+)\]", kind):
        return {"type": "array", "items": _schema(m[1], seen)}
    if m := re.fullmatch(r"dict\(str, (.+)\)|dict\[str, (.+)\]", kind):
        return {"type": "object", "additionalProperties": _schema(m[1] or m[2], seen)}
    if kind.startswith("V1"):  # Kubernetes' own types (ObjectMeta): left to kubernetes-validate
        return {"type": "object"}
    cls = getattr(models, kind)
    if kind in seen:
        return {"type": "object"}
    props = {cls.attribute_map[attr]: _schema(t, seen | {kind}) for attr, t in cls.openapi_types.items()}
    return {"type": "object", "properties": props, "additionalProperties": False}


def minicluster_schema() -> dict:
    schema = _schema("MiniCluster")
    schema["required"] = ["apiVersion", "kind", "metadata", "spec"]
    schema["properties"]["apiVersion"] = {"const": "flux-framework.org/v1alpha2"}
    schema["properties"]["kind"] = {"const": "MiniCluster"}
    return schema
