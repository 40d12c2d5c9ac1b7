"""Real rainbow over gRPC, through the generated stubs of the pinned ``rainbow-scheduler`` package.

rainbow's Python client 0.0.16 opens only insecure channels, has no deadlines and
wants a config file even to register, so this adapter calls the package's stubs
(``rainbow.protos.rainbow_pb2_grpc``, ``memory_pb2_grpc``) itself, with the
client's wire behaviour: ``MemoryGraph.Satisfy`` (the jobspec as JSON) before
``SubmitJob`` (the jobspec as YAML, a token per matching cluster);
``ReceiveJobs`` then ``AcceptJobs`` with the cluster's secret. Plain gRPC for a
loopback or in-cluster host; TLS with a CA file and a target-name override for
the lab's Ingress.

Facts from rainbow's server (main branch, ``pkg/server/endpoint.go``): every
refusal is a plain error, so it arrives as status UNKNOWN with the text
("request denied" for a wrong secret, token or an unknown cluster); a second
registration answers REGISTER_EXISTS with no credentials; ``SubmitJob`` answers
job id 0 (the id arrives with ``ReceiveJobs``).
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
from rainbow.protos import memory_pb2, memory_pb2_grpc, rainbow_pb2, rainbow_pb2_grpc

from compatlab.errors import LabError
from compatlab.formats.jobspecs import jobspec_yaml
from compatlab.formats.nextgen import JobspecDoc
from compatlab.inputs import read_bytes

from .interface import Credentials, Denied, Placement, ReceivedJob, Registration, SchedulerError, Unavailable

T = TypeVar("T")
# Transport failures a retry can cure. rainbow itself never answers these (its refusals are UNKNOWN).
MAX_CA_BYTES = 1 << 20  # a PEM CA certificate is about 2 KB; a bundle of a few hundred fits
RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


@dataclass(frozen=True)
class Retry:
    """Capped exponential backoff: ``attempts`` tries, waiting ``first_s`` seconds, doubling up to ``cap_s``."""

    attempts: int = 6
    first_s: float = 0.5
    cap_s: float = 8.0

    def delays(self) -> list[float]:
        """The waits between tries, in seconds (``attempts - 1`` of them)."""
        return [min(self.cap_s, self.first_s * 2**i) for i in range(self.attempts - 1)]


@dataclass(frozen=True)
class Endpoint:
    """Where rainbow listens: ``host`` ``HOST:PORT``; ``ca_file`` (PEM) turns on TLS, ``tls_name`` overrides the name.

    The lab's Ingress presents a self-signed certificate for ``rainbow`` (stack
    output ``rainbowCaCertificate``), so ``tls_name`` defaults to ``rainbow``.
    """

    host: str
    ca_file: Path | None = None
    tls_name: str | None = None

    def channel(self) -> grpc.Channel:
        """A gRPC channel: plain without ``ca_file``, else TLS trusting only that CA. Raises ``LabError``."""
        if self.ca_file is None:
            return grpc.insecure_channel(self.host)
        ca = read_bytes(self.ca_file, MAX_CA_BYTES, "the stack output rainbowCaCertificate saved to a file")
        try:  # gRPC would log its refusal to stderr and then fail as "unavailable": check it here, in one line
            ssl.create_default_context(cadata=ca.decode("ascii"))
        except (ssl.SSLError, ValueError, UnicodeDecodeError):
            raise LabError(self.ca_file, "", "is not a PEM certificate; allowed: the stack output "
                           "rainbowCaCertificate saved to a file") from None
        options = [("grpc.ssl_target_name_override", self.tls_name or "rainbow")]
        return grpc.secure_channel(self.host, grpc.ssl_channel_credentials(root_certificates=ca), options=options)


class RainbowScheduler:
    """A rainbow server, called through its stubs. Every call has a deadline and retries transport failures.

    ``secret`` is the scheduler secret (server ``--secret``), needed only to
    register; ``timeout_s`` the deadline of each call in seconds; ``notify`` is
    told of each retry (one line). Raises
    ``Denied`` (naming the cluster) when rainbow denies a secret or token,
    ``Unavailable`` when it does not answer after ``retry``, ``SchedulerError``
    for anything else it refuses.
    """

    def __init__(self, endpoint: Endpoint, secret: str | None = None, timeout_s: float = 30.0,
                 retry: Retry = Retry(), sleep: Callable[[float], None] = time.sleep,
                 notify: Callable[[str], None] = lambda _: None) -> None:
        self.endpoint = endpoint.host
        self._secret = secret
        self._timeout = timeout_s
        self._retry = retry
        self._sleep = sleep
        self._notify = notify
        self._channel = endpoint.channel()
        self._rainbow = rainbow_pb2_grpc.RainbowSchedulerStub(self._channel)
        self._graph = memory_pb2_grpc.MemoryGraphStub(self._channel)

    def _call(self, method: Callable[..., T], request: Any, what: str, cluster: str | None,
              idempotent: bool = True) -> T:
        # A call that may have happened although its answer was lost (DEADLINE_EXCEEDED) is retried only
        # when doing it twice is harmless: a second Register would answer REGISTER_EXISTS without the
        # credentials, a second SubmitJob would queue the job twice.
        retryable = RETRYABLE if idempotent else (grpc.StatusCode.UNAVAILABLE,)
        delays = self._retry.delays()
        for attempt in range(len(delays) + 1):
            try:
                return method(request, timeout=self._timeout)
            except grpc.RpcError as err:
                code, details = err.code(), " ".join((err.details() or "").split())
                if code in retryable and attempt < len(delays):
                    self._notify(f"rainbow at {self.endpoint}: {code.name} on {what}; trying again in "
                                 f"{delays[attempt]:g} s ({attempt + 2} of {len(delays) + 1})")
                    self._sleep(delays[attempt])
                    continue
                whose = f" for cluster {cluster}" if cluster else ""
                if code in RETRYABLE:
                    raise Unavailable(f"rainbow at {self.endpoint} did not answer {what}{whose} after "
                                      f"{attempt + 1} tries: {code.name}: {details}") from None
                if "denied" in details:
                    raise Denied(f"rainbow at {self.endpoint} denied {what}{whose}: wrong secret or token, "
                                 "or a cluster it does not know") from None
                raise SchedulerError(f"rainbow at {self.endpoint} refused {what}{whose}: {code.name}: "
                                     f"{details}") from None
        raise AssertionError("unreachable")

    def register(self, cluster: str, nodes: bytes) -> Registration:
        """``Register`` with the scheduler secret; REGISTER_EXISTS comes back as ``existed`` with no credentials."""
        if not self._secret:
            raise LabError("COMPATLAB_RAINBOW_SECRET", "", "is not set and no --secret-file was given; allowed: "
                           "rainbow's scheduler secret (stack output rainbowSecret) in --secret-file or that variable")
        request = rainbow_pb2.RegisterRequest(name=cluster, secret=self._secret, nodes=nodes.decode())
        answer = self._call(self._rainbow.Register, request, "registering", cluster, idempotent=False)
        status = rainbow_pb2.RegisterResponse.ResultType
        if answer.status == status.REGISTER_EXISTS:
            return Registration(cluster, None, existed=True)
        if answer.status != status.REGISTER_SUCCESS or not answer.secret:
            raise SchedulerError(f"rainbow at {self.endpoint} answered registering cluster {cluster} with "
                                 f"{status.Name(answer.status)}")
        return Registration(cluster, Credentials(answer.token, answer.secret), existed=False)

    def register_subsystem(self, cluster: str, subsystem: str, graph: bytes, secret: str) -> None:
        """``RegisterSubsystem`` with the cluster's secret."""
        request = rainbow_pb2.RegisterRequest(name=cluster, secret=secret, nodes=graph.decode(), subsystem=subsystem)
        answer = self._call(self._rainbow.RegisterSubsystem, request, f"registering subsystem {subsystem}", cluster)
        if answer.status != rainbow_pb2.RegisterResponse.ResultType.REGISTER_SUCCESS:
            raise SchedulerError(f"rainbow at {self.endpoint} answered subsystem {subsystem} of cluster {cluster} "
                                 f"with {rainbow_pb2.RegisterResponse.ResultType.Name(answer.status)}")

    def satisfy(self, jobspec: JobspecDoc) -> tuple[str, ...]:
        """``MemoryGraph.Satisfy`` with the jobspec as JSON and the ``match`` algorithm, as the client asks."""
        request = memory_pb2.SatisfyRequest(payload=json.dumps(jobspec), matcher="match")
        answer = self._call(self._graph.Satisfy, request, "Satisfy", None)
        return tuple(sorted(answer.clusters))

    def submit(self, name: str, jobspec: JobspecDoc, clusters: dict[str, str], select_key: str) -> Placement:
        """``SubmitJob`` to ``clusters`` (name -> token); rainbow picks one with its own ``random`` selection."""
        request = rainbow_pb2.SubmitJobRequest(
            name=name, jobspec=jobspec_yaml(jobspec),
            clusters=[rainbow_pb2.SubmitJobRequest.Cluster(name=c, token=t) for c, t in sorted(clusters.items())])
        answer = self._call(self._rainbow.SubmitJob, request, f"submitting {name}", ", ".join(sorted(clusters)),
                            idempotent=False)
        if answer.status != rainbow_pb2.SubmitJobResponse.ResultType.SUBMIT_SUCCESS or not answer.cluster:
            raise SchedulerError(f"rainbow at {self.endpoint} answered submitting {name} with "
                                 f"{rainbow_pb2.SubmitJobResponse.ResultType.Name(answer.status)}")
        return Placement(name, tuple(sorted(clusters)), answer.cluster, answer.jobid or None)

    def receive(self, cluster: str, secret: str, max_jobs: int = 0) -> list[ReceivedJob]:
        """``ReceiveJobs``: the jobs rainbow holds for ``cluster``, in id order. They stay until accepted."""
        request = rainbow_pb2.ReceiveJobsRequest(cluster=cluster, secret=secret, maxJobs=max_jobs)
        answer = self._call(self._rainbow.ReceiveJobs, request, "receiving jobs", cluster)
        jobs = []
        for job_id, text in sorted(answer.jobs.items()):
            try:
                job = json.loads(text)
                jobs.append(ReceivedJob(int(job_id), cluster, str(job["name"]), str(job["jobspec"])))
            except (ValueError, KeyError, TypeError):
                raise SchedulerError(f"rainbow at {self.endpoint} sent job {job_id} for cluster {cluster} "
                                     "in a shape it does not document") from None
        return jobs

    def accept(self, cluster: str, secret: str, job_ids: list[int]) -> None:
        """``AcceptJobs``: rainbow deletes them; a partial answer (some were gone) is not an error."""
        if job_ids:
            request = rainbow_pb2.AcceptJobsRequest(cluster=cluster, secret=secret, jobids=sorted(job_ids))
            self._call(self._rainbow.AcceptJobs, request, "accepting jobs", cluster)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()
