"""The example stacks, installed as the package ``compatlab.stacks`` (pyproject.toml maps this directory)."""
