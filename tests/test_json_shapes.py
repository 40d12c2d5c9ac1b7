"""The TypedDicts that name what JSON files hold keep the fields of the dataclasses written into them.

``replay.json`` and ``summary.json`` are written from ``dataclasses.asdict`` and typed by
a cast to their TypedDict: mypy cannot see a field added to one and not the other, this can.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

from compatlab.experiment.replay import LevelResult, LevelResultJson
from compatlab.experiment.simulate import LevelSummary, LevelSummaryJson
from compatlab.experiment.stats import Sampled, SampledJson


@pytest.mark.parametrize(("record", "shape"), [(LevelResult, LevelResultJson), (Sampled, SampledJson),
                                               (LevelSummary, LevelSummaryJson)])
def test_a_json_shape_names_exactly_the_fields_written_into_it(record, shape):
    fields = [f.name for f in dataclasses.fields(record)]
    assert list(typing.get_type_hints(shape)) == fields
