"""A rainbow server double: rainbow's two gRPC services, in process, from the package's generated stubs.

It behaves as rainbow's server (main branch, ``pkg/server/endpoint.go``) does on
the wire: refusals are UNKNOWN with rainbow's texts ("request denied"); a second
``Register`` answers REGISTER_EXISTS with no credentials; ``Satisfy`` answers the
matching clusters (here from the embedded matcher); ``SubmitJob`` checks every
token, picks one of the given clusters at random and answers job id 0; jobs stay
queued until ``AcceptJobs``. It can be told to deny, to fail a method
transiently (UNAVAILABLE) a number of times, or be stopped (unavailable).
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections import defaultdict
from concurrent import futures

import grpc
from rainbow.protos import memory_pb2, memory_pb2_grpc, rainbow_pb2, rainbow_pb2_grpc

from compatlab.scheduler.clusters import build_cluster
from compatlab.scheduler.index import Index
from compatlab.scheduler.request import read_request

DENIED = "request denied"


class RainbowDouble(rainbow_pb2_grpc.RainbowSchedulerServicer, memory_pb2_grpc.MemoryGraphServicer):
    """Start with ``start()``; ``address`` is ``127.0.0.1:<port>``. ``calls`` counts calls per method."""

    def __init__(self, secret: str = "scheduler-secret", seed: int = 0) -> None:
        self.secret = secret
        self.clusters: dict[str, dict] = {}  # name -> {token, secret, nodes, subsystems}
        self.jobs: dict[int, dict] = {}  # id -> {cluster, name, jobspec}
        self.next_id = 1
        self.rng = random.Random(seed)
        self.calls: dict[str, int] = defaultdict(int)
        self.failures: dict[str, list[grpc.StatusCode]] = defaultdict(list)
        self.deny_everything = False
        self.lock = threading.Lock()
        self.server: grpc.Server | None = None
        self.address = ""

    # --- control -------------------------------------------------------------------------
    def start(self, port: int = 0) -> RainbowDouble:
        """Serve on 127.0.0.1:``port`` (0: any free port); a new double on an old port is a restarted rainbow."""
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        rainbow_pb2_grpc.add_RainbowSchedulerServicer_to_server(self, self.server)
        memory_pb2_grpc.add_MemoryGraphServicer_to_server(self, self.server)
        port = self.server.add_insecure_port(f"127.0.0.1:{port}")
        self.server.start()
        self.address = f"127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop(grace=None).wait()

    def fail(self, method: str, times: int, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
        """The next ``times`` calls of ``method`` fail with ``code`` before doing anything."""
        self.failures[method] += [code] * times

    def _enter(self, method: str, context) -> None:
        self.calls[method] += 1
        if self.failures[method]:
            context.abort(self.failures[method].pop(0), "injected transient failure")
        if self.deny_everything:
            context.abort(grpc.StatusCode.UNKNOWN, DENIED)

    def _cluster_secret(self, name: str, secret: str, context) -> dict:
        held = self.clusters.get(name)
        if not secret or held is None or held["secret"] != secret:
            context.abort(grpc.StatusCode.UNKNOWN, DENIED)
        return held

    # --- RainbowScheduler ------------------------------------------------------------------
    def Register(self, request, context):  # noqa: N802 - gRPC's method names
        self._enter("Register", context)
        with self.lock:
            if request.secret != self.secret:
                context.abort(grpc.StatusCode.UNKNOWN, DENIED)
            if not request.nodes:
                context.abort(grpc.StatusCode.UNKNOWN, "cluster nodes are required")
            if request.name in self.clusters:
                return rainbow_pb2.RegisterResponse(status=rainbow_pb2.RegisterResponse.REGISTER_EXISTS)
            nodes = json.loads(request.nodes)
            build_cluster(request.name, nodes, {}, request.name)
            token, secret = str(uuid.uuid4()), str(uuid.uuid4())
            self.clusters[request.name] = {"token": token, "secret": secret, "nodes": nodes, "subsystems": {}}
            return rainbow_pb2.RegisterResponse(token=token, secret=secret,
                                                status=rainbow_pb2.RegisterResponse.REGISTER_SUCCESS)

    def RegisterSubsystem(self, request, context):  # noqa: N802
        self._enter("RegisterSubsystem", context)
        with self.lock:
            held = self._cluster_secret(request.name, request.secret, context)
            if request.subsystem in held["subsystems"]:
                context.abort(grpc.StatusCode.UNKNOWN,
                              f"subsystem {request.subsystem} already exists for cluster {request.name}")
            held["subsystems"][request.subsystem] = json.loads(request.nodes)
            return rainbow_pb2.RegisterResponse(status=rainbow_pb2.RegisterResponse.REGISTER_SUCCESS)

    def SubmitJob(self, request, context):  # noqa: N802
        self._enter("SubmitJob", context)
        with self.lock:
            names = []
            for cluster in request.clusters:
                if not cluster.name or not cluster.token:
                    continue
                held = self.clusters.get(cluster.name)
                if held is None or held["token"] != cluster.token:
                    context.abort(grpc.StatusCode.UNKNOWN, DENIED)
                names.append(cluster.name)
            if not names:
                context.abort(grpc.StatusCode.UNKNOWN, "one or more authenticated clusters are required")
            if '"' in request.jobspec:  # rainbow builds its SQL with the YAML inside double quotes
                context.abort(grpc.StatusCode.UNKNOWN, "near \"...\": syntax error")
            chosen = self.rng.choice(names)
            self.jobs[self.next_id] = {"cluster": chosen, "name": request.name, "jobspec": request.jobspec}
            self.next_id += 1
            return rainbow_pb2.SubmitJobResponse(cluster=chosen, jobid=0,
                                                 status=rainbow_pb2.SubmitJobResponse.SUBMIT_SUCCESS)

    def ReceiveJobs(self, request, context):  # noqa: N802
        self._enter("ReceiveJobs", context)
        with self.lock:
            self._cluster_secret(request.cluster, request.secret, context)
            mine = sorted((i, j) for i, j in self.jobs.items() if j["cluster"] == request.cluster)
            if request.maxJobs > 0:
                mine = mine[: request.maxJobs]
            if not mine:
                return rainbow_pb2.ReceiveJobsResponse(status=rainbow_pb2.ReceiveJobsResponse.REQUEST_JOBS_NORESULTS)
            jobs = {i: json.dumps({"id": i, "cluster": j["cluster"], "name": j["name"], "jobspec": j["jobspec"],
                                   "command": ""}) for i, j in mine}
            status = rainbow_pb2.ReceiveJobsResponse.REQUEST_JOBS_SUCCESS
            return rainbow_pb2.ReceiveJobsResponse(jobs=jobs, status=status)

    def AcceptJobs(self, request, context):  # noqa: N802
        self._enter("AcceptJobs", context)
        with self.lock:
            self._cluster_secret(request.cluster, request.secret, context)
            for job_id in request.jobids:
                if self.jobs.get(job_id, {}).get("cluster") == request.cluster:
                    del self.jobs[job_id]
            return rainbow_pb2.AcceptJobsResponse(status=rainbow_pb2.AcceptJobsResponse.RESULT_TYPE_SUCCESS)

    # --- MemoryGraph -----------------------------------------------------------------------
    def Satisfy(self, request, context):  # noqa: N802
        self._enter("Satisfy", context)
        with self.lock:
            jobspec = json.loads(request.payload)
            clusters = [build_cluster(n, c["nodes"], c["subsystems"], n) for n, c in sorted(self.clusters.items())]
            matches = Index(clusters).matches(read_request(jobspec, "payload")) if clusters else []
            return memory_pb2.SatisfyResponse(clusters=matches, total_clusters=len(clusters),
                                              total_matches=len(matches),
                                              total_mismatches=len(clusters) - len(matches),
                                              status=memory_pb2.SatisfyResponse.RESULT_TYPE_SUCCESS)

    def queued(self) -> list[str]:
        """Names of the jobs still queued (not accepted)."""
        return sorted(j["name"] for j in self.jobs.values())
