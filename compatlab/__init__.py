"""compatlab: the pure core of the compatibility experiment (never imports pulumi).

Data flows stack file -> ``lab`` -> ``formats`` -> ``scheduler`` -> ``experiment``,
with ``kube`` (Kubernetes objects) and ``cost`` built from the lab beside them.
``errors``, ``inputs`` and ``files`` sit below everything; ``cli`` and ``bench``
on top. ``pyproject.toml`` (import-linter contracts) enforces the layering.
"""

__version__ = "0.1.0"  # the same as pyproject.toml's (a test checks): the receiver in a pod has no metadata
