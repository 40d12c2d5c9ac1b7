"""The scheduler side: which clusters satisfy a jobspec.

Owns reading registration graphs into clusters, jobspecs into requests, the
reference matcher (one pair at a time, with reasons, plus an emulation of real
rainbow's deviations) and the vectorised index (many pairs at once). Imports only
from ``compatlab.formats``, ``compatlab.lab`` and the base modules.
"""
