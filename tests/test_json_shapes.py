"""The TypedDicts that name what JSON files hold keep the fields of the dataclasses written into them.

``replay.json``, ``summary.json``, ``records.json`` and ``probe.json`` are written from
``dataclasses.asdict`` and typed by a cast to their TypedDict: mypy cannot see a field added to
one and not the other, this can. The files as written are checked key by key against theirs.
"""

from __future__ import annotations

import dataclasses
import json
import typing

import pytest

from compatlab.cli import main
from compatlab.experiment.replay import LevelResult, LevelResultJson
from compatlab.experiment.results import ReportJson
from compatlab.experiment.simulate import JobRecord, JobRecordJson, LevelSummary, LevelSummaryJson, SummaryJson
from compatlab.experiment.stats import Sampled, SampledJson
from compatlab.experiment.verify import Difference, DifferenceJson, ProbeEntry, Verdict, save_verdicts


@pytest.mark.parametrize(("record", "shape"), [(LevelResult, LevelResultJson), (Sampled, SampledJson),
                                               (LevelSummary, LevelSummaryJson), (JobRecord, JobRecordJson),
                                               (Difference, DifferenceJson)])
def test_a_json_shape_names_exactly_the_fields_written_into_it(record, shape):
    fields = [f.name for f in dataclasses.fields(record)]
    assert list(typing.get_type_hints(shape)) == fields


def _keys_follow(doc, shape, where: str) -> None:
    """Every JSON object in ``doc`` has exactly the keys its TypedDict names, recursively through lists and dicts."""
    hints = typing.get_type_hints(shape)
    assert isinstance(doc, dict) and set(doc) == set(hints), (where, set(doc) ^ set(hints))
    for key, hint in hints.items():
        inner = [a for a in typing.get_args(hint) if typing.is_typeddict(a)]  # list[X] -> X
        if typing.is_typeddict(hint):
            _keys_follow(doc[key], hint, f"{where}.{key}")
        elif inner and typing.get_origin(hint) is list:
            for n, item in enumerate(doc[key]):
                _keys_follow(item, inner[0], f"{where}.{key}[{n}]")
        elif inner and typing.get_origin(hint) is dict:
            for name, item in doc[key].items():
                _keys_follow(item, inner[-1], f"{where}.{key}.{name}")


def test_the_files_simulate_and_run_write_have_the_keys_their_typeddicts_name(tmp_path, capsys):
    sim = tmp_path / "sim"
    assert main(["simulate", "--stack", "dev", "--repeats", "2", "--out", str(sim)]) == 0
    _keys_follow(json.loads((sim / "summary.json").read_text()), SummaryJson, "summary.json")
    records = json.loads((sim / "records.json").read_text())
    assert records
    for n, record in enumerate(records):
        _keys_follow(record, JobRecordJson, f"records.json[{n}]")
    run = tmp_path / "run"
    assert main(["run", "--stack", "dev", "--embedded", "--repeats", "1", "--out", str(run)]) == 0
    report = json.loads((run / "report" / "report.json").read_text())
    _keys_follow(report, ReportJson, "report.json")
    assert report["levels"] and report["confusion"]


def test_the_probe_file_has_the_keys_its_typeddict_names(tmp_path):
    verdicts = [Verdict("a", "a-0-x", {"arch": "amd64"}, (Difference("arch", "arm64", "amd64"),)),
                Verdict("b", "b-0-y", {}, ())]
    doc = json.loads(save_verdicts(tmp_path, verdicts).read_text())
    _keys_follow(doc, typing.TypedDict("Probe", {"a": ProbeEntry, "b": ProbeEntry}), "probe.json")
    assert doc["a"]["differences"] and not doc["b"]["differences"]
