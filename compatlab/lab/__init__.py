"""The lab: what the experiment is made of, as typed frozen values.

Owns the lab model (pools, bases, MiniClusters, workloads and their true needs,
compatibility levels), loading a stack file into it, the catalogues in
``compatlab/data/`` (base images, machine types, pinned versions, prices), image
tags, node capacity, and version semantics (rainbow's Masterminds semver).
The bottom of the core: imports only ``compatlab.errors``, ``compatlab.inputs``
and ``compatlab.files``.
"""
