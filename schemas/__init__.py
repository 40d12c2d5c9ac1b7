"""The JSON Schemas, installed as the package ``compatlab.schemas`` (pyproject.toml maps this directory)."""
