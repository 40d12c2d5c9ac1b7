"""The outcome model, each workload's documented evidence and the classifier agree on every pair."""

from __future__ import annotations

import pytest

from compatlab.errors import LabError
from compatlab.experiment.evidence import expectations, workloads_markdown
from compatlab.experiment.observe import classify
from compatlab.experiment.outcomes import FAILURES
from compatlab.inputs import load_json
from compatlab.lab.paths import JOBSPECS, SCHEMAS
from compatlab.lab.workloads import load_workload


def test_every_pair_of_the_full_stack_agrees(full_lab):
    seen = expectations(full_lab)
    assert len(seen) == len(full_lab.workloads) * len(full_lab.miniclusters)
    gaps = [(e.workload, e.cluster, e.mode, e.evidence, e.classified) for e in seen if not e.agrees]
    assert gaps == []
    # The experiment is worth running: every failure mode but none shows up somewhere.
    assert {e.mode for e in seen} == {"ok", *FAILURES}


def test_every_documented_failure_reads_as_its_mode(full_lab):
    for workload in full_lab.workloads:
        for mode, said in workload.evidence.items():
            assert classify(said.exit_code, said.message).outcome == mode, (workload.name, mode, said)


def test_the_schema_knows_exactly_the_models_failure_modes():
    schema = load_json(SCHEMAS / "workload.schema.json")
    assert tuple(schema["properties"]["evidence"]["propertyNames"]["enum"]) == FAILURES


def test_workloads_md_shows_every_pair_with_its_evidence(full_lab):
    text = workloads_markdown(full_lab)
    assert "not documented" not in text
    sections = {part.split("\n", 1)[0]: part for part in text.split("\n## ")[1:]}
    assert list(sections) == [w.name for w in full_lab.workloads]
    for e in expectations(full_lab):
        [row] = [line for line in sections[e.workload].splitlines() if line.startswith(f"| {e.cluster} | ")]
        assert row.split(" | ")[1].split(" ")[0] == e.mode
        assert e.evidence.message in row if e.mode != "ok" else row.endswith("| 0 | - |")
    assert "flux submit --job-name task-0 -N 4 -n 4 /bin/bash ..." in text


def test_evidence_for_a_mode_the_model_does_not_have_is_refused(tmp_path):
    source = (JOBSPECS / "hwloc.yaml").read_text()
    path = tmp_path / "hwloc.yaml"
    path.write_text(source.replace("missing-software:", "segfault:"))
    with pytest.raises(LabError) as err:
        load_workload(path)
    assert "evidence" in str(err.value) and "segfault" in str(err.value)


def test_a_command_with_a_double_quote_is_refused_where_it_is_written(tmp_path):
    path = tmp_path / "hwloc.yaml"
    path.write_text((JOBSPECS / "hwloc.yaml").read_text().replace("/tmp/topology.xml", "'say \"hi\"'"))
    with pytest.raises(LabError) as err:
        load_workload(path)
    assert str(err.value).startswith(f"{path}: command:") and "double" in str(err.value)


def test_evidence_the_classifier_reads_as_another_mode_is_refused(full_lab, tmp_path):
    from dataclasses import replace

    from compatlab.experiment.evidence import check_evidence
    from compatlab.lab.model import Evidence

    gpuburn = next(w for w in full_lab.workloads if w.name == "gpuburn")
    for said in (Evidence(1, "it was fine"), Evidence(0, "gpuburn: no GPU found")):
        wrong = replace(gpuburn, evidence={"no-gpu": said})
        lab = replace(full_lab, workloads=(wrong,))
        with pytest.raises(LabError) as err:
            check_evidence(lab)
        assert str(err.value).startswith(f"{gpuburn.source}: evidence.no-gpu:") and "not 'no-gpu'" in str(err.value)
        with pytest.raises(LabError):
            workloads_markdown(lab)


@pytest.mark.parametrize("text", ["\x00", "\x07", "\r", "\x1b[31m"])
def test_a_control_character_in_a_command_is_refused_where_it_is_written(tmp_path, text):
    path = tmp_path / "hwloc.yaml"
    path.write_text((JOBSPECS / "hwloc.yaml").read_text().replace("/tmp/topology.xml", repr(f"/tmp/t{text}.xml")
                                                                  .replace("'", '"')))
    with pytest.raises(LabError) as err:
        load_workload(path)
    assert str(err.value).startswith(f"{path}: command:") and "printable ASCII" in str(err.value)


def test_a_workload_may_not_be_named_after_the_tasks_resource(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text((JOBSPECS / "hwloc.yaml").read_text().replace("workload: hwloc", "workload: run"))
    with pytest.raises(LabError) as err:
        load_workload(path)
    assert str(err.value).startswith(f"{path}: workload: 'run' is taken") and "allowed:" in str(err.value)
