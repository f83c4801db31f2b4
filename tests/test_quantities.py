"""What quantity facts remember between patients changes no result: the remembered readings of
units, values, ULNs and texts are those computed afresh, for any spelling of a value, per analyte."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eligimatch import labfacts, quantities
from eligimatch.drugs import catalogue
from eligimatch.errors import PatientError, Problems, UnitError
from eligimatch.facts import build_facts
from eligimatch.patient import Patient
from eligimatch.quantities import QuantityFact, canonical, fact, number_text
from eligimatch.units import analytes, format_number

AS_OF = date(2026, 3, 1)


def facts_of(**fields):
    return build_facts(Patient.model_validate({"id": "t", **fields}), AS_OF, "t.json")


SPELLINGS = sorted(
    {
        "10^9/L",
        "/uL",
        "10*3/uL",
        "g/dL",
        "g/L",
        "mg/dL",
        "umol/L",
        "U/L",
        "IU/L",
        "kg",
        "cm",
        "month",
        "d",
        "mmHg",
        "kPa",
        "%",
        "1",
        "mL/min",
        "ukat/L",
        "mmol/L",
        "mEq/L",
    }
)


@pytest.mark.parametrize("key", sorted(analytes()))
def test_a_remembered_unit_reading_converts_as_to_canonical(key):
    a = analytes()[key]
    for text in SPELLINGS:
        try:
            spec = a.unit_for(text)
        except UnitError as exc:
            with pytest.raises(UnitError) as again:
                a.canonical_unit(text)
            assert again.value.reason == exc.reason
            continue
        for _ in range(2):  # computed, then remembered
            got, factor = a.canonical_unit(text)
            assert got == spec
            for value in (Decimal("0"), Decimal("1.23"), Decimal("1500"), Decimal("0.000001"), 7):
                assert Fraction(value) * factor == a.to_canonical(value, spec)


def test_equal_values_spelt_differently_give_the_same_fact():
    one = facts_of(labs=[{"test": "anc", "value": 1.5, "unit": "/uL", "date": "2026-02-01"}])
    two = facts_of(labs=[{"test": "anc", "value": 1.50, "unit": "/uL", "date": "2026-02-01"}])
    three = facts_of(labs=[{"test": "anc", "value": 15e-1, "unit": "/uL", "date": "2026-02-01"}])
    assert one.quantities == two.quantities == three.quantities
    assert one.quantity("anc").reported == "1.5 /uL"


def test_a_value_remembered_for_one_analyte_is_not_used_for_another():
    p = Problems()
    assert canonical(analytes()["anc"], Decimal("2"), "10^9/L", None, "x", p) == (Fraction(2), "")
    # the same number and unit are not a possible haemoglobin in g/dL... nor a unit of it
    assert canonical(analytes()["hemoglobin"], Decimal("2"), "10^9/L", None, "y", p) is None
    assert [w for w, _ in p] == ["y.unit"]


def test_an_impossible_value_is_refused_every_time_not_remembered():
    for _ in range(2):
        with pytest.raises(PatientError, match="is not a possible"):
            facts_of(labs=[{"test": "anc", "value": 1e9, "unit": "10^9/L", "date": "2026-02-01"}])


def test_a_remembered_uln_still_checks_the_range_low_and_its_unit():
    ok = {
        "test": "bilirubin",
        "value": 10,
        "unit": "umol/L",
        "date": "2026-02-01",
        "reference_range": {"low": 3, "high": 21},
    }
    assert facts_of(labs=[ok]).quantity("bilirubin").uln == 21
    low = {**ok, "reference_range": {"low": 30, "high": 21}}
    with pytest.raises(PatientError, match="low is above high"):
        facts_of(labs=[low])
    bad_unit = {**ok, "reference_range": {"low": 30, "high": 21, "unit": "kg"}}
    with pytest.raises(PatientError, match="'kg' is not a unit of"):
        facts_of(labs=[bad_unit])
    implausible = {**ok, "reference_range": {"high": 210}}
    with pytest.raises(PatientError, match="not a plausible upper limit"):
        facts_of(labs=[implausible])


def test_number_text_is_format_number_for_each_type():
    long = Decimal("1.2345650000000000000000000000000000000000001")  # 44 digits
    as_fraction = Fraction(long)
    assert number_text(long, 6) == format_number(long, 6) == "1.23457"
    assert number_text(as_fraction, 6) == format_number(as_fraction, 6)
    for v in (Decimal("5.930"), Decimal("5.93"), Fraction(593, 100), 0, Decimal("1E+7"), 120):
        assert number_text(v, 6) == format_number(v, 6)
        assert number_text(v) == format_number(v)


def test_fact_is_the_dataclass_built_by_its_init():
    a = analytes()["anc"]
    kw = dict(value=Fraction(3), comparator="<", date=AS_OF, reported="3 x", uln=Fraction(1), uln_note="n")
    made, init = fact(a, **kw), QuantityFact(a, **kw)
    assert made == init and hash(made) == hash(init) and repr(made) == repr(init)
    assert {f.name for f in dataclasses.fields(QuantityFact)} == set(vars(made))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.value = Fraction(4)  # type: ignore[misc]


def test_memos_are_bounded(monkeypatch):
    monkeypatch.setattr(quantities, "_MEMO_MAX", 3)
    monkeypatch.setattr(quantities, "_CANONICAL", {})
    for i in range(10):
        facts_of(labs=[{"test": "anc", "value": i + 1, "unit": "10^9/L", "date": "2026-02-01"}])
        assert len(quantities._CANONICAL) <= 3
    monkeypatch.setattr(labfacts, "_ULN", {})
    for i in range(10):
        rr = {"high": 15 + i}
        facts_of(
            labs=[
                {
                    "test": "bilirubin",
                    "value": 9,
                    "unit": "umol/L",
                    "date": "2026-02-01",
                    "reference_range": rr,
                }
            ]
        )
        assert len(labfacts._ULN) <= 3


def test_a_remembered_drug_reading_is_the_reading():
    cat = catalogue()
    args = dict(name="doxorubicin 75 mg/m2", agents=["ifosfamide"], classes=None, route=None, drug=True)
    first, second = cat.read(**args), cat.read(**args)
    assert first == second == cat._read(**args)
    unread = {**args, "name": "zorblatin 75 mg"}
    assert cat.read(**{**unread, "classes": []}) == cat._read(**{**unread, "classes": []})
    # no classes given is not an empty list of them
    assert cat.read(**unread).classes_known is False
    assert cat.read(**{**unread, "classes": []}).classes_known is True


LABS = [
    {"test": "anc", "value": 1.5, "unit": "/uL", "date": "2026-02-01"},
    {"test": "anc", "value": 1.50, "unit": "10*3/uL", "date": "2026-02-02"},
    {
        "test": "bilirubin",
        "value": 9,
        "unit": "umol/L",
        "date": "2026-02-01",
        "reference_range": {"high": 21},
    },
    {
        "test": "bilirubin",
        "value": 0.5,
        "unit": "mg/dL",
        "date": "2026-02-03",
        "reference_range": {"high": 1.2},
    },
    {"test": "ast", "value": 20, "unit": "IU/L", "date": "2026-02-01"},
    {"test": "ast", "value": 20, "unit": "U/L", "date": "2026-02-01", "reference_range": {"high": 40}},
    {"test": "hbv_dna_iu", "value": 20, "unit": "[IU]/mL", "comparator": "<", "date": "2026-02-01"},
    {"test": "creatinine", "value": 1.1, "unit": "mg/dL", "date": "2026-02-20"},
    {"test": "hiv_antibody", "result": "Negative", "date": "2026-01-01"},
    {"test": "urine_protein_dipstick", "result": "1+", "date": "2026-01-01"},
]


@pytest.mark.parametrize("i", range(len(LABS)))
def test_a_remembered_lab_result_is_the_result_read_afresh(i, monkeypatch):
    """A result met again is read with one look-up: the same fact, field by field, with its own
    date; and a result read again on another date is that date's."""
    monkeypatch.setattr(labfacts, "_LABS", {})
    monkeypatch.setattr(labfacts, "_ULN", {})
    monkeypatch.setattr(quantities, "_CANONICAL", {})
    fresh = facts_of(labs=[LABS[i]]).quantities
    assert labfacts._LABS  # remembered
    again = facts_of(labs=[LABS[i]]).quantities
    assert again == fresh and [vars(q) for q in again.values()] == [vars(q) for q in fresh.values()]
    later = facts_of(labs=[{**LABS[i], "date": "2026-02-27"}]).quantities
    (q,) = later.values()
    assert q.date == date(2026, 2, 27) and dataclasses.replace(q, date=next(iter(fresh.values())).date) == (
        next(iter(fresh.values()))
    )


def test_a_result_that_raised_a_problem_is_not_remembered_and_raises_it_again():
    bili = {"test": "bilirubin", "value": 9, "unit": "umol/L", "date": "2026-02-01"}
    bad = [
        {"test": "anc", "value": 2, "unit": "mg/dL", "date": "2026-02-01"},
        {"test": "anc", "value": 2, "unit": "bogus", "date": "2026-02-01"},
        {**bili, "reference_range": {"high": 210}},
        {**bili, "reference_range": {"low": 30, "high": 21}},
        {"test": "hiv_antibody", "result": "sort of", "date": "2026-01-01"},
        {"test": "nonsense", "value": 1, "unit": "g/L", "date": "2026-01-01"},
    ]
    for lab in bad:
        with pytest.raises(PatientError) as first:
            facts_of(labs=[lab])
        with pytest.raises(PatientError) as second:
            facts_of(labs=[lab])
        assert first.value.problems == second.value.problems
    # a remembered result after the evaluation date is still one
    ok = {"test": "anc", "value": 2, "unit": "10^9/L", "date": "2026-02-01"}
    facts_of(labs=[ok])
    with pytest.raises(PatientError, match=r"labs\[0\].date: date 2026-03-02 is after the evaluation date"):
        facts_of(labs=[{**ok, "date": "2026-03-02"}])


def test_the_cockcroft_gault_text_made_when_read_is_the_text():
    f = facts_of(
        sex="male",
        birth_date="1950-02-28",
        weight={"value": 71.3, "unit": "kg", "date": "2026-02-20"},
        labs=[lab for lab in LABS if lab["test"] == "creatinine"],
    )
    q = f.quantity("crcl")
    assert type(vars(q)["derived"]) is quantities.Deferred  # not made yet
    mg_dl = Fraction(11, 10)
    want = (
        f"Cockcroft–Gault estimate from age 76, weight 71.3 kg, male, creatinine "
        f"{format_number(mg_dl, 3)} mg/dL on 2026-02-20"
    )
    assert q.value == Fraction(140 - 76) * Fraction(713, 10) / (72 * mg_dl)
    assert q.derived == want and vars(q)["derived"] == want  # made once, then kept
    assert q == QuantityFact(q.analyte, value=q.value, date=q.date, derived=want)
    assert want in q.shown()


@given(
    number=st.decimals(min_value=0, max_value=Decimal("1E+12"), allow_nan=False, places=None),
    unit=st.sampled_from(["/uL", "10^9/L", "10*3/uL", "G/L", "mg/dL", "umol/L", "g/dL"]),
)
def test_a_value_read_afresh_is_the_exact_product_of_the_number_and_the_factor(number, unit):
    p = Problems()
    for key in ("anc", "bilirubin", "hemoglobin"):
        a = analytes()[key]
        quantities._CANONICAL.clear()
        got = canonical(a, number, unit, None, "x", p)
        try:
            factor = a.canonical_unit(unit)[1]
        except UnitError:
            assert got is None
            continue
        want = Fraction(number) * factor
        if got is not None:
            assert got[0] == want and (got[0].numerator, got[0].denominator) == (
                want.numerator,
                want.denominator,
            )
            # the same value written otherwise (1E+2, 100, 100.0) reads the same
            again = canonical(a, Decimal(f"{number:E}"), unit, None, "y", p)
            assert again is not None and again[0] == want and again[1] == got[1]


def test_the_texts_as_reported_and_of_the_uln_are_made_when_read():
    labfacts._LABS.clear()
    labfacts._ULN.clear()
    quantities._CANONICAL.clear()
    lab = {"test": "bilirubin", "value": 0.50, "unit": "mg/dL", "date": "2026-02-03"}
    q = facts_of(labs=[{**lab, "reference_range": {"high": 1.20}}]).quantity("bilirubin")
    assert (
        type(vars(q)["reported"]) is quantities.Deferred and type(vars(q)["uln_note"]) is quantities.Deferred
    )
    assert q.reported == "0.5 mg/dL" and q.uln_note == "ULN 1.2 mg/dL from the lab's reference range"
    assert vars(q)["reported"] == "0.5 mg/dL"  # made once, then kept
    again = facts_of(labs=[{**lab, "reference_range": {"high": 1.20}}]).quantity("bilirubin")
    assert (
        again == q
        and again.shown() == q.shown() == f"{q.analyte.show(q.value)} (reported 0.5 mg/dL, 2026-02-03)"
    )
    # canonical gives the text itself
    assert canonical(q.analyte, Decimal("0.50"), "mg/dL", "<", "x", Problems())[1] == "<0.5 mg/dL"
