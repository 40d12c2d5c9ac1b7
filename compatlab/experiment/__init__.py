"""The experiment: submit, run (or predict), record, report.

Owns the outcome model (what really happens to a workload on a MiniCluster),
the local simulation and its report. The top of the core: may import
``compatlab.scheduler``, ``compatlab.kube`` and everything below them.
"""
