"""The fast YAML road (yaml-rs) gives exactly what the libyaml loader gives, or stands aside."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import yaml

from compatlab.errors import LabError
from compatlab.formats.generate import generate
from compatlab.inputs import _fast_yaml, _Loader, parse_yaml
from compatlab.lab.stack import load_lab

# Scalars where YAML 1.1 and 1.2 readers are known to differ, and ordinary ones.
TOKENS = ["yes", "No", "on", "OFF", "y", "n", "true", "False", "null", "~", "", "010", "0o10", "0x1F", "0b101",
          "1_000", "1e5", "1.0e+5", "1.5E3", ".5", "-.5", "+1", "-0", "1.", "1.20", "1.20.3", "v1.2", "12:30",
          "1:20:30", ".inf", "-.Inf", ".nan", "2024-01-02", "2001-12-14t21:59:43.10-05:00", "x86_64", "amd64",
          "a:b", "#x", "3e4f", "=", "<<", "é", "00", "0", "-1", "1__0", "0.1_2", "7.", "+.5", "1e", "e5",
          "1.2.3-rc.1", "node", "NULL", "Null", "TRUE", "nO", "1,2", "x\x1b", "\x7f", "x\u0090",
          "trilinos@12.14.1", "@x", "a`b", "`x"]


def _scalar(rng: random.Random) -> str:
    token = rng.choice(TOKENS)
    style = rng.random()
    if style < 0.2:
        return f'"{token}"'
    if style < 0.3:
        return f"'{token}'"
    return token


def _document(rng: random.Random, depth: int = 0) -> str:
    if depth > 2 or rng.random() < 0.3:
        return _scalar(rng)
    if rng.random() < 0.5:
        items = ", ".join(_document(rng, depth + 1) for _ in range(rng.randint(0, 3)))
        return f"[{items}]"
    keys = rng.sample(["a", "b", "c", "1", "1.0", "yes", "x86_64"], rng.randint(1, 3))
    return "{" + ", ".join(f"{k}: {_document(rng, depth + 1)}" for k in keys) + "}"


def _libyaml(text: str):
    try:
        return ("ok", yaml.load(text, Loader=_Loader))  # noqa: S506 - a CSafeLoader
    except (yaml.YAMLError, ValueError):
        return ("error", None)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_every_document_the_fast_road_takes_reads_as_libyaml_reads_it():
    rng = random.Random(13)
    taken = 0
    for _ in range(4000):
        text = f"k: {_document(rng)}\n" if rng.random() < 0.5 else f"- {_document(rng)}\n- {_scalar(rng)}\n"
        fast, doc = _fast_yaml(text.encode())
        if not fast:
            continue
        taken += 1
        kind, slow = _libyaml(text)
        assert kind == "ok" and _same(doc, slow), (text, doc, slow)
    assert taken > 500  # the fast road is really taken


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "a: &x [1]\nb: *x\n", "{[1]: 2}\n", "a: .nan\n", "a: 1\n---\nb: 2\n",
                                  "a: !!binary aGk=\n", "a: b: c\n", "a: x\x1b\n", "a: x\x00\n", "a: x\u0085y\n"])
def test_what_the_fast_road_refuses_goes_to_libyaml(text):
    assert _fast_yaml(text.encode()) == (False, None)


def test_the_repositorys_own_yaml_reads_the_same_both_ways(repo_root: Path = Path(__file__).parent.parent):
    paths = [*(repo_root / "jobspecs").glob("*.yaml"), *(repo_root / "stacks").glob("*.yaml")]
    files = {p: p.read_text() for p in paths}
    generated = generate(load_lab("full"))
    files.update({Path(rel): data.decode() for rel, data in generated.items() if rel.endswith(".yaml")})
    assert len(files) > 50
    for path, text in files.items():
        fast, doc = _fast_yaml(text.encode())
        if fast:
            assert _same(doc, yaml.load(text, Loader=_Loader)), path  # noqa: S506


def test_a_key_given_twice_is_still_refused_with_libyamls_words():
    with pytest.raises(LabError, match="key 'a' is given twice"):
        parse_yaml(b"a: 1\nb: 2\na: 3\n", "job.yaml")


def _depth(value, depth: int = 0) -> int:
    if isinstance(value, dict | list):
        children = value.values() if isinstance(value, dict) else value
        return max([depth, *(_depth(c, depth + 1) for c in children)])
    return depth - 1


def test_the_depth_bound_read_from_the_text_is_never_below_the_real_depth():
    from compatlab.inputs import _block_depth_bound, _flow_depth

    rng = random.Random(64)
    checked = 0
    for _ in range(2000):
        doc = "leaf"
        for _ in range(rng.randint(0, 40)):  # wrap in random containers, written in block, compact or flow style
            doc = rng.choice([{"k": doc}, [doc], {"a": 1, "b": doc}, [1, doc]])
        text = yaml.safe_dump(doc, default_flow_style=rng.choice([False, None]), indent=rng.choice([2, 4]))
        bound = _block_depth_bound(text.encode(), _flow_depth(text))
        if bound is not None:
            checked += 1
            assert _depth(yaml.safe_load(text)) <= bound, text
    assert checked > 500


def test_a_spack_spec_with_an_at_sign_takes_the_fast_road():
    # rainbow-experiments' reliabuild rebuilt as nextgen: every task is "spack install <package>@<version>".
    fast, doc = _fast_yaml(b"tasks:\n- command: [spack, install, trilinos@12.14.1]\n")
    assert fast and doc == {"tasks": [{"command": ["spack", "install", "trilinos@12.14.1"]}]}

