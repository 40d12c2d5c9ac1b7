"""Reading input files: bounded, parsed, JSON Schema checked, failures in one line.

The user's files (stack files, workloads, registration graphs, jobspecs) are
read through here, so a broken, hostile or unreadable one is a ``LabError`` that
names the file, the key and what is allowed, within a bounded amount of work:

- only regular files are read (a FIFO or ``/dev/zero`` behind a symlink would
  block or never end), up to a size limit per kind of file;
- YAML is parsed by libyaml (``CSafeLoader``), resolving plain scalars as YAML 1.2 and
  Pulumi do (``_Loader``); a key given twice is refused (PyYAML
  would silently keep the last one); aliases are allowed, but a document that
  expands to more than ``MAX_VALUES`` values (an alias bomb) or nests deeper than
  ``MAX_DEPTH`` is refused before anything walks it;
- plain documents take a faster road to the same values (``_fast_yaml``): yaml-rs, a
  compiled parser, ten times faster than PyYAML, which spends about 0.9 ms composing
  a 30-requirement jobspec even with libyaml (9 s for 10,000). Any text where the two
  could differ (tags, anchors, aliases, merge keys, several documents, control
  characters, leading zeros, underscores and binary in numbers, ``.inf``/``.nan``,
  dates) and anything yaml-rs refuses go to libyaml; a test checks the two agree on
  everything the fast road takes;
- JSON is parsed by orjson; the same shape limits apply;
- non-finite numbers (``.nan``, ``.inf``) are refused anywhere.

The repository's own schemas and catalogues are trusted and read directly.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import orjson
import yaml
import yaml_rs

from .errors import LabError, brief, key_path

# Limits, from what the experiment's real files need (each far below what would hurt):
MAX_YAML_BYTES = 1 << 20  # a stack file, a workload or a jobspec: a few KB (rainbow takes at most 4 MiB a message)
# A registration graph: real rainbow's server takes at most 4 MiB a message (grpc-go's default; its
# pkg/server/server.go sets no other), so no graph it registered is larger; 16 times that leaves room.
MAX_JSON_BYTES = 64 << 20
MAX_DEPTH = 64  # jobspecs nest resources a handful of levels; graphs 4
MAX_VALUES = 10_000_000  # values a document may expand to (a 100-cluster graph has a few hundred thousand)
FLOW_DEPTH = 10 * MAX_DEPTH  # nested [ { before parsing at all; the exact limit is checked after


class _Loader(yaml.CSafeLoader):
    """libyaml's safe loader reading plain scalars as YAML 1.2 does, refusing a mapping key given twice.

    Pulumi reads stack files with Go's yaml.v3, which resolves most plain scalars as
    YAML 1.2 does: ``yes``/``on`` are text, ``1:30`` is text (not 90, YAML 1.1's base 60).
    Where yaml.v3 keeps YAML 1.1's reading against 1.2's (``0100`` is 64 to it, 100 to
    1.2; ``3_0`` and ``0b11`` are numbers to it, text to 1.2), compatlab refuses the
    value rather than guess (go-yaml v3 ``resolve.go``). Like yaml.v3, the merge key
    ``<<`` is read. A value an explicit tag cannot read (``!!int ""``, ``!!bool maybe``)
    is a ``ConstructorError`` naming its line, never a Python error.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as err:
            kind = str(node.tag).rsplit(":", 1)[-1]
            shown = brief(node.value) if isinstance(node, yaml.ScalarNode) else "this value"
            allowed = "numbers of at most 4300 digits" if "digits" in str(err) else _READABLE.get(kind, kind)
            raise yaml.constructor.ConstructorError(None, None, f"{shown} cannot be read as {kind}; allowed: "
                                                    f"{allowed}", node.start_mark) from None

    def construct_ambiguous(self, node: yaml.ScalarNode) -> None:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value} is a number to Pulumi's YAML reader (Go yaml.v3 reads 0100 as octal 64 "
            "and drops _) but not to YAML 1.2; allowed: a plain number such as 100, 0o144 for octal, or quotes "
            "for text", node.start_mark)

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        # PyYAML would read "1:30" as base 60 and drop "_"; neither is YAML 1.2 nor Go's reading.
        text = str(self.construct_scalar(node))
        if ":" in text or "_" in text:
            raise ValueError(text)
        return float(super().construct_yaml_float(node))

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # flatten_mapping merges it below; the keys written beside it win, as in yaml.v3
            key = self.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(None, None, "a mapping key that is itself a list or "
                                                        "mapping", key_node.start_mark) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {brief(key)} is given twice (lines {seen[key] + 1} and "
                    f"{key_node.start_mark.line + 1}); allowed: each key once", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # YAML 1.2 core schema: decimal, 0o octal, 0x hex (ambiguous spellings never reach here untagged).
        text = str(self.construct_scalar(node))
        sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text.lstrip("+"))
        if digits[:2] in ("0x", "0o"):
            return sign * int(digits[2:], 16 if digits[1] == "x" else 8)
        return sign * int(digits, 10)


_READABLE = {"int": "a whole number", "float": "a number", "bool": "true or false",
             "timestamp": "a real date such as 2026-12-31, or quotes for text"}
# The YAML 1.2 core schema's plain-scalar rules (yaml.org/spec/1.2.2, 10.3.2), in place of YAML 1.1's.
_CORE_SCHEMA = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
     r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+.0123456789"),
]
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}
# Numbers Go's yaml.v3 reads as YAML 1.1 does and YAML 1.2 does not: leading zeros, underscores, 0b binary.
_Loader.add_implicit_resolver("tag:compatlab,2026:ambiguous-number",
                              re.compile(r"^[-+]?(?:0[0-9_]+|[0-9][0-9]*_[0-9_]*(?:\.[0-9_]*)?|0b[01_]+)$"),
                              list("-+0123456789"))
for _tag, _pattern, _first in _CORE_SCHEMA:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
# types-PyYAML bounds a constructor's first argument to its Loader classes, which SafeConstructor's own method is not.
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)  # type: ignore[type-var]
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)
_Loader.add_constructor("tag:compatlab,2026:ambiguous-number", _Loader.construct_ambiguous)


def read_bytes(path: Path | str, limit: int, what: str) -> bytes:
    """A regular file's bytes, at most ``limit`` of them. Raises ``LabError`` naming the file otherwise.

    One open and one fstat: a replay reads tens of thousands of files. O_NONBLOCK, so a
    FIFO answers at once (and is then refused) instead of waiting for a writer.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise LabError(path, "", f"does not exist; allowed: {what}") from None
    except OSError as err:
        raise LabError(path, "", f"cannot read: {err.strerror}; allowed: {what} you can read") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, device or socket)"
            raise LabError(path, "", f"is {kind}; allowed: {what}")
        if info.st_size > limit:
            raise LabError(path, "", f"is {info.st_size:,} bytes; allowed: at most {limit:,} for {what}")
        # One read for the usual file: a regular file returns fewer bytes than asked only at its end.
        chunks = [os.read(fd, info.st_size + 1)]
        size = len(chunks[0])
        while size > info.st_size and size <= limit:  # it grew since fstat: read on, up to the limit
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise LabError(path, "", f"cannot read: {err.strerror}; allowed: {what} you can read") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:  # it grew while we read
        raise LabError(path, "", f"is over {limit:,} bytes; allowed: at most {limit:,} for {what}")
    return data


def check_shape(doc: Any, source: str | Path, aliases: bool = True) -> None:
    """Refuse a parsed document nested deeper than ``MAX_DEPTH``, expanding to over ``MAX_VALUES`` values, or
    holding a number that is not finite. Linear in the distinct values, whatever aliases share."""
    expanded: dict[int, int] = {}
    # Iterative post-order walk: (value, depth, children pushed?, where it is)
    stack: list[tuple[Any, int, bool, tuple[Any, ...]]] = [(doc, 0, False, ())]
    while stack:
        value, depth, done, where = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            shown = ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
            raise LabError(source, key_path(where), f"{shown} is not a finite number; allowed: finite numbers")
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise LabError(source, "", f"nests deeper than {MAX_DEPTH} levels; allowed: at most {MAX_DEPTH}")
        key = id(value)
        children = list(value.values()) + list(value.keys()) if isinstance(value, dict) else value
        if done:
            total = 1 + sum(expanded.get(id(c), 1) for c in children)
            expanded[key] = total
            if total > MAX_VALUES:
                raise LabError(source, "", f"expands to over {MAX_VALUES:,} values{' (YAML aliases?)' * aliases}; "
                               f"allowed: at most {MAX_VALUES:,}")
            continue
        if key in expanded:
            continue
        stack.append((value, depth, True, where))
        if isinstance(value, dict):
            stack.extend((c, depth + 1, False, (*where, k)) for k, c in value.items())
            stack.extend((k, depth + 1, False, where) for k in value)
        else:
            stack.extend((c, depth + 1, False, (*where, i)) for i, c in enumerate(value))


_CONTAINERS = (dict, list)


def _tree_excess(doc: dict[Any, Any] | list[Any], count: bool) -> str | None:
    """``"depth"`` when a container sits deeper than ``MAX_DEPTH``, ``"values"`` (with ``count``) when the tree
    holds over ``MAX_VALUES`` values (keys included, as ``check_shape`` counts them), else None.

    One level at a time, containers only, a container's values counted by its length before
    any is visited: a 40 MB array of 20 million numbers is refused at its first level, where
    ``check_shape`` would hold a key path per value first (minutes, gigabytes).
    """
    level, depth, values = [doc], 0, 1
    while level:
        if depth > MAX_DEPTH:
            return "depth"
        deeper = []
        for value in level:
            children = value.values() if type(value) is dict else value
            values += 2 * len(value) if type(value) is dict else len(value)
            if count and values > MAX_VALUES:
                return "values"
            for child in children:
                if type(child) in _CONTAINERS:
                    deeper.append(child)
        level, depth = deeper, depth + 1
    return None


def check_tree_shape(doc: Any, source: str | Path, size: int, containers: int | None = None) -> None:
    """``check_shape`` for a document of ``size`` bytes whose values are all its own (no YAML alias shares one).

    Such a document holds at most ``size`` values, so below ``MAX_VALUES`` bytes only its
    depth needs a walk; above, the same walk counts values by containers' lengths. It
    visits containers alone: five times faster than ``check_shape``, and bounded in memory.
    Only a parser that cannot share values or make non-finite numbers (orjson, the
    fast YAML road) calls it. Raises ``LabError`` as ``check_shape`` does.
    """
    count = size > MAX_VALUES  # fewer bytes than values allowed: cannot hold too many
    if not count and containers is not None and containers <= MAX_DEPTH:
        return  # fewer containers than levels allowed (``containers``: an upper bound the caller counted)
    excess = _tree_excess(doc, count) if type(doc) in _CONTAINERS else None
    if excess == "depth":
        raise LabError(source, "", f"nests deeper than {MAX_DEPTH} levels; allowed: at most {MAX_DEPTH}")
    if excess == "values":
        raise LabError(source, "", f"expands to over {MAX_VALUES:,} values; allowed: at most {MAX_VALUES:,}")


_INDENT = bytes.maketrans(b"-", b" ")  # a line's lead: its indentation and compact "- " markers


def _block_depth_bound(data: bytes, flow: int) -> int | None:
    """An upper bound of the nesting of a YAML text without tabs whose flow nesting is ``flow``, or None.

    A block collection inside another starts at a greater column, except a sequence that is
    a mapping's value, which may share the key's column: so depth <= 2 x (the longest lead
    of spaces and "- " markers on any line) + 2, plus the flow nesting. None when some line
    leads further than that bound could keep within ``MAX_DEPTH`` (then the caller walks).
    """
    lead = (MAX_DEPTH - 2 - flow) // 2
    if lead <= 0 or b"\n" + b" " * lead in b"\n" + data.translate(_INDENT):
        return None
    return 2 * lead + flow


def _flow_depth(text: str | bytes) -> int:
    """The deepest nesting of YAML flow brackets in ``text`` (brackets inside strings counted too: an upper bound)."""
    raw = text if isinstance(text, bytes) else text.encode()
    depth = deepest = 0
    for char in raw.translate(None, _NOT_BRACKETS):  # UTF-8 puts no ASCII byte inside another character
        depth = depth + 1 if char in b"[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


# Where YAML 1.1 (PyYAML) and 1.2 (yaml-rs) may read a plain scalar differently, or where only libyaml keeps our
# guarantees (aliases: the expansion count; tags; several documents; list keys), the text goes to libyaml.
# Conservative on purpose: a false alarm (x86_64 is one) costs a millisecond, a miss would change a value. Each
# check runs on a copy of the text reduced by one bytes.translate, where every risk becomes a literal substring:
# some twenty C-speed searches, where a regex tried at every character cost more than the parse it saves.


def _table(*pairs: tuple[bytes, bytes]) -> bytes:
    table = bytearray(range(256))
    for upper in range(ord("A"), ord("Z") + 1):
        table[upper] = upper + 32  # lowered: Yes, NO, .NaN, 1E5 are risks too
    for chars, to in pairs:
        for c in chars:
            table[c] = to[0]
    return bytes(table)


_SEPARATORS = b" \r\n,[]{}#"
# Control characters (and 0xC2, which starts every C1 one in UTF-8) too: libyaml refuses them by line, yaml-rs not.
_CONTROLS = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0xC2])
# tags, anchors, aliases, directives, complex keys, merges, controls. Not @ or `: reserved only at the start
# of a plain scalar, where both parsers refuse them (and libyaml then words the error); inside one, as in
# "spack install trilinos@12.14.1", they are text to both.
_SYNTAX = _table((b"!&*%?=\t<" + _CONTROLS, b"!"), (b"}", b"]"))
_SYNTAX_RISKS = (b"!", b"]:", b"\n---", b"\n...")  # ... a list key, several documents
# Our libyaml loader resolves plain scalars as YAML 1.2 does (yes, on, 1:30 are text; 1e5, -.5 are numbers), as
# yaml-rs does; what still differs: dates (a date to libyaml), non-finite numbers (refused with their key there),
# and the spellings Go's yaml.v3 reads unlike YAML 1.2 (1_000, 010, 0b1: refused there). Digits are 1, _ is u.
_NUMBERS = _table((_SEPARATORS, b"|"), (b"0123456789", b"1"), (b"_", b"u"))
_NUMBER_RISKS = (b"1u", b"1111-1", b".inf", b".nan")  # 1_000, dates, inf, nan
_ZEROS = _table((_SEPARATORS + b"+-", b"|"), (b"123456789_box", b"1"))
_ZERO_RISKS = (b"|01", b"|00")  # octal 010, binary 0b1, 0o10, hex 0x1F, 0_1: a token starting 0 and a digit or letter
_SCREENS = ((_SYNTAX, _SYNTAX_RISKS), (_NUMBERS, _NUMBER_RISKS), (_ZEROS, _ZERO_RISKS))


def _yaml_11_risk(data: bytes) -> bool:
    """Could YAML 1.1 and 1.2 read these bytes differently, or need libyaml's guarantees? (True when unsure.)"""
    if data.startswith((b"---", b"...")):
        return True
    for table, risks in _SCREENS:
        reduced = b"|" + data.translate(table) + b"|"
        if any(risk in reduced for risk in risks):
            return True
    return False


def _fast_yaml(data: bytes) -> tuple[bool, Any]:
    """(True, the document) when yaml-rs reads ``data`` (UTF-8) exactly as the libyaml loader would, else (False, None).

    Only text that ``_yaml_11_risk`` passes is tried; yaml-rs refuses a key given twice, as the libyaml loader
    does, and its errors are left to libyaml to word. Dates stay strings here (none pass the screen anyway).
    """
    if _yaml_11_risk(data):
        return False, None
    try:
        return True, yaml_rs.loads(data.decode(), parse_datetime=False)
    except (yaml_rs.YAMLDecodeError, ValueError, RecursionError):
        return False, None


def parse_yaml(data: bytes, source: str | Path) -> Any:
    """Parse YAML bytes (UTF-8) with the bounded loader; ``LabError`` for anything a reader could not trust."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a byte order mark (YAML allows one): yaml-rs would read it into the first key
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise LabError(source, "", "is not UTF-8 text; allowed: a YAML file") from None
    if not text.strip():
        raise LabError(source, "", "is empty; allowed: a YAML document")
    flow = _flow_depth(data)
    if flow <= FLOW_DEPTH:
        fast, doc = _fast_yaml(data)
        if fast:
            check_tree_shape(doc, source, len(data), _block_depth_bound(data, flow))
            return doc
    if flow > FLOW_DEPTH:
        # libyaml's composer recurses in C: a hundred thousand nested brackets would crash the process.
        raise LabError(source, "", f"nests deeper than {MAX_DEPTH} levels; allowed: at most {MAX_DEPTH}")
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a CSafeLoader
    except yaml.reader.ReaderError as err:  # a character YAML does not allow, e.g. NUL or ESC
        line = text[: err.position].count("\n") + 1
        raise LabError(source, f"line {line}", f"holds the control character U+{err.character:04X}; allowed: "
                       "printable text, tabs and newlines") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or " ".join(str(err).split())
        allowed = "" if "allowed:" in problem else "; allowed: YAML 1.2 (yaml.org/spec/1.2.2)"
        near = text.splitlines()[max(0, mark.line - 1): mark.line + 1] if mark else []
        if "expected" in problem and any(len(line) > 1024 for line in near):
            allowed += " and keys of at most 1024 characters (YAML's limit on a key)"
        raise LabError(source, where, f"not valid YAML: {problem}{allowed}") from None
    except RecursionError:
        raise LabError(source, "", f"nests too deep to read; allowed: at most {MAX_DEPTH} levels") from None
    check_shape(doc, source)
    return doc


def parse_json(data: bytes, source: str | Path) -> Any:
    """Parse JSON bytes with orjson; ``LabError`` naming the line for a bad document.

    A key given twice keeps its last value, as Go's encoding/json (rainbow's reader) does.
    """
    if not data.strip():
        raise LabError(source, "", "is empty; allowed: a JSON document")
    if data.startswith(b"\xef\xbb\xbf"):
        # Python's json (rainbow's client) and Go's encoding/json both refuse it: say so rather than "line 1".
        raise LabError(source, "", "starts with a byte-order mark; allowed: UTF-8 without a BOM, as rainbow reads")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        if "recursion" in str(err).lower() or "depth limit" in str(err).lower():
            raise LabError(source, "", f"nests too deep to read; allowed: at most {MAX_DEPTH} levels") from None
        if "utf-8" in str(err).lower():
            raise LabError(source, "", "is not UTF-8 text; allowed: a JSON document") from None
        # orjson says where as a byte offset; people read lines.
        line = data[: err.pos].count(b"\n") + 1 if isinstance(err.pos, int) else "?"
        raise LabError(source, f"line {line}", f"not valid JSON: {err.msg}; allowed: a JSON document (RFC 8259)") \
            from None
    # orjson shares no values and refuses non-finite numbers; each container opens with { or [ (strings may hold
    # more of them: an upper bound), so a small graph needs no walk at all.
    check_tree_shape(doc, source, len(data), data.count(b"{") + data.count(b"["))
    return doc


def load_yaml(path: Path | str, limit: int = MAX_YAML_BYTES) -> Any:
    """Read and parse a YAML file: regular, at most ``limit`` bytes, UTF-8, each key once, bounded shape.

    Raises ``LabError`` naming the file (and the line) for anything else.
    """
    return parse_yaml(read_bytes(path, limit, "a YAML file"), path)


def load_json(path: Path | str, source: str | None = None, limit: int = MAX_JSON_BYTES,
              what: str = "a JSON graph") -> Any:
    """Read and parse a JSON file: regular, at most ``limit`` bytes, bounded shape.

    Raises ``LabError`` naming ``source`` (default: the path) and the line; ``what`` is the
    file's kind in its "allowed:".
    """
    where = source or str(path)
    try:
        data = read_bytes(path, limit, what)
    except LabError as err:
        raise LabError(where, err.key, err.problem) from None
    return parse_json(data, where)


# --- JSON Schema ---------------------------------------------------------------------------------------------


def _integer(_checker: Any, value: Any) -> bool:
    # A YAML 2.0 is a float: refuse it where a count is asked (JSON Schema would take it as 2).
    return isinstance(value, int) and not isinstance(value, bool)


def _number(_checker: Any, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


@cache
def _validator(schema_file: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_file.read_text())
    return strict_validator(schema)


def strict_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A validator for ``schema`` whose ``integer`` takes no floats and whose ``number`` only finite values."""
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    checker = cls.TYPE_CHECKER.redefine_many({"integer": _integer, "number": _number})
    validator: jsonschema.protocols.Validator = jsonschema.validators.extend(cls, type_checker=checker)(schema)
    return validator


_YAML_READS = {float: "a number", int: "a number", bool: "true/false"}
# What each JSON Schema type allows, said as an example.
_ALLOWED = {"string": "text (quoted where YAML would read a number, date or true/false)",
            "integer": "a whole number such as 4", "number": "a number such as 0.5", "object": "a mapping of keys",
            "array": "a list", "boolean": "true or false", "null": "null"}


def yaml_reading(value: Any) -> str:
    """A hint for text that YAML read as something else: `` (YAML read it as a date: quote it)``, or ``""``."""
    if type(value).__name__ in ("date", "datetime"):
        return " (YAML read it as a date: quote it)"
    if type(value) in _YAML_READS:
        return f" (YAML read it as {_YAML_READS[type(value)]}: quote it)"
    return ""


def describe(error: jsonschema.ValidationError, yaml_source: bool = True) -> str:
    """Say what a JSON Schema error means and what is allowed, in words (one line), values cut short.

    ``yaml_source`` says the document was YAML, whose readings (a number, a date,
    true/false where text was meant) are worth a hint; JSON says what it means.
    """
    # The stubs allow Unset, which only an error not raised by a validator has.
    value: Any = error.instance
    expected: Any = error.validator_value
    kind: Any = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "enum":
        return f"{brief(value)} is not allowed; allowed: {', '.join(map(str, expected))}"
    if kind == "required":
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        return (f"{', '.join(map(repr, missing)) or error.message} is missing (required); allowed: a mapping with "
                f"{', '.join(expected)}")
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(map(str, set(value) - set(allowed))) if isinstance(value, dict) else []
        return f"unknown key {', '.join(map(brief, extra))}; allowed: {', '.join(allowed)}"
    if kind == "type":
        kinds: list[str] = expected if isinstance(expected, list) else [expected]
        hint = yaml_reading(value) if "string" in kinds and yaml_source else ""
        if not hint and "integer" in kinds and isinstance(value, float):
            hint = " (too large to be exact)" if value.is_integer() and abs(value) >= 2**53 else \
                " (write it without a decimal point)"
        allowed_kinds = " or ".join(_ALLOWED.get(k, k) if yaml_source else _a(k) for k in kinds)
        return f"{brief(value)} is not {_a(expected)}{hint}; allowed: {allowed_kinds}"
    if kind in ("minimum", "exclusiveMinimum"):
        return f"{brief(value)} is too small; allowed: {'>' if kind == 'exclusiveMinimum' else '>='} {expected}"
    if kind in ("maximum", "exclusiveMaximum"):
        why = f" ({schema['description']})" if "description" in schema else ""
        return f"{brief(value)} is too large; allowed: {'<' if kind == 'exclusiveMaximum' else '<='} {expected}{why}"
    if kind in ("minItems", "minProperties"):
        return f"has {len(value)} entries; allowed: at least {expected}" + (
            f" ({schema['description']})" if "description" in schema else "")
    if kind in ("maxItems", "maxProperties"):
        return f"has {len(value)} entries; allowed: at most {expected}"
    if kind in ("minLength", "maxLength"):
        return f"has {len(value)} characters; allowed: {'at least' if kind == 'minLength' else 'at most'} {expected}"
    if kind == "pattern":
        words = schema.get("x-allowed") or f"the pattern {expected}"
        return f"{brief(value)} is not allowed; allowed: {words}"
    if kind == "oneOf" and isinstance(value, dict):
        return "exactly one of the alternatives is allowed: " + " | ".join(
            "/".join(sub.get("required", [])) for sub in expected
        )
    return " ".join(error.message.split())[:200]


def _a(kind: Any) -> str:
    words = {"string": "text", "integer": "a whole number", "number": "a number", "object": "a mapping",
             "array": "a list", "boolean": "true or false", "null": "null"}
    if isinstance(kind, list):
        kinds: list[str] = kind
        return " or ".join(words.get(k, k) for k in kinds)
    return words.get(kind, f"of type {kind}")


def check(document: Any, schema_file: Path, source: str | Path, prefix: str = "", *, floats: bool = True) -> None:
    """Validate ``document`` against the JSON Schema in ``schema_file`` (strict integers, finite numbers).

    ``floats=False`` says the caller knows the document holds no float where the
    schema asks for an integer, so the compiled validator's answer is final when it
    says valid. Raises ``LabError`` naming ``source`` and the key path (after
    ``prefix``) of the most relevant error, in words (``describe``).
    """
    if not floats and compiled(_schema(schema_file)).is_valid(document):
        return
    check_with(_validator(schema_file), document, source, prefix)


@cache
def _schema(schema_file: Path) -> Any:
    return orjson.loads(schema_file.read_bytes())


_COMPILED: dict[int, Any] = {}


def compiled(schema: dict[str, Any]) -> Any:
    """jsonschema-rs's compiled validator for ``schema`` (kept per schema object): for ``is_valid`` only.

    It is some fifty times faster than ``jsonschema`` on jobspecs and graphs, and says
    the same valid or invalid except that it takes ``2.0`` as an integer; so callers
    trust its "valid" only for documents without floats where integers are asked, and
    word every error with ``check_with`` (the same message as before).
    """
    key = id(schema)
    if key not in _COMPILED:
        _COMPILED[key] = (schema, jsonschema_rs.validator_for(schema))  # the schema kept alive: its id stays its own
    return _COMPILED[key][1]


def check_with(validator: Any, document: Any, source: str | Path, prefix: str = "",
               rename: Callable[[list[Any]], list[Any]] | None = None) -> None:
    """Validate ``document`` with a ready ``validator``; raise ``LabError`` on the most relevant error.

    ``rename`` maps the error's key path back to the user's names when the
    document validated was a renamed view of theirs.
    """
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        path = list(error.absolute_path)
        raise LabError(source, key_path(rename(path) if rename else path, prefix),
                       describe(error, yaml_source=not str(source).endswith(".json")))
