"""A stand-in for the parts of the ``kubernetes`` client compatlab uses: pod listing, exec streams, Secrets.

Pods are the client's own models (``V1Pod``...), so a field compatlab reads that
the real API does not have fails here too. An exec runs the command for real on
this machine, inside a per-pod "root": absolute paths the probe and the collector
read (``/etc/os-release``, ``/sys/fs/cgroup``, ``/tmp/compatlab``) are mapped into
the pod's own directory, and its ``bin/`` (fake ``uname``, ``go``...) comes first
on PATH. The websocket object answers as ``kubernetes.stream.ws_client.WSClient``
does: ``run_forever``, ``read_stdout``, ``read_stderr``, ``returncode``, ``close``.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes.client import (
    V1Container,
    V1ContainerState,
    V1ContainerStateTerminated,
    V1ContainerStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodList,
    V1PodSpec,
    V1PodStatus,
    V1ResourceRequirements,
)

MAPPED = ("/etc/os-release", "/sys/fs/cgroup", "/mnt/flux/compatlab", "/mnt/flux/flux-view.sh", "/proc/self/cgroup")


@dataclass
class FakePod:
    name: str
    minicluster: str
    index: int
    root: Path
    phase: str = "Running"
    limits: dict[str, str] = field(default_factory=dict)

    terminated: tuple[str, datetime.datetime] | None = None
    # (message, when): the kubelet evicted the pod, as its eviction manager reports it (phase Failed, reason Evicted)
    evicted: tuple[str, datetime.datetime] | None = None

    def model(self) -> V1Pod:
        labels = {"job-name": self.minicluster, "batch.kubernetes.io/job-completion-index": str(self.index)}
        # The operator names the Flux container after the MiniCluster (flux-operator 0.2.1, containers.go).
        container = V1Container(name=self.minicluster, resources=V1ResourceRequirements(limits=self.limits))
        statuses = []
        if self.terminated:
            last = V1ContainerState(terminated=V1ContainerStateTerminated(
                exit_code=137, reason=self.terminated[0], finished_at=self.terminated[1]))
            statuses.append(V1ContainerStatus(name=self.minicluster, image="x", image_id="x", ready=True,
                                              restart_count=1, last_state=last))
        status = V1PodStatus(phase=self.phase, container_statuses=statuses)
        if self.evicted:
            now = V1ContainerState(terminated=V1ContainerStateTerminated(
                exit_code=137, reason="ContainerStatusUnknown", finished_at=self.evicted[1]))
            status = V1PodStatus(phase="Failed", reason="Evicted", message=self.evicted[0], container_statuses=[
                V1ContainerStatus(name=self.minicluster, image="x", image_id="x", ready=False, restart_count=0,
                                  state=now)])
        return V1Pod(metadata=V1ObjectMeta(name=self.name, labels=labels,
                                           creation_timestamp=datetime.datetime(2026, 11, 29, tzinfo=datetime.UTC)),
                     spec=V1PodSpec(containers=[container]), status=status)


def make_pod(root: Path, minicluster: str, *, arch: str = "x86_64", os_id: str = "ubuntu", version: str = "22.04",
             go: str = "go1.20.14", cores: int = 1, memory: int = 2_000_000_000, disk: str = "8G",
             commands: tuple[str, ...] = ("ior", "lstopo", "lmp"), phase: str = "Running",
             cgroup_path: str = "/", flux_cores: int | None = None) -> FakePod:
    """A lead broker pod whose probe shows these facts.

    ``cgroup_path`` is the container's cgroup as /proc/self/cgroup says it ("/" with a
    cgroup namespace; a long path in a privileged container, which has none);
    ``flux_cores`` the cores per node Flux sees (None: no flux view in the pod).
    """
    pod_root = root / minicluster
    (pod_root / "etc").mkdir(parents=True, exist_ok=True)
    (pod_root / "etc/os-release").write_text(f'ID={os_id}\nVERSION_ID="{version}"\n')
    cgroup = pod_root / "sys/fs/cgroup" / cgroup_path.lstrip("/")
    cgroup.mkdir(parents=True, exist_ok=True)
    (cgroup / "cpu.max").write_text(f"{cores * 100000} 100000\n")
    (cgroup / "memory.max").write_text(f"{memory}\n")
    (pod_root / "proc/self").mkdir(parents=True, exist_ok=True)
    (pod_root / "proc/self/cgroup").write_text(f"0::{cgroup_path}\n")
    bin_dir = pod_root / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "uname").write_text(f"#!/bin/sh\necho {arch}\n")
    (bin_dir / "go").write_text(f"#!/bin/sh\necho go version {go} linux/amd64\n")
    for command in commands:
        (bin_dir / command).write_text("#!/bin/sh\nexit 0\n")
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    if flux_cores is not None:
        (pod_root / "mnt/flux").mkdir(parents=True, exist_ok=True)
        (pod_root / "mnt/flux/flux-view.sh").write_text("fluxsocket=local:///run/flux/local\n")
        (bin_dir / "flux").write_text(f"#!/bin/sh\necho '1 Nodes, {flux_cores} Cores, 0 GPUs'\n")
        (bin_dir / "flux").chmod(0o755)
    (bin_dir / "compatlab").write_text("#!/bin/sh\necho compatlab 0.1.0\n")
    (bin_dir / "compatlab").chmod(0o755)
    (pod_root / "mnt/flux/compatlab/results").mkdir(parents=True, exist_ok=True)
    return FakePod(f"{minicluster}-0-abcde", minicluster, 0, pod_root, phase,
                   {"cpu": str(cores), "memory": f"{memory // 10**9}G", "ephemeral-storage": disk})


class FakeWS:
    def __init__(self, pod: FakePod, argv: list[str]) -> None:
        self.pod, self.argv = pod, argv
        self._out = self._err = ""
        self._code: int | None = None
        self.closed = False

    def run_forever(self, timeout=None):
        argv = [self._map(a) for a in self.argv]
        env = {**os.environ, "PATH": f"{self.pod.root / 'bin'}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, check=False)
        self._out, self._err, self._code = done.stdout, done.stderr, done.returncode

    def _map(self, text: str) -> str:
        for path in MAPPED:
            text = text.replace(path, f"{self.pod.root}{path}")
        return text

    def read_stdout(self, timeout=None):
        return self._out

    def read_stderr(self, timeout=None):
        return self._err

    def is_open(self):
        return self._code is None

    @property
    def returncode(self):
        return self._code

    def close(self):
        self.closed = True


class FakeCore:
    """The ``CoreV1Api`` methods compatlab calls, over a set of ``FakePod``s and Secrets."""

    def __init__(self, pods: list[FakePod]) -> None:
        self.pods = {p.name: p for p in pods}
        self.secrets: dict[str, dict] = {}
        self.calls: list[str] = []

    def list_namespaced_pod(self, namespace, label_selector=""):
        self.calls.append(f"list {namespace} {label_selector}")
        key, _, value = label_selector.partition("=")
        return V1PodList(items=[p.model() for p in self.pods.values() if key == "job-name" and p.minicluster == value])

    def connect_get_namespaced_pod_exec(self, *args, **kwargs):  # only ever passed to stream()
        raise AssertionError("called without the stream() websocket wrapper")

    def patch_namespaced_secret(self, name, namespace, body):
        self.calls.append(f"patch {namespace}/{name}")
        self.secrets[f"{namespace}/{name}"] = body


def fake_stream(core: FakeCore):
    """A ``kubernetes.stream.stream`` stand-in bound to ``core``'s pods."""

    def stream(method, name, namespace, command, container, stderr, stdin, stdout, tty, _preload_content):
        assert method == core.connect_get_namespaced_pod_exec and container == core.pods[name].minicluster
        assert stdout and stderr and not stdin and not tty and _preload_content is False
        core.calls.append(f"exec {namespace}/{name} {command[0]}")
        return FakeWS(core.pods[name], command)

    return stream
