"""Labels every cloud resource carries, so a forgotten lab is easy to find and delete."""

from __future__ import annotations

import re

from .model import Lab


def _value(text: str) -> str:
    # GCP label values: lowercase letters, digits, '-' and '_', at most 63 characters.
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63]


def gcp_labels(lab: Lab) -> dict[str, str]:
    return {"project": "compatlab", "stack": _value(lab.stack), "expiry": _value(lab.expiry)}


def kube_labels(lab: Lab, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": "compatlab",
        "app.kubernetes.io/component": component,
        "compatlab/stack": _value(lab.stack),
        "compatlab/expiry": _value(lab.expiry),
    }
