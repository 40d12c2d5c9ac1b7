"""The workloads, installed as the package ``compatlab.jobspecs`` (pyproject.toml maps this directory)."""
