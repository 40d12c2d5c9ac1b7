"""The rainbow adapter against a double of rainbow's gRPC services: the calls, the refusals, the retries, TLS."""

from __future__ import annotations

import shutil
import subprocess

import grpc
import pytest

from compatlab.errors import LabError
from compatlab.formats.generate import generate
from compatlab.scheduler.interface import Denied, SchedulerError, Unavailable
from compatlab.scheduler.rainbow import Endpoint, RainbowScheduler, Retry
from tests.rainbow_double import RainbowDouble

FAST = Retry(attempts=4, first_s=0.0, cap_s=0.0)


@pytest.fixture
def double():
    server = RainbowDouble(secret="the-secret").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def files(dev_lab):
    return generate(dev_lab)


def client(double, secret="the-secret", **kw):
    return RainbowScheduler(Endpoint(double.address), secret, timeout_s=5, retry=kw.pop("retry", FAST), **kw)


def register_all(rainbow, files, names):
    creds = {}
    for name in names:
        answer = rainbow.register(name, files[f"clusters/{name}/nodes.json"])
        creds[name] = answer.credentials
        prefix = f"clusters/{name}/"
        for rel in (r for r in files if r.startswith(prefix) and r.endswith("-subsystem.json")):
            rainbow.register_subsystem(name, rel[len(prefix):-len("-subsystem.json")], files[rel],
                                       answer.credentials.secret)
    return creds


def test_a_first_registration_answers_credentials_and_a_second_answers_exists(double, files):
    rainbow = client(double)
    first = rainbow.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"])
    again = rainbow.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"])
    assert not first.existed and first.credentials.token and first.credentials.secret
    assert again.existed and again.credentials is None


def test_a_wrong_scheduler_secret_is_denied_naming_the_cluster(double, files):
    with pytest.raises(Denied, match=r"denied registering for cluster rocky9-amd64: wrong secret"):
        client(double, secret="wrong").register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"])


def test_registering_without_a_secret_says_where_to_put_it(double, files):
    with pytest.raises(LabError, match="COMPATLAB_RAINBOW_SECRET"):
        client(double, secret=None).register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"])


def test_a_subsystem_needs_the_clusters_own_secret(double, files):
    rainbow = client(double)
    rainbow.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"])
    with pytest.raises(Denied, match="cluster rocky9-amd64"):
        rainbow.register_subsystem("rocky9-amd64", "archspec", files["clusters/rocky9-amd64/archspec-subsystem.json"],
                                   "the-secret")


def test_satisfy_then_submit_then_receive_then_accept(double, files, dev_lab):
    rainbow = client(double)
    creds = register_all(rainbow, files, [mc.name for mc in dev_lab.miniclusters])
    import yaml

    doc = yaml.safe_load(files["jobspecs/arch/salad.yaml"])
    matches = rainbow.satisfy(doc)
    assert matches == ("lowmem-rocky9-amd64", "rocky9-amd64")  # the amd64 container, the amd64 clusters
    placed = rainbow.submit("abcdef01.arch.salad.0", doc, {c: creds[c].token for c in matches}, "unused")
    assert placed.cluster in matches and placed.job_id is None  # rainbow answers job id 0
    jobs = rainbow.receive(placed.cluster, creds[placed.cluster].secret)
    assert [(j.name, j.cluster) for j in jobs] == [("abcdef01.arch.salad.0", placed.cluster)]
    assert yaml.safe_load(jobs[0].jobspec) == doc
    assert rainbow.receive(placed.cluster, creds[placed.cluster].secret) == jobs  # still queued until accepted
    rainbow.accept(placed.cluster, creds[placed.cluster].secret, [jobs[0].job_id])
    assert rainbow.receive(placed.cluster, creds[placed.cluster].secret) == []
    assert double.calls["Satisfy"] == 1 and double.calls["SubmitJob"] == 1


def test_a_wrong_token_is_denied_naming_the_clusters(double, files):
    rainbow = client(double)
    rainbow.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"])
    with pytest.raises(Denied, match="for cluster rocky9-amd64"):
        rainbow.submit("abcdef01.none.salad.0", {"version": 1}, {"rocky9-amd64": "not-the-token"}, "k")


def test_receiving_with_a_wrong_secret_is_denied(double, files):
    rainbow = client(double)
    rainbow.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"])
    with pytest.raises(Denied, match="denied receiving jobs for cluster rocky9-amd64"):
        rainbow.receive("rocky9-amd64", "not-the-secret")


def test_transient_failures_are_retried_with_capped_backoff(double, files):
    waits = []
    rainbow = client(double, retry=Retry(attempts=5, first_s=0.5, cap_s=1.0), sleep=waits.append)
    double.fail("Register", 3)
    answer = rainbow.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"])
    assert answer.credentials is not None
    assert double.calls["Register"] == 4
    assert waits == [0.5, 1.0, 1.0]


def test_too_many_failures_end_as_unavailable(double, files):
    rainbow = client(double)
    double.fail("Satisfy", 10, grpc.StatusCode.DEADLINE_EXCEEDED)
    with pytest.raises(Unavailable, match="did not answer Satisfy after 4 tries"):
        rainbow.satisfy({"version": 1})


def test_a_stopped_server_is_unavailable_not_a_hang(files):
    server = RainbowDouble().start()
    address = server.address
    server.stop()
    rainbow = RainbowScheduler(Endpoint(address), "s", timeout_s=1, retry=FAST)
    with pytest.raises(Unavailable, match=f"rainbow at {address} did not answer"):
        rainbow.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"])


def test_other_refusals_carry_rainbows_text(double, files):
    rainbow = client(double)
    creds = rainbow.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"]).credentials
    archspec = files["clusters/rocky9-amd64/archspec-subsystem.json"]
    rainbow.register_subsystem("rocky9-amd64", "archspec", archspec, creds.secret)
    with pytest.raises(SchedulerError, match="subsystem archspec already exists for cluster rocky9-amd64"):
        rainbow.register_subsystem("rocky9-amd64", "archspec", archspec, creds.secret)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test certificate")
def test_tls_with_a_pinned_ca_and_the_rainbow_name(tmp_path, files):
    key, cert = tmp_path / "tls.key", tmp_path / "tls.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=rainbow", "-addext", "subjectAltName=DNS:rainbow",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    double = RainbowDouble(secret="s")
    from concurrent import futures

    from rainbow.protos import memory_pb2_grpc, rainbow_pb2_grpc

    double.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    rainbow_pb2_grpc.add_RainbowSchedulerServicer_to_server(double, double.server)
    memory_pb2_grpc.add_MemoryGraphServicer_to_server(double, double.server)
    credentials = grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())])
    port = double.server.add_secure_port("127.0.0.1:0", credentials)
    double.server.start()
    try:
        tls = RainbowScheduler(Endpoint(f"127.0.0.1:{port}", cert), "s", timeout_s=5, retry=FAST)
        assert tls.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"]).credentials
        plain = RainbowScheduler(Endpoint(f"127.0.0.1:{port}"), "s", timeout_s=2, retry=FAST)
        with pytest.raises(Unavailable):
            plain.register("rocky9-arm64", files["clusters/rocky9-arm64/nodes.json"])
        wrong_name = RainbowScheduler(Endpoint(f"127.0.0.1:{port}", cert, "elsewhere"), "s", timeout_s=2, retry=FAST)
        with pytest.raises(Unavailable):
            wrong_name.register("rocky9-arm64", files["clusters/rocky9-arm64/nodes.json"])
    finally:
        double.stop()


def test_a_ca_file_that_is_not_a_certificate_is_one_line(tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("hello")
    with pytest.raises(LabError, match="not a PEM certificate"):
        Endpoint("127.0.0.1:1", bogus).channel()


def test_a_submit_whose_answer_may_be_lost_is_not_sent_twice(double, files):
    rainbow = client(double)
    creds = rainbow.register("rocky9-amd64", files["clusters/rocky9-amd64/nodes.json"]).credentials
    double.fail("SubmitJob", 1, grpc.StatusCode.DEADLINE_EXCEEDED)
    with pytest.raises(Unavailable):
        rainbow.submit("abcdef01.none.salad.0", {"version": 1}, {"rocky9-amd64": creds.token}, "k")
    assert double.calls["SubmitJob"] == 1  # a retry could queue it twice; the run loop resolves it instead
    double.fail("SubmitJob", 1, grpc.StatusCode.UNAVAILABLE)  # not sent at all: safe to try again
    assert rainbow.submit("abcdef01.none.salad.0", {"version": 1}, {"rocky9-amd64": creds.token}, "k").cluster


def test_each_retry_is_told(double, files):
    told = []
    rainbow = RainbowScheduler(Endpoint(double.address), "the-secret", timeout_s=5, retry=FAST, notify=told.append)
    double.fail("Satisfy", 2)
    rainbow.satisfy({"version": 1, "resources": {"x": {"type": "node", "replicas": 1}}})
    assert len(told) == 2 and "UNAVAILABLE on Satisfy; trying again" in told[0]
