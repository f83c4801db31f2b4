"""The field tests of ``where`` (engine/nodes/field_tests.py): a quantity field with a unit, a date
field against the item's own period or the evaluation date, and an OncoTree code by ancestry; their
values, what they leave unknown, and their load errors with exact messages.  The node kind's
documented examples (engine/nodes/exists.py) run in tests/test_node_examples.py."""

from __future__ import annotations

import typing
from datetime import date

import pytest
from pydantic import ValidationError

from eligimatch.patient import Patient, Quantity
from eligimatch.units import parse_unit
from eligimatch.vocabulary import COLLECTIONS, ITEM_QUANTITY_UNITS, ONCOTREE_ITEM_FIELDS
from node_runner import evaluate, load_error

# ---------------------------------------------------------------- quantity fields of items

DIAMETER = '{ exists = "lesions", where = { shortest_diameter = { op = ">", value = 30, unit = "mm" } } }'


def lesion(**fields: typing.Any) -> dict[str, typing.Any]:
    return {
        "lesions": [
            {"site": "sacrum", "kind": "bone_metastasis_soft_tissue_mass", "date": "2026-11-05", **fields}
        ]
    }


@pytest.mark.parametrize(
    ("diameter", "expected", "shown"),
    [
        ({"value": 3.4, "unit": "cm"}, True, "[shortest_diameter 3.4 cm = 34 mm]"),
        ({"value": 31, "unit": "mm"}, True, "[shortest_diameter 31 mm]"),
        ({"value": 1.2, "unit": "in"}, True, "= 30.48 mm"),
        ({"value": 30, "unit": "mm"}, False, "no lesion with shortest diameter > 30 mm (1 recorded)"),
        ({"value": 2.9, "unit": "cm"}, False, "(1 recorded)"),
        ({"value": 25, "unit": "mm", "comparator": "<"}, False, "(1 recorded)"),
    ],
)
def test_quantity_field_is_converted_exactly_into_the_threshold_unit(diameter, expected, shown):
    out = evaluate(DIAMETER, lesion(shortest_diameter=diameter))
    assert out.value is expected
    assert shown in out.text


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({}, "sacrum (2026-11-05): shortest_diameter"),
        (
            {"shortest_diameter": {"value": 40, "unit": "mmHg"}},
            "sacrum (2026-11-05): shortest_diameter in a unit like mm (the unit 'mmHg' cannot be read "
            "as one)",
        ),
        (
            {"shortest_diameter": {"value": 40, "unit": "furlongz"}},
            "sacrum (2026-11-05): shortest_diameter in a unit like mm (the unit 'furlongz' cannot be "
            "read as one)",
        ),
        (
            {"shortest_diameter": {"value": 25, "unit": "mm", "comparator": ">"}},
            "sacrum (2026-11-05): exact shortest_diameter (a censored >25 mm cannot decide)",
        ),
    ],
)
def test_quantity_field_missing_unreadable_or_censored_is_unknown(fields, missing):
    out = evaluate(DIAMETER, lesion(**fields))
    assert out.value is None
    assert out.missing == (missing,)


def test_quantity_field_of_conditions_volume():
    logic = (
        '{ exists = "conditions", where = { type = "other_bleeding", volume = '
        '{ op = ">", value = 30, unit = "mL" } } }'
    )
    bleed = {
        "category": "bleeding",
        "type": "other_bleeding",
        "status": "resolved",
        "onset": "2026-10-01",
        "resolved": "2026-10-02",
    }
    out = evaluate(logic, {"conditions": [{**bleed, "volume": {"value": 0.05, "unit": "L"}}]})
    assert out.value is True and "[volume 0.05 L = 50 mL]" in out.text
    out = evaluate(logic, {"conditions": [{**bleed, "volume": {"value": 30, "unit": "mL"}}]})
    assert out.value is False


# ---------------------------------------------------------------- date fields of items

WITHIN_3M = (
    '{ exists = "treatments", where = { progression_date = [ { op = ">=", ref = "start" }, '
    '{ op = "<=", ref = "end", plus = "P3M" } ] } }'
)


def treatment(**fields: typing.Any) -> dict[str, typing.Any]:
    return {"treatments": [{"type": "chemotherapy", "agents": ["doxorubicin"], **fields}]}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"start": "2026-03-01", "end": "2026-06-30", "progression_date": "2026-09-30"}, True),
        ({"start": "2026-03-01", "end": "2026-06-30", "progression_date": "2026-10-01"}, False),
        ({"start": "2026-03-01", "end": "2026-06-30", "progression_date": "2026-02-27"}, False),
        ({"start": "2026-03-01", "end": "2026-06-30", "progression_date": "2026-03-01"}, True),
        # still going on: the end is open, later than any date
        ({"start": "2026-03-01", "ongoing": True, "progression_date": "2026-11-01"}, True),
        # a single-day treatment: start and end are its date
        ({"date": "2026-07-01", "progression_date": "2026-10-01"}, True),
    ],
)
def test_date_field_against_the_items_own_period(fields, expected):
    assert evaluate(WITHIN_3M, treatment(**fields)).value is expected


def test_calendar_months_clamp_to_the_end_of_the_month():
    as_of = date(2027, 4, 1)
    base = {"start": "2026-09-01", "end": "2026-11-30"}
    assert evaluate(WITHIN_3M, treatment(**base, progression_date="2027-02-28"), as_of=as_of).value is True
    assert evaluate(WITHIN_3M, treatment(**base, progression_date="2027-03-01"), as_of=as_of).value is False


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        (
            {"start": "2026-03-01", "end": "2026-06-30"},
            "chemotherapy (2026-03-01 to 2026-06-30): progression_date",
        ),
        (
            {"start": "2026-03-01", "progression_date": "2026-09-01"},
            "chemotherapy (2026-03-01): end date (or ongoing)",
        ),
        (
            {"end": "2026-06-30", "progression_date": "2026-09-01"},
            "chemotherapy (until 2026-06-30): start date",
        ),
    ],
)
def test_date_field_or_reference_date_missing_is_unknown(fields, missing):
    out = evaluate(WITHIN_3M, treatment(**fields))
    assert out.value is None
    assert out.missing == (missing,)


def test_date_field_after_start_plus_weeks():
    logic = (
        '{ exists = "treatments", where = { progression_date = { op = ">", ref = "start", plus = "P12W" } } }'
    )
    base = {"start": "2026-01-10", "end": "2026-08-01"}
    # 2026-01-10 + 12 weeks = 2026-04-04
    assert evaluate(logic, treatment(**base, progression_date="2026-04-04")).value is False
    out = evaluate(logic, treatment(**base, progression_date="2026-04-05"))
    assert out.value is True
    assert "treatment with progression date > start + 12 weeks" in out.text
    assert "[progression_date 2026-04-05, start 2026-01-10]" in out.text


def test_date_field_against_the_evaluation_date():
    logic = (
        '{ exists = "conditions", where = { type = "pulmonary_embolism", onset = '
        '{ op = ">", ref = "as_of", minus = "P12M" } } }'
    )
    pe = {"category": "thromboembolic", "type": "pulmonary_embolism", "status": "controlled"}
    out = evaluate(logic, {"conditions": [{**pe, "onset": "2025-12-10"}]})
    assert out.value is True
    assert "onset > the evaluation date − 12 months" in out.text
    assert "[onset 2025-12-10]" in out.text
    # exactly 12 months before 2026-11-16 is outside; 13 months is outside
    for onset in ("2025-11-16", "2025-10-10"):
        assert evaluate(logic, {"conditions": [{**pe, "onset": onset}]}).value is False
    out = evaluate(logic, {"conditions": [pe]})
    assert out.value is None
    assert out.missing == ("pulmonary embolism (date not recorded): onset",)


def test_ongoing_item_shows_its_open_end():
    logic = '{ exists = "treatments", where = { progression_date = { op = "<=", ref = "end" } } }'
    out = evaluate(logic, treatment(start="2026-01-10", ongoing=True, progression_date="2026-06-01"))
    assert out.value is True and "end ongoing" in out.text
    logic = '{ exists = "treatments", where = { progression_date = { op = ">", ref = "end" } } }'
    assert (
        evaluate(logic, treatment(start="2026-01-10", ongoing=True, progression_date="2026-06-01")).value
        is False
    )


# ---------------------------------------------------------------- OncoTree ancestry of item codes


def malignancy(code: str | None) -> dict[str, typing.Any]:
    m: dict[str, typing.Any] = {
        "description": "other cancer",
        "date": "2024-01-01",
        "status": "remission",
        "resolved": "2024-06-01",
    }
    if code is not None:
        m["histology"] = code
    return {"other_malignancies": [m]}


@pytest.mark.parametrize(
    ("test", "code", "expected"),
    [
        ("under", "IDC", True),  # below BREAST
        ("under", "BREAST", True),  # the code itself
        ("under", "LUAD", False),
        ("not_under", "IDC", False),
        ("not_under", "LUAD", True),
        ("under", "XYZ", None),  # not an OncoTree code: unknown, whatever the polarity
        ("not_under", "XYZ", None),
        ("under", None, None),
        ("not_under", None, None),
    ],
)
def test_oncotree_field_by_ancestry(test, code, expected):
    logic = f'{{ exists = "other_malignancies", where = {{ histology = {{ {test} = ["BREAST"] }} }} }}'
    out = evaluate(logic, malignancy(code))
    assert out.value is expected, out.text


def test_oncotree_field_unknown_says_what_to_record():
    logic = '{ exists = "other_malignancies", where = { histology = { under = ["BREAST"] } } }'
    out = evaluate(logic, malignancy("XYZ"))
    assert out.missing == (
        "other cancer (2024-01-01 to 2024-06-01): histology as an OncoTree code ('XYZ' is not one)",
    )
    out = evaluate(logic, malignancy(None))
    assert out.missing == ("other cancer (2024-01-01 to 2024-06-01): histology (OncoTree code)",)


def test_several_tests_on_one_field_all_hold():
    logic = (
        '{ exists = "other_malignancies", where = { histology = [ { under = ["CERVIX"] }, '
        '{ not_under = ["CEAIS"] } ] } }'
    )
    assert evaluate(logic, malignancy("CESC")).value is True
    assert evaluate(logic, malignancy("CEAIS")).value is False
    assert evaluate(logic, malignancy("IDC")).value is False


# ---------------------------------------------------------------- load-time errors


# (the errors documented as examples of `exists` are not repeated here)
@pytest.mark.parametrize(
    ("logic", "field", "message"),
    [
        (
            '{ exists = "lesions", where = { shortest_diameter = { op = ">", value = 30, '
            'unit = "furlongz" } } }',
            "logic.where.shortest_diameter.unit",
            "unit 'furlongz': not a recognised unit",
        ),
        (
            '{ exists = "lesions", where = { shortest_diameter = { op = "=>", value = 30, unit = "mm" } } }',
            "logic.where.shortest_diameter.op",
            "expected one of < <= > >= == !=, got '=>'",
        ),
        (
            '{ exists = "lesions", where = { shortest_diameter = { op = ">", value = "big", '
            'unit = "mm" } } }',
            "logic.where.shortest_diameter.value",
            "expected a number, got 'big'",
        ),
        (
            '{ exists = "lesions", where = { site = { op = ">", value = 3, unit = "mm" } } }',
            "logic.where.site",
            "site of lesions is not a quantity with a unit",
        ),
        (
            '{ exists = "treatments", where = { progression_date = { op = "<=", ref = "end", '
            'plus = "3 months" } } }',
            "logic.where.progression_date.plus",
            "duration '3 months': expected an ISO 8601 duration such as P4W, P6M, P5Y or P14D",
        ),
        (
            '{ exists = "treatments", where = { progression_date = { op = "<=" } } }',
            "logic.where.progression_date",
            "compare the date progression_date as { op, ref, plus | minus }; got op",
        ),
        (
            '{ exists = "treatments", where = { progression_date = { op = "~", ref = "end" } } }',
            "logic.where.progression_date.op",
            "expected one of < <= > >= == !=, got '~'",
        ),
        (
            '{ exists = "treatments", where = { name = { op = "<=", ref = "end" } } }',
            "logic.where.name",
            "name of treatments is not a date",
        ),
        (
            '{ exists = "other_malignancies", where = { description = { under = ["BREAST"] } } }',
            "logic.where.description",
            "description of other_malignancies does not hold OncoTree codes",
        ),
        (
            '{ exists = "other_malignancies", where = { histology = { under = ["BREAST"], '
            'not_under = ["IDC"] } } }',
            "logic.where.histology",
            "give under = [codes] or not_under = [codes]",
        ),
        (
            '{ exists = "other_malignancies", where = { histology = { not_under = [] } } }',
            "logic.where.histology.not_under",
            "expected a non-empty list of OncoTree codes",
        ),
        (
            '{ exists = "other_malignancies", where = { histology = [ { under = ["BREAST"] }, "IDC" ] } }',
            "logic.where.histology",
            "histology is text, got {'under': ['BREAST']}",
        ),
    ],
)
def test_field_test_errors_name_the_field_with_exact_messages(logic, field, message):
    assert load_error(logic) == (f"criteria[I1].{field}", message)


# ---------------------------------------------------------------- the fields they apply to


def test_lesion_imaging_and_pathological_fracture_are_closed_vocabularies():
    p = Patient.model_validate(
        {
            "id": "t",
            "lesions": [{"kind": "bone_metastasis_soft_tissue_mass", "imaging": "mri"}],
            "conditions": [{"category": "other", "type": "pathological_fracture"}],
        }
    )
    assert p.lesions and p.lesions[0].imaging == "mri"
    with pytest.raises(ValidationError):
        Patient.model_validate({"id": "t", "lesions": [{"imaging": "MRI scan"}]})


def test_item_quantity_fields_are_quantities_with_a_readable_reference_unit():
    for collection, fields in ITEM_QUANTITY_UNITS.items():
        model = COLLECTIONS[collection][0]
        for name, unit in fields.items():
            ann = model.model_fields[name].annotation
            assert Quantity in typing.get_args(ann), (collection, name)
            parse_unit(unit)


def test_oncotree_item_fields_are_text_fields():
    for collection, fields in ONCOTREE_ITEM_FIELDS.items():
        model = COLLECTIONS[collection][0]
        for name in fields:
            assert str in typing.get_args(model.model_fields[name].annotation), (collection, name)
