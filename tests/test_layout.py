"""The package layout: each subpackage imports only from those below it, and the README says so."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "compatlab"
SUBPACKAGES = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                               "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"],
        cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120)


def test_the_repository_keeps_every_import_contract():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("lab/model.py", "from compatlab.scheduler import match", "lab at the bottom"),
    ("formats/graphs.py", "from compatlab.experiment import outcomes", "lab at the bottom"),
    ("scheduler/index.py", "from compatlab.kube import labels", "lab at the bottom"),
    ("kube/render.py", "from compatlab.formats import generate", "built from the lab model alone"),
    ("cost.py", "from compatlab.scheduler import index", "built from the lab model alone"),
    ("experiment/outcomes.py", "import pulumi", "never imports pulumi"),
    ("lab/stack.py", "import components.cluster", "never uses them"),
])
def test_an_import_against_the_layering_breaks_a_contract(tmp_path, module, line, contract):
    for part in ("compatlab", "components"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    target = tmp_path / "compatlab" / module
    target.write_text(target.read_text() + f"\n{line}  # an import against the layering\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts")[-1]
    assert contract in " ".join(broken.split())


def test_at_most_eight_top_level_modules_beside_the_subpackages():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 8, modules


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_subpackage_says_what_it_owns_and_may_import(name):
    doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
    assert doc and "Owns" in doc and "import" in doc.lower()


def test_the_readme_layout_table_matches_the_tree():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (.+?) \|", section, flags=re.M)
    listed = {path for row in rows for path in re.findall(r"`([^`]+)`", row)}
    for path in listed:
        assert (REPO / path.rstrip("/")).exists() or "<" in path, f"README lists {path}, not in the tree"
    for module in (m for m in PACKAGE.glob("*.py") if m.name != "__init__.py"):
        assert f"compatlab/{module.name}" in listed, f"compatlab/{module.name} is missing from the README's layout"
    for name in SUBPACKAGES:
        assert f"compatlab/{name}/" in listed, f"compatlab/{name}/ is missing from the README's layout table"


def test_the_package_says_the_version_pyproject_declares():
    import tomllib

    from compatlab import __version__

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == declared
