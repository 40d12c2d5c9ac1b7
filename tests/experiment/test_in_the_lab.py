"""In the lab: the receiver delivered into each MiniCluster, verify, register into Secrets, collect, report."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compatlab.cli import main
from compatlab.errors import LabError
from compatlab.experiment.collect import collect
from compatlab.experiment.records import read_records
from compatlab.experiment.session import Target, connect, do_register
from compatlab.experiment.verify import (
    MAX_PROBE_BYTES,
    Difference,
    Verdict,
    claims,
    disagreeing,
    save_verdicts,
    verify,
)
from compatlab.kube.access import KubeAccess
from compatlab.kube.minicluster import install_clients, minicluster
from compatlab.kube.receiver import configmap, package_zip
from compatlab.lab.catalogue import commands, pins
from tests.cli import one_line
from tests.fake_flux import install as install_flux
from tests.fake_kube import FakeCore, FakePod, fake_stream, make_pod
from tests.rainbow_double import RainbowDouble

REPO = Path(__file__).resolve().parents[2]


def cluster(lab, name):
    return next(mc for mc in lab.miniclusters if mc.name == name)


def pod_like(tmp_path, mc, **overrides):
    """A lead broker pod that shows exactly what ``mc`` is registered as, unless told otherwise."""
    os_id, _, version = f"{mc.base.os_vendor}-{mc.base.os_release}".partition("-")
    facts = dict(arch={"amd64": "x86_64", "arm64": "aarch64"}[mc.arch], os_id=os_id,
                 version=f"{version}.3" if os_id == "rocky" else version, go=f"go{mc.go_version}",
                 cores=mc.cores_per_node, memory=mc.memory_gb * 10**9, disk=f"{mc.disk_gb}G",
                 commands=tuple({"ior": "ior", "hwloc": "lstopo", "lammps": "lmp", "singularity": "singularity",
                                 "ramble": "ramble"}[p] for p in mc.software if p != "go"))
    return make_pod(tmp_path, mc.name, **{**facts, **overrides})


def kube_for(pods):
    core = FakeCore(pods)
    return KubeAccess(core, fake_stream(core)), core


def test_a_pod_true_to_its_metadata_agrees(tmp_path, dev_lab):
    mc = cluster(dev_lab, "rocky9-amd64")
    kube, core = kube_for([pod_like(tmp_path, mc)])
    verdict = verify(kube, mc)
    assert verdict.agrees, verdict.differences
    assert verdict.observed["arch"] == "amd64" and verdict.observed["memory_gb"] == "2"
    assert "exec miniclusters/rocky9-amd64-0-abcde sh" in core.calls


@pytest.mark.parametrize(("overrides", "field", "observed"), [
    ({"arch": "aarch64"}, "arch", "arm64"),
    ({"memory": 1_000_000_000}, "memory_gb", "1"),
    ({"cores": 2}, "cores_per_node", "2"),
    ({"go": "go1.15.15"}, "software.go", "1.15.15"),
    ({"commands": ("ior", "lstopo")}, "software.lammps", "lmp not found"),
    ({"disk": "1G"}, "disk_gb", "1"),
    ({"os_id": "ubuntu", "version": "22.04"}, "os", "ubuntu-22.04"),
])
def test_a_pod_that_contradicts_its_metadata_is_named(tmp_path, dev_lab, overrides, field, observed):
    mc = cluster(dev_lab, "rocky9-amd64")
    kube, _ = kube_for([pod_like(tmp_path, mc, **overrides)])
    differences = {d.field: d for d in verify(kube, mc).differences}
    assert field in differences and differences[field].observed == observed
    assert differences[field].claimed == claims(mc)[field]


def test_verify_exits_1_and_register_then_refuses_unless_trusted(tmp_path, dev_lab, capsys, monkeypatch):
    pods = [pod_like(tmp_path, mc, **({"memory": 2 * 10**9} if mc.name == "lowmem-rocky9-amd64" else {}))
            for mc in dev_lab.miniclusters]
    kube, core = kube_for(pods)
    monkeypatch.setattr(KubeAccess, "connect", classmethod(lambda cls, path: kube))
    state = tmp_path / "state"
    assert main(["verify", "--stack", "dev", "--state", str(state)]) == 1
    printed = capsys.readouterr().out
    assert "lowmem-rocky9-amd64" in printed and "memory_gb" in printed
    probe = json.loads((state / "probe.json").read_text())
    assert probe["lowmem-rocky9-amd64"]["agrees"] is False and probe["rocky9-amd64"]["agrees"] is True
    scheduler = connect(Target(), state, None)
    with pytest.raises(LabError, match=r"lowmem-rocky9-amd64: its pods contradict its metadata \(memory_gb 1 vs 2"):
        do_register(scheduler, dev_lab, state, lambda _: None, kube)
    assert not any(c.startswith("patch") for c in core.calls)
    _, done = do_register(scheduler, dev_lab, state, lambda _: None, kube, trust_metadata=True)
    assert len(done.registered) == 3


ENTRY = {"pod": "p-0-x", "observed": {"arch": "amd64"}, "agrees": False,
         "differences": [{"field": "arch", "claimed": "arm64", "observed": "amd64"}]}


@pytest.mark.parametrize("doc", [
    "{", "[]", "",
    {"a": {"agrees": False}},
    {"a": {**ENTRY, "agrees": "no"}},
    {"a": {**ENTRY, "differences": [{"field": "arch"}]}},
    {"a": {**ENTRY, "differences": [{"field": ["x"], "claimed": {"a": 1}, "observed": None}]}},
    {"a": {**ENTRY, "differences": []}},  # disagrees, yet no difference
    {"a": {**ENTRY, "agrees": True}},  # agrees, yet a difference
    {"a": {**ENTRY, "pod": 7}},
    {"a": {**ENTRY, "observed": {"arch": 1}}},
    {"a": {**ENTRY, "differences": [{**ENTRY["differences"][0], "extra": "x"}]}},
])
def test_a_probe_file_verify_did_not_write_is_refused_in_words_before_anything_is_written(tmp_path, capsys, doc):
    state = tmp_path / "state"
    state.mkdir()
    text = doc if isinstance(doc, str) else json.dumps(doc)
    (state / "probe.json").write_text(text)
    err = one_line(capsys, ["register", "--stack", "dev", "--embedded", "--state", str(state)])
    assert err.startswith(f"compatlab: error: {state / 'probe.json'}") and "allowed: " in err
    assert [p.name for p in state.iterdir()] == ["probe.json"]  # register did not start
    with pytest.raises(LabError, match=r"probe\.json"):
        save_verdicts(state, [])
    assert (state / "probe.json").read_text() == text  # not replaced


@pytest.mark.parametrize("kind", ["dangling link", "fifo", "directory", "too big"])
def test_a_probe_file_that_is_not_a_regular_file_of_a_few_mb_is_refused_naming_what_was_allowed(tmp_path, capsys,
                                                                                              kind):
    state = tmp_path / "state"
    state.mkdir()
    path = state / "probe.json"
    if kind == "dangling link":
        path.symlink_to(tmp_path / "nowhere")
    elif kind == "fifo":
        os.mkfifo(path)  # must not hang
    elif kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(b" " * (MAX_PROBE_BYTES + 1))
    err = one_line(capsys, ["register", "--stack", "dev", "--embedded", "--state", str(state)])
    assert f"{path}: " in err and "the probe.json compatlab verify writes (remove it and verify again)" in err, err


def test_a_disagreeing_probe_with_a_huge_value_still_ends_with_the_way_out(tmp_path, capsys, dev_lab):
    state = tmp_path / "state"
    state.mkdir()
    name = dev_lab.miniclusters[0].name
    entry = {**ENTRY, "differences": [{"field": "arch", "claimed": "arm64", "observed": "x" * 100_000}]}
    (state / "probe.json").write_text(json.dumps({name: entry}))
    err = one_line(capsys, ["register", "--stack", "dev", "--embedded", "--state", str(state)])
    assert f"(arch arm64 vs {'x' * 37}...); 1 of the stack's clusters disagrees; allowed: " in err
    assert err.endswith("or --trust-metadata\n")


def test_a_second_probe_keeps_the_clusters_probed_before(tmp_path):
    first = Verdict("a", "a-0-x", {"arch": "amd64"}, (Difference("arch", "arm64", "amd64"),))
    path = save_verdicts(tmp_path, [first])
    save_verdicts(tmp_path, [Verdict("b", "b-0-y", {"arch": "arm64"}, ())])
    assert json.loads(path.read_text()) == {
        "a": {"pod": "a-0-x", "observed": {"arch": "amd64"}, "agrees": False,
              "differences": [{"field": "arch", "claimed": "arm64", "observed": "amd64"}]},
        "b": {"pod": "b-0-y", "observed": {"arch": "arm64"}, "agrees": True, "differences": []}}
    assert disagreeing(tmp_path) == {"a": [{"field": "arch", "claimed": "arm64", "observed": "amd64"}]}
    save_verdicts(tmp_path, [Verdict("a", "a-0-z", {"arch": "arm64"}, ())])
    assert disagreeing(tmp_path) == {}


def test_register_writes_each_clusters_credentials_into_its_secret(tmp_path, dev_lab):
    kube, core = kube_for([])
    scheduler = connect(Target(), tmp_path / "state", None)
    state, _ = do_register(scheduler, dev_lab, tmp_path / "state", lambda _: None, kube)
    assert sorted(core.secrets) == sorted(f"miniclusters/compatlab-{mc.name}" for mc in dev_lab.miniclusters)
    for mc in dev_lab.miniclusters:
        data = core.secrets[f"miniclusters/compatlab-{mc.name}"]["data"]
        assert base64.b64decode(data["secret"]).decode() == state.clusters[mc.name].secret
        assert base64.b64decode(data["token"]).decode() == state.clusters[mc.name].token


def record(name, cluster_name):
    return json.dumps({"name": name, "run": name[:8], "level": "none", "workload": "hwloc", "trial": 0,
                       "cluster": cluster_name, "rainbow_job_id": 1, "executor": "flux", "executor_job_id": "ƒ1",
                       "start": "2026-11-29T00:00:00Z", "end": "2026-11-29T00:00:01Z", "exit_code": 0,
                       "outcome": "ok", "evidence": "exit 0", "output_tail": [], "jobspec": "version: 1\n",
                       "state": "INACTIVE/COMPLETED"}, indent=2) + "\n"


def test_collect_copies_each_lead_brokers_records_and_keeps_local_ones(tmp_path, dev_lab):
    pods = [pod_like(tmp_path / "pods", mc) for mc in dev_lab.miniclusters]
    for trial, pod in enumerate(pods):
        name = f"abcdef01.none.hwloc.{trial}"
        (pod.root / f"mnt/flux/compatlab/results/{name}.json").write_text(record(name, pod.minicluster))
    # one pod holds a stray file and a record of another cluster: refused, not copied
    (pods[0].root / "mnt/flux/compatlab/results/notes.json").write_text("{}")
    (pods[0].root / "mnt/flux/compatlab/results/abcdef01.none.salad.0.json").write_text(
        record("abcdef01.none.salad.0", "somewhere-else"))
    pods[2].phase = "Pending"
    kube, _ = kube_for(pods)
    local = tmp_path / "results"
    first = collect(kube, dev_lab, local)
    assert sorted(first.copied) == ["abcdef01.none.hwloc.0.json", "abcdef01.none.hwloc.1.json"]
    assert sorted(b.split(": ")[1] for b in first.bad) == ["names cluster somewhere-else and job abcdef01.none.salad.0",
                                                          "not a compatlab record name"]
    assert list(first.unreachable) == [pods[2].minicluster] and "Pending" in first.unreachable[pods[2].minicluster]
    assert [r.cluster for r in read_records(local)] == [pods[0].minicluster, pods[1].minicluster]
    again = collect(kube, dev_lab, local)
    assert again.copied == [] and len(again.same) == 2


def test_a_local_record_that_differs_is_kept_unless_forced(tmp_path, dev_lab):
    mc = dev_lab.miniclusters[0]
    pod = pod_like(tmp_path / "pods", mc)
    (pod.root / "mnt/flux/compatlab/results/abcdef01.none.hwloc.0.json").write_text(
        record("abcdef01.none.hwloc.0", mc.name))
    kube, _ = kube_for([pod])
    local = tmp_path / "results"
    local.mkdir()
    mine = local / "abcdef01.none.hwloc.0.json"
    mine.write_text("my annotated copy\n")
    lab = type(dev_lab)(**{**dev_lab.__dict__, "miniclusters": (mc,)})
    assert collect(kube, lab, local).conflicts == ["abcdef01.none.hwloc.0.json"]
    assert mine.read_text() == "my annotated copy\n"
    assert collect(kube, lab, local, force=True).copied == ["abcdef01.none.hwloc.0.json"]
    assert json.loads(mine.read_text())["cluster"] == mc.name


def test_every_minicluster_carries_the_receiver_and_its_credentials_not_a_secret_value(full_lab):
    for mc in full_lab.miniclusters:
        container = minicluster(full_lab, mc)["spec"]["containers"][0]
        assert container["volumes"]["compatlab-receiver"]["configMapName"] == "compatlab-receiver"
        assert container["volumes"]["compatlab-credentials"]["secretName"] == f"compatlab-{mc.name}"
        env = container["environment"]
        assert env["CLUSTER_NAME"] == mc.name and env["COMPATLAB_CLUSTER_SECRET_FILE"].startswith("/var/run/")
        assert not any("secret" in v.lower() and "/" not in v for v in env.values())


def test_the_receiver_zip_fits_a_configmap_and_is_the_same_every_time(full_lab):
    data = configmap(full_lab, "miniclusters")["binaryData"]["compatlab.zip"]
    assert len(data) < 1_000_000  # Kubernetes refuses ConfigMaps over 1 MiB
    assert base64.b64decode(data) == package_zip()


def test_the_pods_pins_are_the_locks_pins():
    lock = dict(line.split("==") for line in (REPO / "requirements.lock").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    lock = {name.lower().replace("_", "-"): version for name, version in lock.items()}
    for name, version in pins()["clients"].items():
        assert lock[name.lower()] == version, name


def test_the_delivery_script_gives_a_working_compatlab_command(tmp_path, full_lab):
    """Run the lead broker's pre-Flux script here: the venv and pip steps left out, paths moved into tmp."""
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "compatlab.zip").write_bytes(base64.b64decode(configmap(full_lab, "miniclusters")["binaryData"]
                                                          ["compatlab.zip"]))
    script = re.sub(r"\S+ -m venv \S+ && \S+ -m pip install [^&]*&& ", "", install_clients())
    assert "pip" not in script
    for old, new in (("/mnt/flux/compatlab/venv/bin/python", sys.executable),
                     ("/mnt/flux/view/bin/python3.11", sys.executable), ("/opt/compatlab-dist", str(dist)),
                     ("/mnt/flux/compatlab", str(tmp_path / "work")), ("/usr/local/bin", str(tmp_path / "bin"))):
        script = script.replace(old, new)
    (tmp_path / "bin").mkdir()
    done = subprocess.run(["sh", "-e", "-c", script], capture_output=True, text=True, cwd=tmp_path)
    log = (tmp_path / "work/install.log").read_text()
    assert done.returncode == 0 and "failed" not in done.stderr, done.stderr + log
    # The unpacked copy runs, not the checkout: no PYTHONPATH to the repository, another working directory.
    env = {"PATH": f"{tmp_path / 'bin'}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([str(tmp_path / "bin/compatlab"), "receive", "--help"], capture_output=True, text=True,
                          env=env, cwd="/")
    assert done.returncode == 0, done.stderr
    assert "--executor" in done.stdout
    stack = str(REPO / "stacks/Pulumi.dev.yaml")
    origin = subprocess.run([str(tmp_path / "bin/compatlab"), "generate", "--stack", stack, "--out",
                             str(tmp_path / "gen")], capture_output=True, text=True, env=env, cwd="/")
    assert origin.returncode == 0, origin.stderr


def test_the_seeds_way_receive_in_the_lead_broker_with_flux(tmp_path, dev_lab, capsys, monkeypatch):
    """Shell into the lead broker, flux proxy, `compatlab receive --executor flux --once`: env says the rest."""
    double = RainbowDouble(secret="s").start()
    monkeypatch.setenv("COMPATLAB_RAINBOW_SECRET", "s")
    state = tmp_path / "laptop"
    try:
        assert main(["register", "--stack", "dev", "--rainbow", double.address, "--state", str(state)]) == 0
        assert main(["submit", "--rainbow", double.address, "--state", str(state), "--level", "arch",
                     "--repeats", "1"]) == 0
        capsys.readouterr()
        saved = json.loads((state / "state.json").read_text())["clusters"]
        for mc in dev_lab.miniclusters:  # each MiniCluster's pod: its own env, its own mounted secret
            pod = tmp_path / mc.name
            (pod / "credentials").mkdir(parents=True)
            (pod / "credentials/secret").write_text(saved[mc.name]["secret"])
            install_flux(pod / "bin")
            for key, value in {"CLUSTER_NAME": mc.name, "RAINBOW_HOST": double.address,
                               "COMPATLAB_STATE": str(pod / "state"), "COMPATLAB_RESULTS": str(pod / "results"),
                               "COMPATLAB_CLUSTER_SECRET_FILE": str(pod / "credentials/secret"),
                               "FAKE_FLUX_DIR": str(pod / "flux"), "FAKE_FLUX_SIZE": str(mc.size),
                               "PATH": f"{pod / 'bin'}{os.pathsep}{os.environ['PATH']}"}.items():
                monkeypatch.setenv(key, value)
            assert main(["receive", "--executor", "flux", "--once", "--json"]) == 0
            got = json.loads(capsys.readouterr().out)
            assert got["cluster"] == mc.name
    finally:
        double.stop()
    assert double.queued() == []
    records = [r for mc in dev_lab.miniclusters for r in read_records(tmp_path / mc.name / "results")]
    assert len(records) == 4 and all(r.executor == "flux" and r.executor_job_id for r in records)
    # What this machine has decides: a workload whose command is not installed is missing software, with
    # Flux's own message or its script's; the GPU probe finds no GPU; the rest (lstopo, when hwloc is here) runs.
    workloads = {w.name: w for w in dev_lab.workloads}
    for record in records:
        needs = workloads[record.workload].needs
        missing = [p for p in needs.software if shutil.which(commands()[p]) is None]
        expected = "missing-software" if missing else "no-gpu" if needs.gpus else "ok"
        assert record.outcome == expected, (record.workload, record.evidence)
        if missing:
            assert "No such file or directory" in record.evidence or "command not found" in record.evidence


def test_a_pod_whose_secret_is_still_empty_says_to_register_first(tmp_path, capsys, monkeypatch):
    (tmp_path / "credentials").mkdir()  # the mounted Secret, with no keys yet
    monkeypatch.setenv("COMPATLAB_CLUSTER_SECRET_FILE", str(tmp_path / "credentials" / "secret"))
    code = main(["receive", "--embedded", "--cluster", "c1", "--state", str(tmp_path / "s"),
                 "--results", str(tmp_path / "r"), "--executor", "local"])
    assert code == 2 and "this cluster is not registered yet" in capsys.readouterr().err


def test_a_job_that_ran_on_two_clusters_is_named_not_overwritten(tmp_path, dev_lab):
    a, b = dev_lab.miniclusters[0], dev_lab.miniclusters[1]
    pods = [pod_like(tmp_path / "pods", a), pod_like(tmp_path / "pods", b)]
    for pod in pods:
        (pod.root / "mnt/flux/compatlab/results/abcdef01.none.hwloc.0.json").write_text(
            record("abcdef01.none.hwloc.0", pod.minicluster))
    kube, _ = kube_for(pods)
    lab = type(dev_lab)(**{**dev_lab.__dict__, "miniclusters": (a, b)})
    done = collect(kube, lab, tmp_path / "results")
    assert done.copied == ["abcdef01.none.hwloc.0.json"]
    assert done.duplicates == [f"abcdef01.none.hwloc.0.json ran on {a.name} and on {b.name}"]
    assert json.loads((tmp_path / "results/abcdef01.none.hwloc.0.json").read_text())["cluster"] == a.name


def test_a_privileged_pod_is_probed_in_its_own_cgroup_not_the_nodes(tmp_path, dev_lab):
    # containerd gives a privileged container no cgroup namespace: its limits are below the path it names.
    mc = cluster(dev_lab, "rocky9-amd64")
    kube, _ = kube_for([pod_like(tmp_path, mc, cgroup_path="/kubepods.slice/pod1234/cri-abc")])
    verdict = verify(kube, mc)
    assert verdict.agrees, verdict.differences
    assert verdict.observed["cores_per_node"] == "1" and verdict.observed["memory_gb"] == "2"


def test_flux_seeing_more_cores_than_the_quota_is_reported(tmp_path, dev_lab):
    # Flux builds its resources from the node's hardware, not the cgroup's CPU quota.
    mc = cluster(dev_lab, "rocky9-amd64")
    kube, _ = kube_for([pod_like(tmp_path, mc, flux_cores=4)])
    differences = {d.field: d for d in verify(kube, mc).differences}
    assert differences["flux_cores_per_node"].observed == "4"


def test_a_missing_receiver_install_is_reported(tmp_path, dev_lab):
    mc = cluster(dev_lab, "rocky9-amd64")
    pod = pod_like(tmp_path, mc)
    (pod.root / "bin/compatlab").unlink()
    differences = {d.field for d in verify(kube_for([pod])[0], mc).differences}
    assert "receiver" in differences


def test_one_unreachable_cluster_does_not_stop_verify(tmp_path, dev_lab):
    pods = [pod_like(tmp_path, mc, phase="Pending" if i == 0 else "Running")
            for i, mc in enumerate(dev_lab.miniclusters)]
    kube, _ = kube_for(pods)
    verdicts = [verify(kube, mc) for mc in dev_lab.miniclusters]
    assert [d.field for d in verdicts[0].differences] == ["reachable"] and verdicts[1].agrees


def test_the_newest_running_lead_broker_is_used_when_a_failed_one_lingers(tmp_path, dev_lab):
    mc = dev_lab.miniclusters[0]
    old = pod_like(tmp_path / "old", mc, phase="Failed")
    new = pod_like(tmp_path / "new", mc)
    new.name = f"{mc.name}-0-zzzzz"
    kube, _ = kube_for([old, new])
    assert kube.lead_pod(mc.name).name == new.name


def test_an_exec_that_does_not_finish_is_one_line_not_a_hang(tmp_path, dev_lab):
    class Stuck:
        def run_forever(self, timeout=None):
            return None

        def is_open(self):
            return True

        def close(self):
            pass

    core = FakeCore([])
    kube = KubeAccess(core, lambda *a, **k: Stuck())
    with pytest.raises(LabError, match="did not finish within 1 s"):
        kube.exec("p", "c", ["sh"], timeout_s=1)


def test_a_job_the_receiver_could_not_finish_is_told_by_kubernetes_it_was_oom_killed(tmp_path, dev_lab):
    import datetime

    mc = dev_lab.miniclusters[0]
    pod = pod_like(tmp_path / "pods", mc)
    doc = json.loads(record("abcdef01.memory.lammps.0", mc.name))
    doc.update(outcome="failed-other", state="interrupted", exit_code=None, start="2026-11-29T10:00:00Z",
               end="2026-11-29T10:05:00Z", name="abcdef01.memory.lammps.0")
    (pod.root / "mnt/flux/compatlab/results/abcdef01.memory.lammps.0.json").write_text(json.dumps(doc))
    pod.terminated = ("OOMKilled", datetime.datetime(2026, 11, 29, 10, 2, 30, tzinfo=datetime.UTC))
    kube, _ = kube_for([pod])
    lab = type(dev_lab)(**{**dev_lab.__dict__, "miniclusters": (mc,)})
    done = collect(kube, lab, tmp_path / "results")
    kept = json.loads((tmp_path / "results/abcdef01.memory.lammps.0.json").read_text())
    assert done.copied and kept["outcome"] == "oom-killed"
    assert kept["evidence"] == "Kubernetes: the container was OOMKilled at 2026-11-29T10:02:30Z"


def test_a_job_that_lost_its_evicted_pod_is_told_by_kubernetes_its_disk_was_full(tmp_path, dev_lab):
    import datetime

    mc = dev_lab.miniclusters[0]
    lead = pod_like(tmp_path / "pods", mc)
    doc = json.loads(record("abcdef01.disk.ior.0", mc.name))
    # The job ran on rank 1 (--requires=-rank:0); the receiver on rank 0 saw it fail when that broker went.
    doc.update(outcome="failed-other", exit_code=1, start="2026-11-29T10:00:00Z", end="2026-11-29T10:01:00Z",
               evidence="exit 1: lost contact with job shell", name="abcdef01.disk.ior.0", workload="ior")
    (lead.root / "mnt/flux/compatlab/results/abcdef01.disk.ior.0.json").write_text(json.dumps(doc))
    said = "Pod ephemeral local storage usage exceeds the total limit of containers 1G. "
    worker = FakePod(f"{mc.name}-1-fghij", mc.name, 1, tmp_path / "worker",
                     evicted=(said, datetime.datetime(2026, 11, 29, 10, 1, 4, tzinfo=datetime.UTC)))
    earlier = FakePod(f"{mc.name}-2-klmno", mc.name, 2, tmp_path / "w2",
                      evicted=(said, datetime.datetime(2026, 11, 29, 9, 0, tzinfo=datetime.UTC)))
    kube, _ = kube_for([lead, worker, earlier])
    assert kube.pods(mc.name)[1].evicted == (said.strip(), "2026-11-29T10:01:04+00:00")
    lab = type(dev_lab)(**{**dev_lab.__dict__, "miniclusters": (mc,)})
    collect(kube, lab, tmp_path / "results")
    kept = json.loads((tmp_path / "results/abcdef01.disk.ior.0.json").read_text())
    assert kept["outcome"] == "disk-full"
    assert kept["evidence"] == f"Kubernetes: the pod was evicted: {said.strip()} at 2026-11-29T10:01:04Z"


def test_an_eviction_outside_a_jobs_time_or_an_ok_record_changes_nothing(tmp_path, dev_lab):
    from compatlab.experiment.collect import with_kubernetes_evidence

    said = "Pod ephemeral local storage usage exceeds the total limit of containers 1G."
    failed = json.loads(record("abcdef01.disk.ior.0", "c"))
    failed.update(outcome="failed-other", start="2026-11-29T10:00:00Z", end="2026-11-29T10:01:00Z")
    data = json.dumps(failed).encode()
    assert with_kubernetes_evidence(data, [(said, "2026-11-29T10:02:00+00:00")]) == data  # after end + slack
    assert with_kubernetes_evidence(data, [(said, "2026-11-29T09:59:59+00:00")]) == data  # before the start
    low = "The node was low on resource: memory."  # a node-pressure eviction names no mode of the job's own
    assert with_kubernetes_evidence(data, [(low, "2026-11-29T10:00:30+00:00")]) == data
    ok = record("abcdef01.disk.ior.0", "c").encode()
    assert with_kubernetes_evidence(ok, [(said, "2026-11-29T00:00:00+00:00")]) == ok
    # A record whose receiver never came back (no end) takes events of the next hour only, said in UTC.
    open_ended = dict(failed, end=None)
    data = json.dumps(open_ended).encode()
    assert with_kubernetes_evidence(data, [(said, "2026-11-30T10:00:00+00:00")]) == data
    told = json.loads(with_kubernetes_evidence(data, [(said, "2026-11-29T12:30:00+02:00")]))
    assert told["outcome"] == "disk-full" and told["evidence"].endswith(" at 2026-11-29T10:30:00Z")


def test_a_pod_without_results_is_named_not_silently_empty(tmp_path, dev_lab):
    mc = dev_lab.miniclusters[0]
    pod = pod_like(tmp_path / "pods", mc)
    (pod.root / "mnt/flux/compatlab/results").rmdir()
    lab = type(dev_lab)(**{**dev_lab.__dict__, "miniclusters": (mc,)})
    done = collect(kube_for([pod])[0], lab, tmp_path / "results")
    assert "no receiver has run there yet" in done.unreachable[mc.name]
