"""The wheel: it carries the schemas, workloads, stacks and catalogues, and works installed outside the checkout."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from compatlab.cli import main

REPO = Path(__file__).resolve().parents[1]
# What the wheel is built from: the package and the top-level directories pyproject.toml maps into it.
SOURCES = ("pyproject.toml", "compatlab", "schemas", "jobspecs", "stacks")


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline from a copy of the sources (so no build/ or egg-info lands in the checkout)."""
    src = tmp_path_factory.mktemp("src")
    for part in SOURCES:
        if (REPO / part).is_dir():
            shutil.copytree(REPO / part, src / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / part, src / part)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
          "--disable-pip-version-check", "-w", str(dist), str(src)], cwd=dist)
    (found,) = dist.glob("compatlab-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv outside the checkout with the wheel installed; the dependencies come from this venv.

    A ``.pth`` line puts this venv's site-packages after the fresh one's, so the
    dependencies import without network while ``compatlab`` itself comes from the
    wheel (a path added by a ``.pth`` line does not run that directory's own
    ``.pth`` files, so the editable install's finder stays out).
    """
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=venv)
    fresh = next(venv.glob("lib/python3.*/site-packages"))
    (fresh / "project-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-deps",
          "--no-index", "--disable-pip-version-check", str(wheel)], cwd=venv)
    return venv


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def test_every_subpackage_is_listed_for_the_wheel():
    # pyproject.toml lists the packages by hand (find cannot map schemas/ into compatlab): a new one must be added.
    declared = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "compatlab").rglob("__init__.py")
               if "__pycache__" not in p.parts}
    assert on_disk <= declared, on_disk - declared
    assert {"compatlab.schemas", "compatlab.jobspecs", "compatlab.stacks"} <= declared


def test_the_wheel_carries_the_schemas_workloads_stacks_catalogues_and_its_type_marker(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = ({f"compatlab/schemas/{p.name}" for p in (REPO / "schemas").glob("*.json")}
                | {f"compatlab/jobspecs/{p.name}" for p in (REPO / "jobspecs").glob("*.yaml")}
                | {f"compatlab/stacks/{p.name}" for p in (REPO / "stacks").glob("Pulumi.*.yaml")}
                | {f"compatlab/data/{p.name}" for p in (REPO / "compatlab" / "data").glob("*.yaml")}
                | {"compatlab/py.typed"})  # PEP 561: a project importing compatlab gets its hints checked
    assert len(expected) >= 3 + 7 + 2 + 4 + 1
    assert expected <= names, sorted(expected - names)
    # The Pulumi program and the tests stay out: only the core is packaged.
    assert not [n for n in names if n.startswith(("components/", "tests/", "__main__.py"))]


def test_the_installed_wheel_generates_matches_and_simulates_outside_the_checkout(installed, tmp_path, capsys):
    work = tmp_path / "elsewhere"
    work.mkdir()
    stack = work / "Pulumi.mine.yaml"
    shutil.copy(REPO / "stacks" / "Pulumi.dev.yaml", stack)
    env, cli = _clean_env(), str(installed / "bin" / "compatlab")
    where = _run([str(installed / "bin" / "python"), "-c", "import compatlab; print(compatlab.__file__)"], work, env)
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout

    _run([cli, "generate", "--stack", str(stack), "--out", "gen"], work, env)
    # The same bytes as the checkout writes: the wheel read the same schemas, workloads and catalogues.
    assert main(["generate", "--stack", str(stack), "--out", str(tmp_path / "here")]) == 0
    theirs = {p.relative_to(work / "gen"): p.read_bytes() for p in (work / "gen").rglob("*") if p.is_file()}
    ours = {p.relative_to(tmp_path / "here"): p.read_bytes() for p in (tmp_path / "here").rglob("*") if p.is_file()}
    assert theirs == ours and any(p.suffix == ".yaml" for p in theirs)

    jobspecs = ["gen/jobspecs/arch/salad.yaml", "gen/jobspecs/memory/lammps.yaml"]
    matched = json.loads(_run([cli, "match", "--clusters", "gen/clusters", *jobspecs, "--json"], work, env).stdout)
    capsys.readouterr()
    assert main(["match", "--clusters", str(work / "gen/clusters"), *[str(work / j) for j in jobspecs], "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert [m["matches"] for m in matched] == [m["matches"] for m in expected]
    assert all(m["matches"] and m["rejected"] for m in matched), matched

    simulated = json.loads(_run([cli, "simulate", "--stack", str(stack), "--repeats", "2", "--out", "sim", "--json"],
                                work, env).stdout)
    assert [row["level"] for row in simulated["levels"]][0] == "none"
    assert (work / "sim" / "summary.json").is_file()
    # A stack name finds the example stacks shipped in the wheel.
    named = json.loads(_run([cli, "simulate", "--stack", "dev", "--repeats", "2", "--out", "sim2", "--json"],
                            work, env).stdout)
    assert named["levels"] == simulated["levels"]


def _distribution(name: str) -> str:
    return name.split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().lower().replace("_", "-")


def test_every_library_compatlab_imports_is_a_declared_dependency():
    # The wheel's venv above borrows this venv's packages, dev extras included, so it cannot see a dependency the
    # wheel forgets to declare; this can: every third-party module imported anywhere in compatlab/ must come from
    # a distribution [project] dependencies names (or one they pull in, as pulumi pulls grpcio).
    import ast
    from importlib.metadata import packages_distributions, requires

    from packaging.requirements import Requirement

    declared = {_distribution(d) for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
                ["dependencies"]}
    reachable = set(declared)
    pending = list(declared)
    while pending:  # what the declared ones require, where their markers hold here (no extras)
        for need in requires(pending.pop()) or []:
            requirement = Requirement(need)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            name = _distribution(requirement.name)
            if name not in reachable:
                reachable.add(name)
                pending.append(name)
    owners = packages_distributions()
    imported = set()
    for path in (REPO / "compatlab").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m in owners and m != "compatlab"}
    assert "kubernetes" in third_party and "yaml" in third_party  # the walk found imports
    missing = {m: owners[m] for m in third_party
               if not any(_distribution(d) in reachable for d in owners[m])}
    assert missing == {}


def test_the_receiver_zip_is_the_same_bytes_from_the_wheel_as_from_the_checkout(installed, tmp_path):
    # The wheel holds the data packages inside compatlab/, where the checkout keeps them at the top: one entry each.
    from compatlab.kube.receiver import package_zip

    code = ("import hashlib, io, zipfile, sys; from compatlab.kube.receiver import package_zip; data = package_zip(); "
            "names = zipfile.ZipFile(io.BytesIO(data)).namelist(); "
            "print(len(names), len(set(names)), hashlib.sha256(data).hexdigest())")
    done = _run([str(installed / "bin" / "python"), "-W", "error", "-c", code], tmp_path, _clean_env())
    names = zipfile.ZipFile(io.BytesIO(package_zip())).namelist()
    assert done.stdout.split() == [str(len(names)), str(len(names)), hashlib.sha256(package_zip()).hexdigest()]
