"""Patient profile → facts: newest results, conflicts, ULN sources, derived values, date checks."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from eligimatch.api import parse_patient
from eligimatch.errors import PatientError
from eligimatch.facts import build_facts
from eligimatch.patient import Patient

AS_OF = date(2026, 3, 1)


def facts_of(**fields):
    return build_facts(Patient.model_validate({"id": "t", **fields}), AS_OF, "t.json")


def lab(test, value, unit, day, **extra):
    return {"test": test, "value": value, "unit": unit, "date": day, **extra}


def test_newest_result_wins_and_is_converted_once():
    f = facts_of(labs=[lab("anc", 800, "/uL", "2026-01-01"), lab("anc", 2.1, "10^9/L", "2026-02-20")])
    q = f.quantity("anc")
    assert q.value == Fraction(21, 10) and q.date == date(2026, 2, 20)


def test_conflicting_results_on_the_same_day_are_unknown_not_picked():
    f = facts_of(labs=[lab("anc", 0.8, "10^9/L", "2026-02-20"), lab("anc", 2.1, "10^9/L", "2026-02-20")])
    assert f.quantity("anc") is None
    assert f.gap("anc") == ("a single ANC result", "ANC: 2 different results on 2026-02-20")


def test_uln_from_the_lab_or_the_band_of_plausible_ulns():
    f = facts_of(
        labs=[
            lab("alt", 50, "U/L", "2026-02-20", reference_range={"high": 45}),
            lab("ast", 50, "U/L", "2026-02-20"),
        ]
    )
    assert f.quantity("alt").uln == 45
    assert "from the lab's reference range" in f.quantity("alt").uln_note
    # no range: no ULN is made up; the comparison gets the band of plausible ULNs to try
    assert f.quantity("ast").uln is None
    assert f.quantity("ast").uln_band == (25, 70)
    assert f.quantity("ast").uln_note == "the lab reported no reference range"


@pytest.mark.parametrize(
    "rr, field, message",
    [
        (
            {"high": 21},
            "labs[0].reference_range.unit",
            "the range gives no unit, and 21 mg/dL (the result's unit) is not a plausible upper limit of "
            "normal of total bilirubin (12 µmol/L to 26 µmol/L): give the range's unit",
        ),
        (
            {"high": 40, "unit": "umol/L"},
            "labs[0].reference_range.high",
            "40 umol/L is not a plausible upper limit of normal of total bilirubin (12 µmol/L to 26 µmol/L)",
        ),
    ],
)
def test_an_implausible_reference_range_is_an_error(rr, field, message):
    with pytest.raises(PatientError) as exc:
        facts_of(labs=[lab("bilirubin", 3.0, "mg/dL", "2026-02-20", reference_range=rr)])
    assert exc.value.problems == ((field, message),)


def test_a_range_without_unit_is_read_in_the_results_unit_when_plausible():
    f = facts_of(labs=[lab("bilirubin", 3.0, "mg/dL", "2026-02-20", reference_range={"high": 1.2})])
    assert f.quantity("bilirubin").uln == Fraction(12, 10) * Fraction(1000000, 58466)


def test_cockcroft_gault_when_crcl_not_measured():
    f = facts_of(
        sex="female",
        birth_date="1966-03-01",
        weight={"value": 60, "unit": "kg", "date": "2026-02-01"},
        labs=[lab("creatinine", 1.0, "mg/dL", "2026-02-20")],
    )
    # (140 - 60) × 60 / (72 × 1.0) × 0.85 = 56.67 mL/min
    assert f.quantity("crcl").value == Fraction(80 * 60 * 85, 72 * 100)
    assert "Cockcroft–Gault" in f.quantity("crcl").derived


def test_cockcroft_gault_names_what_it_lacks():
    f = facts_of(labs=[lab("creatinine", 1.0, "mg/dL", "2026-02-20")])
    assert f.quantity("crcl") is None
    assert f.gap("crcl")[1] == "CrCl not measured, and Cockcroft–Gault needs age, weight, sex"


def test_measured_crcl_is_preferred():
    f = facts_of(
        sex="male",
        birth_date="1966-03-01",
        weight={"value": 60, "unit": "kg"},
        labs=[lab("creatinine", 1.0, "mg/dL", "2026-02-20"), lab("crcl", 42, "mL/min", "2026-02-20")],
    )
    assert f.quantity("crcl").value == 42 and not f.quantity("crcl").derived


def test_absent_is_not_recorded_and_empty_list_is_none():
    assert facts_of().collections["treatments"] is None
    assert facts_of(treatments=[]).collections["treatments"] == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"labs": [lab("anc", 1.2, "g/L", "2026-02-01")]},
            "t.json: labs[0].unit: 'g/L' is not a unit of absolute neutrophil count",
        ),
        (
            {"labs": [lab("anc", 1.2, "10^9/L", "2026-04-01")]},
            "t.json: labs[0].date: date 2026-04-01 is after the evaluation date 2026-03-01",
        ),
        (
            {"labs": [lab("neutrophils", 1.2, "10^9/L", "2026-02-01")]},
            "t.json: labs[0].test: unknown test 'neutrophils'",
        ),
        (
            {"labs": [lab("platelets", 99999, "10^9/L", "2026-02-01")]},
            "t.json: labs[0].value: 99999 ×10⁹/L is not a possible platelet count",
        ),
        (
            {"birth_date": "2027-01-01"},
            "t.json: birth_date: date 2027-01-01 is after the evaluation date 2026-03-01",
        ),
        (
            {"labs": [{"test": "urine_protein_dipstick", "result": "5+", "date": "2026-02-01"}]},
            "t.json: labs[0].result: '5+' is not a result of urine protein (dipstick) (expected one of "
            "negative, trace, 1+, 2+, 3+, 4+)",
        ),
    ],
)
def test_impossible_data_is_an_error_naming_file_and_field(fields, message):
    with pytest.raises(PatientError) as err:
        facts_of(**fields)
    assert str(err.value) == message


def test_all_problems_are_reported_on_one_line():
    with pytest.raises(PatientError) as err:
        facts_of(labs=[lab("anc", 1.2, "g/L", "2026-02-01"), lab("alt", 1, "mmHg", "2026-02-01")])
    assert len(err.value.problems) == 2 and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "p.json: not valid JSON (line 1, column 2: Expecting property name enclosed in double quotes)"),
        ("[]", "p.json: a patient profile must be a JSON object"),
        ('{"id": "x", "ecog": {"value": 7}}', "p.json: ecog.value: Input should be less than or equal to 5"),
        (
            '{"id": "x", "weight": {"value": NaN, "unit": "kg"}}',
            "p.json: weight.value: Input should be a finite number",
        ),
        (
            '{"id": "x", "colour": "blue"}',
            "p.json: colour: unknown field (not part of the patient format; see 'eligimatch schema')",
        ),
    ],
)
def test_parse_errors(text, message):
    with pytest.raises(PatientError) as err:
        parse_patient(text, "p.json")
    assert str(err.value) == message


def test_as_of_is_required_somewhere():
    with pytest.raises(PatientError, match="no evaluation date"):
        build_facts(Patient(id="x"), None, "x.json")
