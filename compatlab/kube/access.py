"""The lab's Kubernetes API, through the ``kubernetes`` client: MiniCluster pods, commands in them, Secrets.

Only what the run loop needs: find a MiniCluster's pods (the operator runs each
MiniCluster as an indexed Job named after it, so its pods carry ``job-name=<name>``
and the lead broker is index 0, ``<name>-0-<suffix>``), run a command in one of
them (the exec subresource over a websocket, as ``kubectl exec`` does), and write
a cluster's rainbow credentials into its Secret. Every failure is a one-line
``LabError`` naming the cluster, pod or Secret.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compatlab.errors import LabError, brief
from compatlab.inputs import parse_yaml, read_bytes

from .minicluster import NAMESPACE, container_name, credentials_secret_name

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"  # set by the Job controller (Kubernetes >= 1.28)


@dataclass(frozen=True)
class Pod:
    """A MiniCluster pod: its name, index in the MiniCluster, phase, the Flux container's limits and terminations.

    ``limits`` are the Kubernetes quantities as written (``{"cpu": "1", "memory": "2G",
    "ephemeral-storage": "8G"}``); ``created`` the pod's creation time (ISO 8601);
    ``terminated`` the container's last termination, if it restarted: (reason such
    as ``OOMKilled``, finished at, ISO 8601, UTC); ``evicted`` the kubelet's eviction
    of the whole pod, if it was evicted: (its message, such as ``Pod ephemeral local
    storage usage exceeds the total limit of containers 1G.``, when, ISO 8601, UTC).
    """

    name: str
    index: int
    phase: str
    limits: dict[str, str]
    created: str = ""
    terminated: tuple[str, str] | None = None
    evicted: tuple[str, str] | None = None


MAX_KUBECONFIG_BYTES = 1 << 20  # a kubeconfig with a few dozen clusters is tens of KB
MAX_KUBECONFIG_ENTRIES = 1000  # clusters, contexts or users: the client looks names up in lists, quadratically


def check_kubeconfig(path: Path) -> None:
    """Refuse a kubeconfig file that is not a regular file of at most 1 MiB, bounded YAML, a mapping, with at
    most ``MAX_KUBECONFIG_ENTRIES`` entries in each list. Raises ``LabError`` naming the file."""
    allowed = "pulumi stack output --show-secrets kubeconfig > kubeconfig"
    doc = parse_yaml(read_bytes(path, MAX_KUBECONFIG_BYTES, "a kubeconfig file"), path)
    if not isinstance(doc, dict):
        raise LabError(path, "", f"{brief(doc)} is not a kubeconfig; allowed: a mapping with clusters, contexts "
                       f"and users, as {allowed} writes")
    for key in ("clusters", "contexts", "users"):
        entries = doc.get(key)
        if isinstance(entries, list) and len(entries) > MAX_KUBECONFIG_ENTRIES:
            raise LabError(path, key, f"has {len(entries):,} entries; allowed: at most {MAX_KUBECONFIG_ENTRIES:,}")


def kubeconfig_paths(kubeconfig: str | None) -> list[Path]:
    """The files the Kubernetes client would read: ``kubeconfig``, else each existing entry of ``$KUBECONFIG``
    (``:``-separated, as kubectl merges them), else ``~/.kube/config`` if it exists. Raises nothing."""
    if kubeconfig:
        return [Path(kubeconfig)]
    listed = [Path(p).expanduser() for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return [p for p in listed if p.exists() or p.is_symlink()]
    default = Path("~/.kube/config").expanduser()
    return [default] if default.exists() or default.is_symlink() else []


def _disrupted(status: Any) -> str:
    """When the kubelet marked the pod for termination (its ``DisruptionTarget`` condition, Kubernetes >= 1.26)."""
    for condition in status.conditions or []:
        if condition.type == "DisruptionTarget" and condition.last_transition_time:
            when: str = condition.last_transition_time.isoformat()  # a datetime, in the client's untyped model
            return when
    return ""


class KubeAccess:
    """The API calls compatlab makes, over a ``CoreV1Api`` and the client's ``stream`` function.

    ``core`` and ``stream`` are injectable so tests can stand in for the API
    server. Raises ``LabError`` for anything the API refuses or cannot reach.
    """

    def __init__(self, core: Any, stream: Callable[..., Any] | None = None, namespace: str = NAMESPACE) -> None:
        self.core = core
        if stream is None:
            from kubernetes.stream import stream as client_stream

            stream = client_stream
        self._stream = stream
        self.namespace = namespace

    @classmethod
    def connect(cls, kubeconfig: str | None) -> KubeAccess:
        """From a kubeconfig file (the stack output ``kubeconfig`` saved), else ``$KUBECONFIG``/``~/.kube/config``."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        where = kubeconfig or "$KUBECONFIG or ~/.kube/config"
        # The client reads whatever it is given, with PyYAML's unbounded loader: a FIFO would hang it,
        # /dev/zero fill memory, an alias bomb or deep nesting never end. Each file passes our reader first.
        for path in kubeconfig_paths(kubeconfig):
            check_kubeconfig(path)
        try:
            config.load_kube_config(config_file=kubeconfig)
        except (ConfigException, OSError, TypeError, ValueError, AttributeError, KeyError, RecursionError,
                yaml.YAMLError) as err:
            raise LabError(where, "", f"no usable kubeconfig ({' '.join(str(err).split())[:200]}); allowed: "
                           "pulumi stack output --show-secrets kubeconfig > kubeconfig") from None
        return cls(client.CoreV1Api())

    def _call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.exceptions import ApiException

        try:
            return method(*args, **kwargs)
        except ApiException as err:
            raise LabError(f"kubernetes: {what}", "", f"{err.status} {err.reason}") from None
        except OSError as err:  # connection refused, DNS, TLS: urllib3's errors are OSErrors
            raise LabError(f"kubernetes: {what}", "", f"unreachable: {' '.join(str(err).split())[:200]}") from None

    def pods(self, minicluster: str) -> list[Pod]:
        """The MiniCluster's pods, by index."""
        listed = self._call(f"listing the pods of {minicluster}", self.core.list_namespaced_pod, self.namespace,
                            label_selector=f"job-name={minicluster}")
        pods = []
        for item in listed.items:
            name = item.metadata.name
            labels = item.metadata.labels or {}
            index = labels.get(COMPLETION_INDEX)
            if index is None:  # older Job controllers: the index is in the name, <job>-<index>-<suffix>
                index = name[len(minicluster) + 1:].split("-", 1)[0]
            try:
                number = int(index)
            except ValueError:
                continue
            limits: dict[str, str] = {}
            for container in item.spec.containers or []:
                if container.name == container_name(minicluster) and container.resources and container.resources.limits:
                    limits = {k: str(v) for k, v in container.resources.limits.items()}
            terminated, evicted = None, None
            ended = ""  # when the Flux container last stopped, for an eviction's time
            for status in (item.status.container_statuses or []) if item.status else []:
                if status.name != container_name(minicluster):
                    continue
                last = status.last_state.terminated if status.last_state else None
                if last is not None:
                    terminated = (last.reason or "", last.finished_at.isoformat() if last.finished_at else "")
                now = status.state.terminated if status.state else None
                if now is not None and now.finished_at:
                    ended = now.finished_at.isoformat()
            if item.status and item.status.reason == "Evicted":
                evicted = (" ".join((item.status.message or "evicted").split()), ended or _disrupted(item.status))
            created = item.metadata.creation_timestamp
            pods.append(Pod(name, number, item.status.phase or "", limits,
                            created.isoformat() if created else "", terminated, evicted))
        return sorted(pods, key=lambda p: (p.index, p.created))

    def lead_pod(self, minicluster: str) -> Pod:
        """The running lead broker (index 0; the newest, when a failed one lingers). ``LabError`` if none runs."""
        leads = [p for p in self.pods(minicluster) if p.index == 0]
        running = [p for p in leads if p.phase == "Running"]
        if not running:
            state = f"pod {leads[-1].name} is {leads[-1].phase}" if leads else "no pod"
            raise LabError(f"minicluster {minicluster}", "", f"its lead broker is not running ({state} in namespace "
                           f"{self.namespace}); allowed: a lab that is up (pulumi up, then wait for the pods)")
        return running[-1]

    def exec(self, pod: str, container: str, argv: list[str], timeout_s: float = 120.0) -> tuple[int, str, str]:
        """Run ``argv`` in the pod's ``container``: (exit code, stdout, stderr) as text.

        Bounded by ``timeout_s`` seconds; a stream that ends without an exit status
        or breaks is a ``LabError``, never a hang or a traceback.
        """
        what = f"running {argv[0]} in pod {pod}"
        ws = self._call(what, self._stream, self.core.connect_get_namespaced_pod_exec, pod, self.namespace,
                        command=argv, container=container, stderr=True, stdin=False, stdout=True, tty=False,
                        _preload_content=False)
        try:
            ws.run_forever(timeout=timeout_s)
            if ws.is_open():  # still running: reading now would wait without end
                raise LabError(f"kubernetes: {what}", "", f"did not finish within {timeout_s:g} s")
            out, err = ws.read_stdout(timeout=0) or "", ws.read_stderr(timeout=0) or ""
            code = ws.returncode
        except LabError:
            raise
        except Exception as err:  # the websocket and the status parsing raise their own kinds
            raise LabError(f"kubernetes: {what}", "", f"the exec stream failed ({type(err).__name__}: "
                           f"{' '.join(str(err).split())[:160]})") from None
        finally:
            ws.close()
        if code is None:
            raise LabError(f"kubernetes: {what}", "", "ended without an exit status")
        return int(code), out, err

    def write_credentials(self, minicluster: str, token: str, secret: str) -> None:
        """Put a cluster's rainbow token and secret into its Secret (which the lab created), mounted in its pods."""
        name = credentials_secret_name(minicluster)
        body = {"data": {"token": base64.b64encode(token.encode()).decode(),
                         "secret": base64.b64encode(secret.encode()).decode()}}
        self._call(f"writing Secret {self.namespace}/{name}", self.core.patch_namespaced_secret, name,
                   self.namespace, body)
