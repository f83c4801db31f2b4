"""``recorded`` and ``any_recorded`` (engine/nodes/recorded.py): a result is there and recent enough;
one measurement in units that cannot be converted into each other.  Their documented examples and
load errors run in tests/test_node_examples.py."""

from __future__ import annotations

import typing

import pytest

from eligimatch.errors import PatientError
from eligimatch.facts import build_facts
from eligimatch.patient import Patient
from node_runner import AS_OF, evaluate, trial

# ---------------------------------------------------------------- recorded


def lab(test: str, value: float, unit: str, day: str, **extra: typing.Any) -> dict[str, typing.Any]:
    return {"test": test, "value": value, "unit": unit, "date": day, **extra}


@pytest.mark.parametrize(
    ("logic", "labs", "expected", "text"),
    [
        (
            '{ recorded = "anc" }',
            [lab("anc", 3.1, "10^9/L", "2026-11-10")],
            True,
            "ANC 3.1 ×10⁹/L (2026-11-10) recorded within 14 days",
        ),
        ('{ recorded = "anc" }', [lab("anc", 3.1, "10^9/L", "2026-11-02")], True, "recorded within 14 days"),
        (
            '{ recorded = "anc" }',
            [lab("anc", 3.1, "10^9/L", "2026-11-01")],
            None,
            "ANC from 2026-11-01 is 15 days old; a result within 14 days is needed",
        ),
        ('{ recorded = "anc" }', [], None, "ANC not recorded (needed: ANC within 14 days)"),
        (
            '{ recorded = "anc", within_days = 30 }',
            [lab("anc", 3.1, "10^9/L", "2026-11-01")],
            True,
            "recorded within 30 days",
        ),
        (
            '{ recorded = "anc", recency = "none" }',
            [lab("anc", 3.1, "10^9/L", "2020-01-01")],
            True,
            "ANC 3.1 ×10⁹/L (2020-01-01) recorded",
        ),
        # a value that fails every threshold is still a recorded value: `recorded` is never False
        ('{ recorded = "anc" }', [lab("anc", 0.1, "10^9/L", "2026-11-10")], True, "recorded"),
    ],
)
def test_recorded_is_true_or_unknown_never_false(logic, labs, expected, text):
    out = evaluate(logic, {"labs": labs}, window=14)
    assert out.value is expected
    assert text in out.text
    if expected is None:
        assert out.missing


def test_recorded_missing_names_what_to_record():
    out = evaluate('{ recorded = "anc" }', {"labs": []}, window=14)
    assert out.missing == ("ANC within 14 days",)
    out = evaluate('{ recorded = "anc" }', {"labs": [lab("anc", 3, "10^9/L", "2026-10-01")]}, window=14)
    assert out.missing == ("recent ANC within 14 days",)
    out = evaluate(
        '{ recorded = "anc" }',
        {"labs": [lab("anc", 3, "10^9/L", "2026-11-10"), lab("anc", 1, "10^9/L", "2026-11-10")]},
        window=14,
    )
    assert out.value is None and out.missing == ("a single ANC result within 14 days",)


def test_recorded_profile_quantity_ages_with_its_catalogue_window():
    # ECOG ages (analytes.toml max_age_days = 28): undated or old is unknown, never recorded
    out = evaluate('{ recorded = "ecog" }', {"ecog": {"value": 1}}, window=14)
    assert out.value is None and out.missing == ("date of ECOG",)
    out = evaluate('{ recorded = "ecog" }', {"ecog": {"value": 1, "date": "2026-09-01"}}, window=14)
    assert out.value is None and out.missing == ("recent ECOG within 28 days",)
    out = evaluate('{ recorded = "ecog" }', {"ecog": {"value": 1, "date": "2026-11-01"}}, window=14)
    assert out.value is True
    out = evaluate('{ recorded = "ecog", recency = "none" }', {"ecog": {"value": 1}}, window=14)
    assert out.value is True


# ---------------------------------------------------------------- any_recorded

HBV = (
    '{ any_recorded = [ { quantity = "hbv_dna_iu", op = ">", value = 2000, unit = "IU/mL" }, '
    '{ quantity = "hbv_dna_copies", op = ">", value = 1e4, unit = "copies/mL" } ]'
)
CARRIER = '{ exists = "conditions", where = { type = "hepatitis_b", status = { not = "resolved" } } }'


@pytest.mark.parametrize(
    ("labs", "expected", "text"),
    [
        (
            [lab("hbv_dna_iu", 3500, "IU/mL", "2026-11-10")],
            True,
            "HBV DNA 3500 IU/mL (2026-11-10) > 2000 IU/mL",
        ),
        (
            [lab("hbv_dna_iu", 2000, "[IU]/mL", "2026-11-10")],
            False,
            "HBV DNA 2000 IU/mL (2026-11-10) ≤ 2000 IU/mL",
        ),
        # copies are compared with the copies threshold only, never with 2000 IU/mL
        (
            [lab("hbv_dna_copies", 8000, "copies/mL", "2026-11-10")],
            False,
            "HBV DNA 8000 copies/mL (2026-11-10) ≤ 10000 copies/mL",
        ),
        ([lab("hbv_dna_copies", 2.5e4, "{copies}/mL", "2026-11-10")], True, "> 10000 copies/mL"),
        (
            [lab("hbv_dna_iu", 20, "IU/mL", "2026-11-10", comparator="<")],
            False,
            "HBV DNA <20 IU/mL (2026-11-10) ≤ 2000 IU/mL",
        ),
        # both reported: either above its own threshold decides
        (
            [
                lab("hbv_dna_iu", 500, "IU/mL", "2026-11-10"),
                lab("hbv_dna_copies", 2e4, "copies/mL", "2026-11-10"),
            ],
            True,
            "> 10000 copies/mL",
        ),
        (
            [
                lab("hbv_dna_iu", 500, "IU/mL", "2026-11-10"),
                lab("hbv_dna_copies", 2e3, "copies/mL", "2026-11-10"),
            ],
            False,
            "≤ 2000 IU/mL",
        ),
        # a stale result is unknown; it does not fall back on `otherwise`
        ([lab("hbv_dna_iu", 20, "IU/mL", "2026-08-01", comparator="<")], None, "107 days old"),
        # conflicting results count as a result: unknown, not `otherwise`
        (
            [lab("hbv_dna_iu", 20, "IU/mL", "2026-11-10"), lab("hbv_dna_iu", 5000, "IU/mL", "2026-11-10")],
            None,
            "2 different results",
        ),
    ],
)
def test_any_recorded_compares_each_result_in_its_own_unit(labs, expected, text):
    out = evaluate(HBV + ", otherwise = " + CARRIER + " }", {"labs": labs, "conditions": []}, window=14)
    assert out.value is expected
    assert text in out.text


def test_any_recorded_without_results_uses_otherwise():
    logic = HBV + ", otherwise = { all = [ " + CARRIER + ', { recorded = "hbv_dna_iu" } ] } }'
    out = evaluate(logic, {"conditions": []}, window=14)
    assert out.value is False
    assert out.text.startswith(
        "no HBV DNA in IU/mL or HBV DNA in copies/mL recorded; no unresolved hepatitis B"
    )
    carrier = {"category": "infection", "type": "hepatitis_b", "status": "controlled"}
    out = evaluate(logic, {"conditions": [carrier]}, window=14)
    assert out.value is None and out.missing == ("HBV DNA within 14 days",)
    out = evaluate(logic, {}, window=14)
    assert out.value is None and "conditions" in out.missing


def test_any_recorded_without_results_or_otherwise_is_unknown():
    out = evaluate(HBV + " }", {"labs": []}, window=14)
    assert out.value is None
    assert out.text == "no HBV DNA in IU/mL or HBV DNA in copies/mL recorded"
    assert out.missing == ("HBV DNA in IU/mL or HBV DNA in copies/mL",)


def test_any_recorded_otherwise_review_marks_the_criterion():
    assert trial(HBV + ', otherwise = { review = "q?" } }').criteria[0].needs_review
    assert not trial(HBV + " }").criteria[0].needs_review


def test_iu_and_copies_are_never_converted_into_each_other():
    with pytest.raises(PatientError) as err:
        build_facts(
            Patient.model_validate({"id": "t", "labs": [lab("hbv_dna_iu", 3500, "copies/mL", "2026-11-10")]}),
            AS_OF,
            "t.json",
        )
    assert "labs[0].unit: 'copies/mL' is not a unit of HBV DNA (international units)" in str(err.value)
