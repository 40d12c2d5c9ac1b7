"""rainbow's formats: what the generator writes and what rainbow reads.

Owns the registration graphs (JGF: ``nodes.json`` and ``<subsystem>-subsystem.json``
per cluster), nextgen jobspecs per level, the subsystem vocabulary they share,
their validation (the ``jobspec`` package's schema plus rainbow's rules) and the
generator that emits all of it from a ``Lab``. Imports only from ``compatlab.lab``
and the base modules.
"""
