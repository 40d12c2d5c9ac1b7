"""Reading input files: YAML and JSON parsed, JSON Schema checked, failures in one line.

The user's files (stack files, workloads, registration graphs, jobspecs) are
read through here, so a broken or unreadable one is a ``LabError`` that names the
file, the key and what is allowed. The repository's own schemas and catalogues
are trusted and read directly.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import LabError, key_path


@cache
def _validator(schema_file: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_file.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def describe(error: jsonschema.ValidationError) -> str:
    """Say what a JSON Schema error means and what is allowed, in words (one line)."""
    value, expected = error.instance, error.validator_value
    kind = error.validator
    if kind == "enum":
        return f"{value!r} is not allowed; allowed: {', '.join(map(str, expected))}"
    if kind == "required":
        return error.message.replace("is a required property", "is missing (required)")
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(value) - set(allowed)) if isinstance(value, dict) else []
        return f"unknown key {', '.join(map(repr, extra))}; allowed: {', '.join(allowed)}"
    if kind == "type":
        return f"{value!r} is not of type {expected}"
    if kind in ("minimum", "exclusiveMinimum"):
        return f"{value!r} is too small; allowed: {'>' if kind == 'exclusiveMinimum' else '>='} {expected}"
    if kind in ("minItems", "minProperties"):
        return f"has {len(value)} entries; allowed: at least {expected}" + (
            f" ({error.schema['description']})" if "description" in error.schema else "")
    if kind == "pattern":
        return f"{value!r} does not match {expected}"
    if kind == "oneOf" and isinstance(value, dict):
        return "exactly one of the alternatives is allowed: " + " | ".join(
            "/".join(sub.get("required", [])) for sub in expected
        )
    return error.message


def check(document: Any, schema_file: Path, source: str | Path, prefix: str = "") -> None:
    """Validate ``document`` against the JSON Schema in ``schema_file``.

    Raises ``LabError`` naming ``source`` and the key path (after ``prefix``) of the
    most relevant error, in words (``describe``).
    """
    check_with(_validator(schema_file), document, source, prefix)


def check_with(validator, document: Any, source: str | Path, prefix: str = "") -> None:
    """Validate ``document`` with a ready ``validator``; raise ``LabError`` on the most relevant error."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        raise LabError(source, key_path(list(error.absolute_path), prefix), describe(error))


def load_json(path: Path, source: str | None = None) -> Any:
    """Read and parse a JSON file. Raises ``LabError`` naming ``source`` (default: the path) and the line."""
    where = source or str(path)
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise LabError(where, "", f"cannot read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise LabError(where, "", "is not UTF-8 text; allowed: a JSON graph") from None
    except json.JSONDecodeError as err:
        raise LabError(where, f"line {err.lineno}", f"not valid JSON: {err.msg}") from None


def load_yaml(path: Path) -> Any:
    """Read and parse a YAML file (safe loader) into plain Python data.

    Raises ``LabError`` naming the file (and the line) when it cannot be read, is
    not UTF-8 text or is not valid YAML.
    """
    try:
        text = path.read_text()
    except OSError as err:
        raise LabError(path, "", f"cannot read: {err.strerror}") from None
    except UnicodeDecodeError:
        raise LabError(path, "", "is not UTF-8 text; allowed: a YAML file") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(parse)"
        raise LabError(path, where, f"not valid YAML: {getattr(err, 'problem', err)}") from None
