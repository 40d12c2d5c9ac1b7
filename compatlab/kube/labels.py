"""Labels every cloud resource carries, so a forgotten lab is easy to find and delete.

GCP resources get ``project``, ``stack`` and ``expiry``; Kubernetes objects get the
recommended ``app.kubernetes.io/*`` labels plus ``compatlab/stack`` and ``compatlab/expiry``.
"""

from __future__ import annotations

import re
from typing import Any

from compatlab.lab.model import Lab

# A Kubernetes object (or a piece of one) as the JSON the API takes: its shape is the API's, checked by
# kubernetes-validate and the operator's own types in the tests, not restated here.
KubeObject = dict[str, Any]


def _value(text: str) -> str:
    # GCP label values: lowercase letters, digits, '-' and '_', at most 63 characters.
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63]


def gcp_labels(lab: Lab) -> dict[str, str]:
    """{label: value} for GCP resources: ``project=compatlab``, ``stack`` and ``expiry`` (``compatlab:expiry``).

    Values are lowercased, other characters than ``[a-z0-9_-]`` become ``-`` and they are
    cut to 63 characters (GCP's label value rules, "Requirements for labels"). Raises nothing.
    """
    return {"project": "compatlab", "stack": _value(lab.stack), "expiry": _value(lab.expiry)}


def kube_labels(lab: Lab, component: str) -> dict[str, str]:
    """{label: value} for a Kubernetes object of ``component`` (e.g. ``"rainbow"``, ``"minicluster"``).

    ``app.kubernetes.io/part-of`` and ``/component`` are Kubernetes' recommended labels;
    stack and expiry are cleaned as in ``gcp_labels``. Raises nothing.
    """
    return {
        "app.kubernetes.io/part-of": "compatlab",
        "app.kubernetes.io/component": component,
        "compatlab/stack": _value(lab.stack),
        "compatlab/expiry": _value(lab.expiry),
    }
