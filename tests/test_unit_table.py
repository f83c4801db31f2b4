"""The curated unit table (data/unit_spellings.toml): only listed spellings are units, with exact
factors; the UCUM functional test cases for units of catalogue analytes; analyte-specific
readings (INR never %, haemoglobin in mmol/L, mEq/L through the valence, a 30-day month for
life expectancy); and the one-line error a patient file gets for a unit of the wrong kind."""

from __future__ import annotations

import csv
import json
import tomllib
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from cli_runner import run_main
from eligimatch.errors import UnitError
from eligimatch.units import (
    analyte,
    analytes,
    convert,
    normalise_spelling,
    parse_unit,
    spellings,
)

DATA = Path(__file__).parent / "data"
CASES = tomllib.loads((DATA / "ucum" / "cases.toml").read_text("utf-8"))
TABLE = tomllib.loads(
    (Path(__file__).parents[1] / "src" / "eligimatch" / "data" / "unit_spellings.toml").read_text("utf-8")
)

# one spelling of each group's kind: every spelling of the group has its dimension
GROUP_KIND = {
    "count": "/L",
    "mass_concentration": "g/L",
    "substance_concentration": "mol/L",
    "equivalent_concentration": "eq/L",
    "catalytic_concentration": "U/L",
    "international_units": "IU/mL",
    "copies": "copies/mL",
    "dimensionless": "1",
    "time": "s",
    "mass": "kg",
    "length": "m",
    "volume": "L",
    "volume_rate": "mL/min",
    "egfr": "mL/min/{1.73_m2}",
    "mass_rate": "g/day",
    "pressure": "mmHg",
}


# ------------------------------------------------------------------------------- the table


def test_every_group_has_a_known_kind():
    assert set(TABLE) == set(GROUP_KIND)


@pytest.mark.parametrize(("group", "spelling"), [(g, s) for g, entries in TABLE.items() for s in entries])
def test_every_spelling_parses_with_its_groups_dimension(group, spelling):
    spec = parse_unit(spelling)
    assert spec.scale > 0
    assert spec.dimensionality == parse_unit(GROUP_KIND[group]).dimensionality
    assert normalise_spelling(spelling) == spelling  # else it could never be looked up


def test_table_size_and_uniqueness():
    listed = [s for entries in TABLE.values() for s in entries]
    assert len(listed) == len(set(listed)) == len(spellings())
    assert len(listed) > 250


@pytest.mark.parametrize(
    ("typed", "listed"),
    [
        ("µmol/L", "umol/L"),
        ("μmol/L", "umol/L"),
        ("mcg/L", "ug/L"),
        ("/mcL", "/uL"),
        ("×10⁹/L", "x10^9/L"),
        ("10⁹/L", "10^9/L"),
        ("x10³/µL", "x10^3/uL"),
        ("/mm³", "/mm3"),
        ("  g/L ", "g/L"),
        ("g/(24·h)", "g/(24.h)"),
        ("mL/min/1.73 m²", "mL/min/1.73 m2"),
        ("g/24  h", "g/24 h"),
        ("10⁻³", "10^-3"),
    ],
)
def test_only_typographic_variants_are_normalised(typed, listed):
    assert normalise_spelling(typed) == listed


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("u/L", "U/L"),  # pint's atomic mass unit per litre
        ("MG/DL", "mg/dL"),  # case is not folded, but the hint finds it
        ("mmol/ L", "mmol/L"),
        ("ml/mn", "ml/min"),
    ],
)
def test_unlisted_spelling_is_an_error_naming_it_with_a_hint(text, suggestion):
    with pytest.raises(UnitError) as err:
        parse_unit(text)
    assert err.value.unit == text
    assert str(err.value) == f"unit {text!r}: not a recognised unit; did you mean {suggestion!r}?"


@pytest.mark.parametrize(
    "text",
    [
        "u",
        "mu/L",
        "g%",
        "mg%",
        "log IU/mL",
        "IU per litre",
        "mg per dl",
        "mg/12h",
        "10E9/L",
        "P4W",
        "T2",
        "M",
        "cells",
        "copies",
        "{copies}",
        "[IU]",
        "U",
        "mmol",
        "1 / liter",
        "millimeter_Hg",
        "gram / deciliter",
        "10^9",
        "Gy",
        "3 months",
        "10*-3/ul",
    ],
)
def test_what_pint_would_read_is_not_a_unit(text):
    with pytest.raises(UnitError):
        parse_unit(text)


def test_case_matters():
    assert parse_unit("G/L").key == parse_unit("10^9/L").key  # giga per litre
    assert parse_unit("G/L").dimensionality != parse_unit("g/L").dimensionality
    a = analyte("platelets")
    assert a.to_canonical(Decimal(150), a.unit_for("G/L")) == 150
    with pytest.raises(UnitError):
        analyte("hemoglobin").unit_for("G/L")
    assert a.to_canonical(Decimal("0.15"), a.unit_for("T/L")) == 150  # tera per litre


# ------------------------------------------------------------- UCUM functional test cases


@pytest.mark.parametrize(
    "case", CASES["accepted"], ids=[f"{c['id']}:{c['unit']}:{c['analyte']}" for c in CASES["accepted"]]
)
def test_ucum_units_of_catalogue_analytes_have_their_exact_factor(case):
    a = analyte(case["analyte"])
    assert a.to_canonical(1, a.unit_for(case["unit"])) == Fraction(case["factor"])


@pytest.mark.parametrize("case", CASES["rejected"], ids=[f"{c['id']}:{c['unit']}" for c in CASES["rejected"]])
def test_invalid_ucum_units_are_rejected(case):
    with pytest.raises(UnitError):
        parse_unit(case["unit"])


@pytest.mark.parametrize("case", CASES["conversion"], ids=[c["id"] for c in CASES["conversion"]])
def test_ucum_conversion_cases(case):
    got = convert(Decimal(case["value"]), parse_unit(case["srcUnit"]), parse_unit(case["dstUnit"]))
    outcome = Decimal(case["outcome"])
    # the outcome is given to the precision of the value (6.30 in → 0.160 m): compare to it
    places = Fraction(1, 10 ** max(0, -outcome.as_tuple().exponent))  # type: ignore[operator]
    assert abs(got - Fraction(outcome)) <= places / 2


def test_the_ucum_cases_cover_every_analyte_kind_with_a_unit():
    covered = {c["analyte"] for c in CASES["accepted"]}
    assert {
        "anc",
        "hemoglobin",
        "glucose_fasting",
        "alt",
        "hbv_dna_iu",
        "aptt",
        "weight",
        "height",
        "crcl",
        "urine_protein_24h",
        "bp_systolic",
        "lvef",
        "life_expectancy",
        "potassium",
    } <= covered


# ------------------------------------------------------------ analyte-specific readings


@pytest.mark.parametrize("text", ["%", "percent", "{score}", "{INR} ", "mmol/L"])
def test_inr_never_takes_a_percentage(text):
    a = analyte("inr")
    if text.strip() == "{INR}":
        assert a.to_canonical(Decimal("1.2"), a.unit_for(text)) == Fraction(6, 5)
        return
    with pytest.raises(UnitError) as err:
        a.unit_for(text)
    assert "is not a unit of international normalised ratio" in err.value.reason
    assert "expected one of 1, {ratio}, {INR}" in err.value.reason


@pytest.mark.parametrize("text", ["1", "{ratio}", "{INR}"])
def test_inr_spellings(text):
    a = analyte("inr")
    assert a.to_canonical(Decimal("1.5"), a.unit_for(text)) == Fraction(3, 2)


def test_lvef_takes_percent_and_never_a_fraction():
    a = analyte("lvef")
    assert a.to_canonical(Decimal(50), a.unit_for("%")) == 50
    for text in ("1", "{ratio}"):
        with pytest.raises(UnitError):
            a.unit_for(text)


def test_every_dimensionless_analyte_lists_its_own_spellings():
    for a in analytes().values():
        if a.unit is None:
            continue
        if not a.unit.dimensionality:
            assert a.dimensionless_units, a.key
            for text in a.dimensionless_units:
                assert not parse_unit(text).dimensionality
                a.unit_for(text)
        else:
            assert not a.dimensionless_units, a.key


def test_aliases_are_units_of_their_analyte():
    for a in analytes().values():
        for source in a.unit_aliases:
            spec = a.unit_for(source)
            assert a.unit is not None and spec.dimensionality == a.unit.dimensionality


@pytest.mark.parametrize(
    ("value", "unit", "grams_per_litre"),
    [
        ("6.206", "mmol/L", 100),  # 10 g/dL
        ("0.6206", "mmol/L", 10),  # 1 g/dL = 0.6206 mmol/L exactly
        ("6206", "umol/L", 100),
        ("4.965", "mmol/L", Fraction(4965, 62060) * 1000),
    ],
)
def test_haemoglobin_in_mmol_per_litre(value, unit, grams_per_litre):
    a = analyte("hemoglobin")
    assert a.to_canonical(Decimal(value), a.unit_for(unit)) == grams_per_litre


def test_haemoglobin_factor_matches_the_published_one():
    with (DATA / "si_conversion_factors.csv").open(encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["si_unit"].startswith("mmol/L (Hb"))
    a = analyte("hemoglobin")
    mmol_l = a.to_canonical(1, a.unit_for("mmol/L"))  # g/L per mmol/L
    assert a.to_canonical(1, a.unit_for("g/dL")) / mmol_l == Fraction(row["factor_conv_to_si"])


@pytest.mark.parametrize("key", sorted(k for k, a in analytes().items() if a.molar_mass))
@pytest.mark.parametrize("unit", ["mol/L", "mmol/L", "umol/L", "nmol/L", "g/L", "mg/dL", "ug/mL"])
def test_every_analyte_with_a_molar_mass_takes_mass_and_molar_units(key, unit):
    a = analyte(key)
    v = a.to_canonical(Decimal(3), a.unit_for(unit))
    assert v > 0
    assert convert(v, a.unit, a.unit_for(unit), molar_mass=a.molar_mass) == 3  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "value", "mmol_per_litre"),
    [
        ("potassium", "4.1", Fraction(41, 10)),
        ("sodium", "140", 140),
        ("calcium", "5", Fraction(5, 2)),  # Ca²⁺: 2 mEq per mmol
        ("magnesium", "1.6", Fraction(4, 5)),
    ],
)
def test_milliequivalents_through_the_valence(key, value, mmol_per_litre):
    a = analyte(key)
    for text in ("mEq/L", "meq/L", "mEq/l"):
        assert a.to_canonical(Decimal(value), a.unit_for(text)) == mmol_per_litre


@pytest.mark.parametrize("key", ["phosphate", "glucose_fasting", "creatinine", "hemoglobin"])
def test_no_milliequivalents_without_a_valence(key):
    with pytest.raises(UnitError):
        analyte(key).unit_for("mEq/L")


@pytest.mark.parametrize(
    ("key", "row", "tolerance"),
    [
        ("calcium", "Calcium", Decimal("0.001")),  # 0.2495 published
        ("magnesium", "Magnesium", Decimal("0.001")),  # 0.4114
        ("phosphate", "Phosphorus", Decimal("0.001")),  # 0.3229
    ],
)
def test_electrolyte_molar_masses_match_published_factors(key, row, tolerance):
    with (DATA / "si_conversion_factors.csv").open(encoding="utf-8") as fh:
        factor = Decimal(next(r for r in csv.DictReader(fh) if r["analyte"] == row)["factor_conv_to_si"])
    a = analyte(key)
    got = a.to_canonical(1, a.unit_for("mg/dL"))
    assert abs(Decimal(got.numerator) / Decimal(got.denominator) - factor) / factor < tolerance


def test_electrolytes_have_loinc_codes_for_fhir():
    for key in ("potassium", "sodium", "calcium", "magnesium", "phosphate"):
        a = analyte(key)
        assert a.loinc and a.min is not None and a.max is not None and a.unit is not None


@pytest.mark.parametrize("text", ["mL/min/{1.73_m2}", "mL/min/1.73m2", "mL/min/1.73 m²"])
def test_egfr_is_never_a_creatinine_clearance(text):
    assert parse_unit(text).dimensionality != parse_unit("mL/min").dimensionality
    with pytest.raises(UnitError):
        analyte("crcl").unit_for(text)


# ---------------------------------------------------------------- durations (estimates)


@pytest.mark.parametrize(
    ("value", "unit", "at_least_3_months"),
    [
        ("90", "days", True),
        ("90", "d", True),
        ("13", "weeks", True),
        ("13", "wk", True),
        ("12", "week", False),
        ("89", "day", False),
        ("3", "month", True),
        ("3", "mo", True),
        ("0.25", "year", True),
        ("0.25", "a", True),
        ("2.9", "months", False),
    ],
)
def test_life_expectancy_months_are_30_days(value, unit, at_least_3_months):
    a = analyte("life_expectancy")
    threshold = a.to_canonical(3, a.unit_for("month"))
    assert threshold == 90
    assert (a.to_canonical(Decimal(value), a.unit_for(unit)) >= threshold) is at_least_3_months


def test_a_year_of_life_expectancy_is_twelve_30_day_months():
    a = analyte("life_expectancy")
    assert a.to_canonical(1, a.unit_for("year")) == 12 * a.to_canonical(1, a.unit_for("months"))
    assert a.show(a.to_canonical(3, a.unit_for("month"))) == "90 days"


def test_the_30_day_month_is_only_for_life_expectancy():
    # a month as a plain unit (rule thresholds of other analytes, pint) stays 1/12 of 365.25 d
    assert convert(1, parse_unit("month"), parse_unit("day")) == Fraction(487, 16)  # 30.4375


# -------------------------------------------------------------- through the patient file


def _profile(tmp_path: Path, lab: dict[str, object]) -> str:
    path = tmp_path / "patient.json"
    path.write_text(
        json.dumps({"id": "u1", "as_of": "2026-03-01", "labs": [{**lab, "date": "2026-02-27"}]}), "utf-8"
    )
    return str(path)


@pytest.mark.parametrize(
    ("lab", "message"),
    [
        (
            {"test": "inr", "value": 80, "unit": "%"},
            "labs[0].unit: '%' is not a unit of international normalised ratio",
        ),
        (
            {"test": "creatinine", "value": 3, "unit": "u/L"},
            "labs[0].unit: unit 'u/L': not a recognised unit; did you mean 'U/L'?",
        ),
        (
            {"test": "crcl", "value": 70, "unit": "mL/min/1.73m2"},
            "labs[0].unit: 'mL/min/1.73m2' is not a unit of creatinine clearance",
        ),
    ],
)
def test_a_unit_of_the_wrong_kind_is_one_line_and_exit_2(tmp_path, capsys, lab, message):
    path = _profile(tmp_path, lab)
    code, out, err = run_main(["screen", path], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err == f"eligimatch: error: {path}: {message}\n"


def test_haemoglobin_in_mmol_per_litre_is_read_from_a_patient_file(tmp_path, capsys):
    path = _profile(tmp_path, {"test": "hemoglobin", "value": 6.206, "unit": "mmol/L"})
    code, _, err = run_main(["screen", path], capsys)
    assert code == 0, err
