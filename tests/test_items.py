"""Items of the collections: every date an item holds is checked against the evaluation date."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from pydantic import BaseModel, Field, ValidationError, field_serializer

import strategies as S
from eligimatch import itemparts, items
from eligimatch.errors import PatientError
from eligimatch.facts import build_facts
from eligimatch.items import Item
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


@settings(deadline=None)
@given(p=S.patients())
def test_an_items_fields_are_its_model_dump_and_its_label_is_made_from_its_model(p):
    """The fields are model_dump's (each value of its type, lists copied, nested models dumped);
    the label made when first read is the one made from the model at once."""
    facts = build_facts(p, p.as_of, "p")
    for name in COLLECTIONS:
        for obj, item in zip(getattr(p, name) or (), facts.collections[name] or (), strict=True):
            want = obj.model_dump()
            got = itemparts.dump(obj)
            assert got == want and list(got) == list(want)
            assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in want.items()}
            assert all(got[k] is not getattr(obj, k) for k, v in got.items() if isinstance(v, list | dict))
            assert vars(item)["_label"] is None or name == "conditions"
            label = vars(item)["_label"] or itemparts.label(name, obj)
            assert item == Item(item.fields, item.start, item.end, item.ongoing, label)
            assert item.label == label and vars(item)["_label"] == label  # made once, then kept


def test_a_model_the_plan_cannot_read_is_dumped_by_pydantic():
    class Odd(BaseModel):
        values: dict[str, int] | None = None
        when: dt.date | None = None

    obj = Odd(values={"a": 1}, when=dt.date(2026, 1, 1))
    assert itemparts.dump(obj) == obj.model_dump() and itemparts.dump(obj)["values"] is not obj.values

    class Shown(BaseModel):
        when: dt.date | None = None
        secret: str | None = Field(default=None, exclude=True)

        @field_serializer("when")
        def _iso(self, v: dt.date | None) -> str | None:
            return None if v is None else v.isoformat()

    class Hidden(BaseModel):
        name: str | None = None
        secret: str | None = Field(default=None, exclude=True)

    for obj in (Shown(when=dt.date(2026, 1, 1), secret="x"), Hidden(name="n", secret="x")):
        assert itemparts.dump(obj) == obj.model_dump() and "secret" not in itemparts.dump(obj)
    partial = Odd.model_construct(_fields_set={"when"}, when=dt.date(2026, 1, 1))
    del partial.__dict__["values"]  # a model not every field of which is set
    assert itemparts.dump(partial) == partial.model_dump()


@settings(deadline=None)
@given(p=S.patients())
def test_a_remembered_treatment_reading_is_the_reading_and_its_lists_are_the_items_own(p):
    items._TREATMENTS.clear()
    items._CONDITIONS.clear()
    fresh = build_facts(p, p.as_of, "p")
    again = build_facts(p, p.as_of, "p")  # every treatment and condition remembered
    assert again.collections == fresh.collections
    for one, two in zip(
        fresh.collections["conditions"] or (), again.collections["conditions"] or (), strict=True
    ):
        assert type(one.fields["category"]) is type(two.fields["category"]) and one.label == two.label
        if type(one.fields["category"]) is list:
            assert one.fields["category"] is not two.fields["category"]
    for one, two in zip(
        fresh.collections["treatments"] or (), again.collections["treatments"] or (), strict=True
    ):
        for name in ("classes", "agents"):
            assert type(one.fields[name]) is type(two.fields[name])
            if type(one.fields[name]) is list:
                assert one.fields[name] is not two.fields[name]


def test_a_condition_whose_category_contradicts_its_type_is_refused_every_time():
    bad = {
        "id": "c",
        "as_of": "2026-03-01",
        "conditions": [{"type": "hypertension", "category": "autoimmune"}],
    }
    for _ in range(2):
        with pytest.raises(PatientError, match=r"conditions\[0\].category: 'autoimmune' contradicts"):
            build_facts(Patient.model_validate(bad))
