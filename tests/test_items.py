"""Items of the collections: every date an item holds is checked against the evaluation date."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from eligimatch.errors import PatientError
from eligimatch.facts import build_facts
from eligimatch.patient import Patient
from eligimatch.vocabulary import COLLECTIONS

PATIENTS = sorted((Path(__file__).parent.parent / "patients").glob("*.json"))
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def dated_places(raw):
    for name in COLLECTIONS:
        for i, item in enumerate(raw.get(name) or ()):
            for key, value in item.items():
                if isinstance(value, str) and DAY.match(value):
                    yield name, i, key


@pytest.mark.parametrize("path", PATIENTS, ids=lambda p: p.stem)
def test_a_date_of_any_item_after_the_evaluation_date_is_an_error_at_its_place(path):
    raw = json.loads(path.read_text("utf-8"))
    for name, i, key in dated_places(raw):
        changed = copy.deepcopy(raw)
        changed[name][i][key] = "2099-01-01"
        try:
            patient = Patient.model_validate(changed)
        except ValidationError:  # e.g. a start after its end
            continue
        with pytest.raises(PatientError) as exc:
            build_facts(patient)
        assert f"{name}[{i}].{key}: date 2099-01-01 is after the evaluation date" in str(exc.value)


def test_every_collection_with_dates_has_its_dates_checked():
    from eligimatch.items import _dated

    for name, (model, _) in COLLECTIONS.items():
        dated = {n for n, info in model.model_fields.items() if "date" in str(info.annotation)}
        assert set(_dated(model)) == dated, name
