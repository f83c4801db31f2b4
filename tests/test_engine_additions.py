"""The vocabulary added for issue 3 (docs/rule-vocabulary.md): item-aware `where` tests (a
Quantity field with a unit, a date field against the item's own period or the evaluation date,
OncoTree ancestry, `any` of alternative tables), the `recorded` and `any_recorded` nodes, and
`review_exact` in histology.  Each is tested for pass, fail and unknown, and for its load-time
errors with their exact messages."""

from __future__ import annotations

import typing
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from eligimatch.compile import EvalContext, load_rule_file
from eligimatch.errors import PatientError, RuleFileError
from eligimatch.evaluate import Outcome
from eligimatch.facts import COLLECTIONS, ITEM_QUANTITY_UNITS, ONCOTREE_ITEM_FIELDS, build_facts
from eligimatch.patient import Patient, Quantity
from eligimatch.units import parse_unit
from rulefiles import criterion, header

AS_OF = date(2026, 11, 16)
ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, logic: str, *, kind: str = "inclusion", window: int | None = None) -> Path:
    extra = f"lab_max_age_days = {window}\n" if window is not None else ""
    p = tmp_path / "t.toml"
    p.write_text(header(extra=extra) + criterion(logic, "I1" if kind == "inclusion" else "E1", kind),
                 encoding="utf-8")
    return p


def evaluate(tmp_path: Path, logic: str, patient: dict[str, typing.Any], *,
             window: int | None = None, as_of: date = AS_OF) -> Outcome:
    trial = load_rule_file(write(tmp_path, logic, window=window))
    crit = trial.criteria[0]
    facts = build_facts(Patient.model_validate({"id": "t", **patient}), as_of)
    return crit.node.evaluate(facts, EvalContext(trial.id, crit.id, trial.meta.lab_max_age_days))


def load_error(tmp_path: Path, logic: str) -> tuple[str, str]:
    with pytest.raises(RuleFileError) as err:
        load_rule_file(write(tmp_path, logic))
    return err.value.problems[0]


# ---------------------------------------------------------------- Quantity fields of items

DIAMETER = ('{ exists = "lesions", where = { shortest_diameter = '
            '{ op = ">", value = 30, unit = "mm" } } }')


def lesion(**fields: typing.Any) -> dict[str, typing.Any]:
    return {"lesions": [{"site": "sacrum", "kind": "bone_metastasis_soft_tissue_mass",
                         "date": "2026-11-05", **fields}]}


@pytest.mark.parametrize(("diameter", "expected", "shown"), [
    ({"value": 3.4, "unit": "cm"}, True, "[shortest_diameter 3.4 cm = 34 mm]"),
    ({"value": 31, "unit": "mm"}, True, "[shortest_diameter 31 mm]"),
    ({"value": 1.2, "unit": "in"}, True, "= 30.48 mm"),
    ({"value": 30, "unit": "mm"}, False, "no lesion with shortest diameter > 30 mm (1 recorded)"),
    ({"value": 2.9, "unit": "cm"}, False, "(1 recorded)"),
    ({"value": 25, "unit": "mm", "comparator": "<"}, False, "(1 recorded)"),
])
def test_quantity_field_is_converted_exactly_into_the_threshold_unit(tmp_path, diameter,
                                                                      expected, shown):
    out = evaluate(tmp_path, DIAMETER, lesion(shortest_diameter=diameter))
    assert out.value is expected
    assert shown in out.text


@pytest.mark.parametrize(("fields", "missing"), [
    ({}, "sacrum (2026-11-05): shortest_diameter"),
    ({"shortest_diameter": {"value": 40, "unit": "mmHg"}},
     "sacrum (2026-11-05): shortest_diameter in a unit like mm (the unit 'mmHg' cannot be read "
     "as one)"),
    ({"shortest_diameter": {"value": 40, "unit": "furlongz"}},
     "sacrum (2026-11-05): shortest_diameter in a unit like mm (the unit 'furlongz' cannot be "
     "read as one)"),
    ({"shortest_diameter": {"value": 25, "unit": "mm", "comparator": ">"}},
     "sacrum (2026-11-05): exact shortest_diameter (a censored >25 mm cannot decide)"),
])
def test_quantity_field_missing_unreadable_or_censored_is_unknown(tmp_path, fields, missing):
    out = evaluate(tmp_path, DIAMETER, lesion(**fields))
    assert out.value is None
    assert out.missing == (missing,)


def test_quantity_field_of_conditions_volume(tmp_path):
    logic = ('{ exists = "conditions", where = { type = "other_bleeding", volume = '
             '{ op = ">", value = 30, unit = "mL" } } }')
    bleed = {"category": "bleeding", "type": "other_bleeding", "status": "resolved",
             "onset": "2026-10-01", "resolved": "2026-10-02"}
    out = evaluate(tmp_path, logic, {"conditions": [{**bleed, "volume": {"value": 0.05,
                                                                         "unit": "L"}}]})
    assert out.value is True and "[volume 0.05 L = 50 mL]" in out.text
    out = evaluate(tmp_path, logic, {"conditions": [{**bleed, "volume": {"value": 30,
                                                                         "unit": "mL"}}]})
    assert out.value is False


# ---------------------------------------------------------------- date fields of items

WITHIN_3M = ('{ exists = "treatments", where = { progression_date = [ { op = ">=", ref = "start" }, '
             '{ op = "<=", ref = "end", plus = "P3M" } ] } }')


def treatment(**fields: typing.Any) -> dict[str, typing.Any]:
    return {"treatments": [{"type": "chemotherapy", "agents": ["doxorubicin"], **fields}]}


@pytest.mark.parametrize(("fields", "expected"), [
    ({"start": "2026-03-01", "end": "2026-06-30", "progression_date": "2026-09-30"}, True),
    ({"start": "2026-03-01", "end": "2026-06-30", "progression_date": "2026-10-01"}, False),
    ({"start": "2026-03-01", "end": "2026-06-30", "progression_date": "2026-02-27"}, False),
    ({"start": "2026-03-01", "end": "2026-06-30", "progression_date": "2026-03-01"}, True),
    # still going on: the end is open, later than any date
    ({"start": "2026-03-01", "ongoing": True, "progression_date": "2026-11-01"}, True),
    # a single-day treatment: start and end are its date
    ({"date": "2026-07-01", "progression_date": "2026-10-01"}, True),
])
def test_date_field_against_the_items_own_period(tmp_path, fields, expected):
    assert evaluate(tmp_path, WITHIN_3M, treatment(**fields)).value is expected


def test_calendar_months_clamp_to_the_end_of_the_month(tmp_path):
    as_of = date(2027, 4, 1)
    base = {"start": "2026-09-01", "end": "2026-11-30"}
    assert evaluate(tmp_path, WITHIN_3M, treatment(**base, progression_date="2027-02-28"),
                    as_of=as_of).value is True
    assert evaluate(tmp_path, WITHIN_3M, treatment(**base, progression_date="2027-03-01"),
                    as_of=as_of).value is False


@pytest.mark.parametrize(("fields", "missing"), [
    ({"start": "2026-03-01", "end": "2026-06-30"},
     "chemotherapy (2026-03-01 to 2026-06-30): progression_date"),
    ({"start": "2026-03-01", "progression_date": "2026-09-01"},
     "chemotherapy (2026-03-01): end date (or ongoing)"),
    ({"end": "2026-06-30", "progression_date": "2026-09-01"},
     "chemotherapy (until 2026-06-30): start date"),
])
def test_date_field_or_reference_date_missing_is_unknown(tmp_path, fields, missing):
    out = evaluate(tmp_path, WITHIN_3M, treatment(**fields))
    assert out.value is None
    assert out.missing == (missing,)


def test_date_field_after_start_plus_weeks(tmp_path):
    logic = ('{ exists = "treatments", where = { progression_date = '
             '{ op = ">", ref = "start", plus = "P12W" } } }')
    base = {"start": "2026-01-10", "end": "2026-08-01"}
    # 2026-01-10 + 12 weeks = 2026-04-04
    assert evaluate(tmp_path, logic, treatment(**base, progression_date="2026-04-04")
                    ).value is False
    out = evaluate(tmp_path, logic, treatment(**base, progression_date="2026-04-05"))
    assert out.value is True
    assert "treatment with progression date > start + 12 weeks" in out.text
    assert "[progression_date 2026-04-05, start 2026-01-10]" in out.text


def test_date_field_against_the_evaluation_date(tmp_path):
    logic = ('{ exists = "conditions", where = { type = "pulmonary_embolism", onset = '
             '{ op = ">", ref = "as_of", minus = "P12M" } } }')
    pe = {"category": "thromboembolic", "type": "pulmonary_embolism", "status": "controlled"}
    out = evaluate(tmp_path, logic, {"conditions": [{**pe, "onset": "2025-12-10"}]})
    assert out.value is True
    assert "onset > the evaluation date − 12 months" in out.text
    assert "[onset 2025-12-10]" in out.text
    # exactly 12 months before 2026-11-16 is outside; 13 months is outside
    for onset in ("2025-11-16", "2025-10-10"):
        assert evaluate(tmp_path, logic, {"conditions": [{**pe, "onset": onset}]}).value is False
    out = evaluate(tmp_path, logic, {"conditions": [pe]})
    assert out.value is None
    assert out.missing == ("pulmonary embolism (date not recorded): onset",)


def test_ongoing_item_shows_its_open_end(tmp_path):
    logic = '{ exists = "treatments", where = { progression_date = { op = "<=", ref = "end" } } }'
    out = evaluate(tmp_path, logic, treatment(start="2026-01-10", ongoing=True,
                                              progression_date="2026-06-01"))
    assert out.value is True and "end ongoing" in out.text
    logic = '{ exists = "treatments", where = { progression_date = { op = ">", ref = "end" } } }'
    assert evaluate(tmp_path, logic, treatment(start="2026-01-10", ongoing=True,
                                               progression_date="2026-06-01")).value is False


# ---------------------------------------------------------------- OncoTree ancestry of item codes

def malignancy(code: str | None) -> dict[str, typing.Any]:
    m: dict[str, typing.Any] = {"description": "other cancer", "date": "2024-01-01",
                                "status": "remission", "resolved": "2024-06-01"}
    if code is not None:
        m["histology"] = code
    return {"other_malignancies": [m]}


@pytest.mark.parametrize(("test", "code", "expected"), [
    ("under", "IDC", True),          # below BREAST
    ("under", "BREAST", True),       # the code itself
    ("under", "LUAD", False),
    ("not_under", "IDC", False),
    ("not_under", "LUAD", True),
    ("under", "XYZ", None),          # not an OncoTree code: unknown, whatever the polarity
    ("not_under", "XYZ", None),
    ("under", None, None),
    ("not_under", None, None),
])
def test_oncotree_field_by_ancestry(tmp_path, test, code, expected):
    logic = f'{{ exists = "other_malignancies", where = {{ histology = {{ {test} = ["BREAST"] }} }} }}'
    out = evaluate(tmp_path, logic, malignancy(code))
    assert out.value is expected, out.text


def test_oncotree_field_unknown_says_what_to_record(tmp_path):
    logic = '{ exists = "other_malignancies", where = { histology = { under = ["BREAST"] } } }'
    out = evaluate(tmp_path, logic, malignancy("XYZ"))
    assert out.missing == ("other cancer (2024-01-01 to 2024-06-01): histology as an OncoTree code "
                           "('XYZ' is not one)",)
    out = evaluate(tmp_path, logic, malignancy(None))
    assert out.missing == ("other cancer (2024-01-01 to 2024-06-01): histology (OncoTree code)",)


def test_several_tests_on_one_field_all_hold(tmp_path):
    logic = ('{ exists = "other_malignancies", where = { histology = [ { under = ["CERVIX"] }, '
             '{ not_under = ["CEAIS"] } ] } }')
    assert evaluate(tmp_path, logic, malignancy("CESC")).value is True
    assert evaluate(tmp_path, logic, malignancy("CEAIS")).value is False
    assert evaluate(tmp_path, logic, malignancy("IDC")).value is False


# ---------------------------------------------------------------- any = [...] inside where

ANY_OF = ('{ exists = "treatments", where = { classes = "anthracycline", any = [ '
          '{ stopped_for_toxicity = true }, { intent = "adjuvant", best_response = "PD" } ] } }')


@pytest.mark.parametrize(("fields", "expected", "missing"), [
    ({"stopped_for_toxicity": True}, True, ()),
    ({"stopped_for_toxicity": False, "intent": "adjuvant", "best_response": "PD"}, True, ()),
    ({"stopped_for_toxicity": False, "intent": "palliative"}, False, ()),
    # one alternative false, the other unknown: unknown, naming only what the unknown one needs
    ({"stopped_for_toxicity": False, "intent": "adjuvant"}, None,
     ("chemotherapy (2026-01-01 to 2026-03-01): best_response",)),
    # an alternative true decides, whatever the other lacks
    ({"intent": "adjuvant", "best_response": "PD"}, True, ()),
    ({"intent": "palliative"}, None,
     ("chemotherapy (2026-01-01 to 2026-03-01): stopped_for_toxicity",)),
])
def test_any_inside_where_is_kleene_or_of_kleene_ands(tmp_path, fields, expected, missing):
    out = evaluate(tmp_path, ANY_OF, treatment(classes=["anthracycline"], start="2026-01-01",
                                               end="2026-03-01", **fields))
    assert out.value is expected
    assert out.missing == missing


def test_any_inside_where_describes_its_alternatives(tmp_path):
    out = evaluate(tmp_path, ANY_OF, {"treatments": []})
    assert out.text == ("no treatment with anthracycline, either stopped for intolerable toxicity "
                        "or (adjuvant and with best response PD) (0 recorded)")


def test_any_may_nest_and_mix_item_aware_tests(tmp_path):
    logic = ('{ exists = "treatments", where = { any = [ { classes = "anthracycline", any = [ '
             '{ stopped_for_toxicity = true }, { progression_date = { op = "<=", ref = "end", '
             'plus = "P3M" } } ] }, { agents = ["doxorubicin"] } ] } }')
    out = evaluate(tmp_path, logic, treatment(classes=["anthracycline"], start="2026-01-01",
                                              end="2026-03-01", progression_date="2026-05-01"))
    assert out.value is True and "[progression_date 2026-05-01, end 2026-03-01]" in out.text
    out = evaluate(tmp_path, logic, {"treatments": [{"type": "chemotherapy", "agents": ["Doxorubicin"],
                                                     "start": "2026-01-01", "end": "2026-03-01"}]})
    assert out.value is True


# ---------------------------------------------------------------- recorded

def lab(test: str, value: float, unit: str, day: str, **extra: typing.Any) -> dict[str, typing.Any]:
    return {"test": test, "value": value, "unit": unit, "date": day, **extra}


@pytest.mark.parametrize(("logic", "labs", "expected", "text"), [
    ('{ recorded = "anc" }', [lab("anc", 3.1, "10^9/L", "2026-11-10")], True,
     "ANC 3.1 ×10⁹/L (2026-11-10) recorded within 14 days"),
    ('{ recorded = "anc" }', [lab("anc", 3.1, "10^9/L", "2026-11-02")], True,
     "recorded within 14 days"),
    ('{ recorded = "anc" }', [lab("anc", 3.1, "10^9/L", "2026-11-01")], None,
     "ANC from 2026-11-01 is 15 days old; a result within 14 days is needed"),
    ('{ recorded = "anc" }', [], None, "ANC not recorded (needed: ANC within 14 days)"),
    ('{ recorded = "anc", within_days = 30 }', [lab("anc", 3.1, "10^9/L", "2026-11-01")], True,
     "recorded within 30 days"),
    ('{ recorded = "anc", recency = "none" }', [lab("anc", 3.1, "10^9/L", "2020-01-01")], True,
     "ANC 3.1 ×10⁹/L (2020-01-01) recorded"),
    # a value that fails every threshold is still a recorded value: `recorded` is never False
    ('{ recorded = "anc" }', [lab("anc", 0.1, "10^9/L", "2026-11-10")], True, "recorded"),
])
def test_recorded_is_true_or_unknown_never_false(tmp_path, logic, labs, expected, text):
    out = evaluate(tmp_path, logic, {"labs": labs}, window=14)
    assert out.value is expected
    assert text in out.text
    if expected is None:
        assert out.missing


def test_recorded_missing_names_what_to_record(tmp_path):
    out = evaluate(tmp_path, '{ recorded = "anc" }', {"labs": []}, window=14)
    assert out.missing == ("ANC within 14 days",)
    out = evaluate(tmp_path, '{ recorded = "anc" }', {"labs": [lab("anc", 3, "10^9/L", "2026-10-01")]},
                   window=14)
    assert out.missing == ("recent ANC within 14 days",)
    out = evaluate(tmp_path, '{ recorded = "anc" }', {"labs": [lab("anc", 3, "10^9/L", "2026-11-10"),
                                                               lab("anc", 1, "10^9/L", "2026-11-10")]},
                   window=14)
    assert out.value is None and out.missing == ("a single ANC result within 14 days",)


def test_recorded_profile_quantity_ages_with_its_catalogue_window(tmp_path):
    # ECOG ages (analytes.toml max_age_days = 28): undated or old is unknown, never recorded
    out = evaluate(tmp_path, '{ recorded = "ecog" }', {"ecog": {"value": 1}}, window=14)
    assert out.value is None and out.missing == ("date of ECOG",)
    out = evaluate(tmp_path, '{ recorded = "ecog" }', {"ecog": {"value": 1, "date": "2026-09-01"}},
                   window=14)
    assert out.value is None and out.missing == ("recent ECOG within 28 days",)
    out = evaluate(tmp_path, '{ recorded = "ecog" }', {"ecog": {"value": 1, "date": "2026-11-01"}},
                   window=14)
    assert out.value is True
    out = evaluate(tmp_path, '{ recorded = "ecog", recency = "none" }', {"ecog": {"value": 1}},
                   window=14)
    assert out.value is True


# ---------------------------------------------------------------- any_recorded

HBV = ('{ any_recorded = [ { quantity = "hbv_dna_iu", op = ">", value = 2000, unit = "IU/mL" }, '
       '{ quantity = "hbv_dna_copies", op = ">", value = 1e4, unit = "copies/mL" } ]')
CARRIER = ('{ exists = "conditions", where = { type = "hepatitis_b", status = '
           '{ not = "resolved" } } }')


@pytest.mark.parametrize(("labs", "expected", "text"), [
    ([lab("hbv_dna_iu", 3500, "IU/mL", "2026-11-10")], True,
     "HBV DNA 3500 IU/mL (2026-11-10) > 2000 IU/mL"),
    ([lab("hbv_dna_iu", 2000, "[IU]/mL", "2026-11-10")], False,
     "HBV DNA 2000 IU/mL (2026-11-10) ≤ 2000 IU/mL"),
    # copies are compared with the copies threshold only, never with 2000 IU/mL
    ([lab("hbv_dna_copies", 8000, "copies/mL", "2026-11-10")], False,
     "HBV DNA 8000 copies/mL (2026-11-10) ≤ 10000 copies/mL"),
    ([lab("hbv_dna_copies", 2.5e4, "{copies}/mL", "2026-11-10")], True, "> 10000 copies/mL"),
    ([lab("hbv_dna_iu", 20, "IU/mL", "2026-11-10", comparator="<")], False,
     "HBV DNA <20 IU/mL (2026-11-10) ≤ 2000 IU/mL"),
    # both reported: either above its own threshold decides
    ([lab("hbv_dna_iu", 500, "IU/mL", "2026-11-10"),
      lab("hbv_dna_copies", 2e4, "copies/mL", "2026-11-10")], True, "> 10000 copies/mL"),
    ([lab("hbv_dna_iu", 500, "IU/mL", "2026-11-10"),
      lab("hbv_dna_copies", 2e3, "copies/mL", "2026-11-10")], False, "≤ 2000 IU/mL"),
    # a stale result is unknown; it does not fall back on `otherwise`
    ([lab("hbv_dna_iu", 20, "IU/mL", "2026-08-01", comparator="<")], None, "107 days old"),
    # conflicting results count as a result: unknown, not `otherwise`
    ([lab("hbv_dna_iu", 20, "IU/mL", "2026-11-10"),
      lab("hbv_dna_iu", 5000, "IU/mL", "2026-11-10")], None, "2 different results"),
])
def test_any_recorded_compares_each_result_in_its_own_unit(tmp_path, labs, expected, text):
    out = evaluate(tmp_path, HBV + ", otherwise = " + CARRIER + " }", {"labs": labs,
                                                                     "conditions": []}, window=14)
    assert out.value is expected
    assert text in out.text


def test_any_recorded_without_results_uses_otherwise(tmp_path):
    logic = HBV + ", otherwise = { all = [ " + CARRIER + ', { recorded = "hbv_dna_iu" } ] } }'
    out = evaluate(tmp_path, logic, {"conditions": []}, window=14)
    assert out.value is False
    assert out.text.startswith("no HBV DNA in IU/mL or HBV DNA in copies/mL recorded; no unresolved "
                               "hepatitis B")
    carrier = {"category": "infection", "type": "hepatitis_b", "status": "controlled"}
    out = evaluate(tmp_path, logic, {"conditions": [carrier]}, window=14)
    assert out.value is None and out.missing == ("HBV DNA within 14 days",)
    out = evaluate(tmp_path, logic, {}, window=14)
    assert out.value is None and "conditions" in out.missing


def test_any_recorded_without_results_or_otherwise_is_unknown(tmp_path):
    out = evaluate(tmp_path, HBV + " }", {"labs": []}, window=14)
    assert out.value is None
    assert out.text == "no HBV DNA in IU/mL or HBV DNA in copies/mL recorded"
    assert out.missing == ("HBV DNA in IU/mL or HBV DNA in copies/mL",)


def test_any_recorded_otherwise_review_marks_the_criterion(tmp_path):
    trial = load_rule_file(write(tmp_path, HBV + ', otherwise = { review = "q?" } }'))
    assert trial.criteria[0].needs_review
    trial = load_rule_file(write(tmp_path, HBV + " }"))
    assert not trial.criteria[0].needs_review


def test_iu_and_copies_are_never_converted_into_each_other():
    with pytest.raises(PatientError) as err:
        build_facts(Patient.model_validate({"id": "t", "labs": [
            lab("hbv_dna_iu", 3500, "copies/mL", "2026-11-10")]}), AS_OF, "t.json")
    assert "labs[0].unit: 'copies/mL' is not a unit of HBV DNA (international units)" in str(err.value)


# ---------------------------------------------------------------- histology review_exact

REVIEW_EXACT = ('{ histology = { include = ["TISSUE"], exclude = ["SCLC"], '
                'review_exact = ["TISSUE", "LUNG"] } }')


@pytest.mark.parametrize(("code", "expected", "text"), [
    ("LUAD", True, "Lung Adenocarcinoma (LUAD) is under Tissue (TISSUE), which is listed"),
    ("SCLC", False, "Small Cell Lung Cancer (SCLC) is listed as an exception"),
    ("LUNG", None, "histology Lung (LUNG) does not say the histological type: needs clinician "
                   "review"),
    ("TISSUE", None, "does not say the histological type"),
])
def test_review_exact_applies_to_the_code_itself_not_its_descendants(tmp_path, code, expected,
                                                                      text):
    out = evaluate(tmp_path, REVIEW_EXACT, {"diagnosis": {"histology": code}})
    assert out.value is expected
    assert text in out.text
    if expected is None:
        assert out.review == (f"whether histology {out.text.split('histology ')[1].split(' does')[0]}"
                              " counts for this criterion",)


# ---------------------------------------------------------------- load-time errors

@pytest.mark.parametrize(("logic", "field", "message"), [
    # Quantity fields
    ('{ exists = "lesions", where = { shortest_diameter = { op = ">", value = 30, unit = "mL" } } }',
     "logic.where.shortest_diameter.unit",
     "'mL' is not a unit of shortest_diameter (expected a unit like mm)"),
    ('{ exists = "lesions", where = { shortest_diameter = { op = ">", value = 30 } } }',
     "logic.where.shortest_diameter",
     "compare shortest_diameter as { op, value, unit }, e.g. unit = 'mm'; got op, value"),
    ('{ exists = "lesions", where = { shortest_diameter = { op = ">", value = 30, '
     'unit = "furlongz" } } }',
     "logic.where.shortest_diameter.unit", "unit 'furlongz': not a recognised unit"),
    ('{ exists = "lesions", where = { shortest_diameter = { op = "=>", value = 30, unit = "mm" } } }',
     "logic.where.shortest_diameter.op", "expected one of < <= > >= == !=, got '=>'"),
    ('{ exists = "lesions", where = { shortest_diameter = { op = ">", value = "big", '
     'unit = "mm" } } }',
     "logic.where.shortest_diameter.value", "expected a number, got 'big'"),
    ('{ exists = "lesions", where = { site = { op = ">", value = 3, unit = "mm" } } }',
     "logic.where.site", "site of lesions is not a quantity with a unit"),
    # date fields
    ('{ exists = "treatments", where = { progression_date = { op = "<=", ref = "finish" } } }',
     "logic.where.progression_date.ref",
     "expected 'start' or 'end' (the item's own period) or 'as_of' (the evaluation date), "
     "got 'finish'"),
    ('{ exists = "treatments", where = { progression_date = { op = "<=", ref = "end", '
     'plus = "3 months" } } }',
     "logic.where.progression_date.plus",
     "duration '3 months': expected an ISO 8601 duration such as P4W, P6M, P5Y or P14D"),
    ('{ exists = "treatments", where = { progression_date = { op = "<=", ref = "end", '
     'plus = "P3M", minus = "P1M" } } }',
     "logic.where.progression_date", "give plus or minus, not both"),
    ('{ exists = "treatments", where = { progression_date = { op = "<=" } } }',
     "logic.where.progression_date",
     "compare the date progression_date as { op, ref, plus | minus }; got op"),
    ('{ exists = "treatments", where = { progression_date = { op = "~", ref = "end" } } }',
     "logic.where.progression_date.op", "expected one of < <= > >= == !=, got '~'"),
    ('{ exists = "treatments", where = { name = { op = "<=", ref = "end" } } }',
     "logic.where.name", "name of treatments is not a date"),
    # OncoTree fields
    ('{ exists = "other_malignancies", where = { histology = { under = ["BRAST"] } } }',
     "logic.where.histology.under", "'BRAST' is not an OncoTree code; did you mean 'BREAST'?"),
    ('{ exists = "other_malignancies", where = { description = { under = ["BREAST"] } } }',
     "logic.where.description", "description of other_malignancies does not hold OncoTree codes"),
    ('{ exists = "other_malignancies", where = { histology = { under = ["BREAST"], '
     'not_under = ["IDC"] } } }',
     "logic.where.histology", "give under = [codes] or not_under = [codes]"),
    ('{ exists = "other_malignancies", where = { histology = { not_under = [] } } }',
     "logic.where.histology.not_under", "expected a non-empty list of OncoTree codes"),
    ('{ exists = "other_malignancies", where = { histology = [ { under = ["BREAST"] }, "IDC" ] } }',
     "logic.where.histology", "histology is text, got {'under': ['BREAST']}"),
    # any inside where
    ('{ exists = "treatments", where = { any = [] } }',
     "logic.where.any", "any = [...] takes a non-empty list of non-empty tables of field tests"),
    ('{ exists = "treatments", where = { any = [ {} ] } }',
     "logic.where.any", "any = [...] takes a non-empty list of non-empty tables of field tests"),
    ('{ exists = "treatments", where = { any = [ { typ = "surgery" } ] } }',
     "logic.where.any[0].typ", "treatments have no field 'typ'; did you mean 'type'?"),
    ('{ exists = "treatments", where = { any = [ { progression_date = { op = "<=", ref = "x" } } ] } }',
     "logic.where.any[0].progression_date.ref",
     "expected 'start' or 'end' (the item's own period) or 'as_of' (the evaluation date), got 'x'"),
    # recorded
    ('{ recorded = "ancc" }', "logic.recorded", "unknown quantity 'ancc'; did you mean 'anc'?"),
    ('{ recorded = "anc", within_days = -1 }', "logic.within_days",
     "expected a whole number of days"),
    ('{ recorded = "anc", recency = "never" }', "logic.recency", "expected 'default' or 'none'"),
    ('{ recorded = "anc", op = ">" }', "logic.op", "unknown key for a 'recorded' node"),
    # any_recorded
    ('{ any_recorded = [ { fact = "pregnant", is = true } ] }', "logic.any_recorded[0]",
     "any_recorded takes quantity comparisons only"),
    ('{ any_recorded = [] }', "logic.any_recorded", "expected a non-empty list of logic nodes"),
    ('{ any_recorded = [ { quantity = "hbv_dna_copies", op = ">", value = 2000, unit = "IU/mL" } ] }',
     "logic.any_recorded[0].unit",
     "unit 'IU/mL' for hbv_dna_copies: is not a unit of HBV DNA (copies) (expected a unit like "
     "copies/mL)"),
    ('{ any_recorded = [ { quantity = "hbv_dna_iu", op = ">", value = 2000, unit = "IU/mL" } ], '
     'otherwise = { fact = "pregnantt", is = true } }',
     "logic.otherwise.fact", "unknown fact 'pregnantt'; did you mean 'pregnant'?"),
    # histology review_exact
    ('{ histology = { include = ["TISSUE"], review_exact = ["LUNGG"] } }',
     "logic.histology.review_exact", "'LUNGG' is not an OncoTree code; did you mean 'LUNG'?"),
    ('{ histology = { include = ["TISSUE"], review_exact = "LUNG" } }',
     "logic.histology.review_exact", "expected a list of OncoTree codes"),
    ('{ histology = { review_exact = ["LUNG"] } }', "logic.histology",
     "expected a table with include, exclude and/or review lists (and optionally review_exact)"),
])
def test_load_time_errors_name_the_field_with_exact_messages(tmp_path, logic, field, message):
    where, msg = load_error(tmp_path, logic)
    assert where == f"criteria[I1].{field}"
    assert msg == message


# ---------------------------------------------------------------- patient model and fact tables

def test_lesion_imaging_and_pathological_fracture_are_closed_vocabularies():
    p = Patient.model_validate({"id": "t", "lesions": [{"kind": "bone_metastasis_soft_tissue_mass",
                                                        "imaging": "mri"}],
                                "conditions": [{"category": "other",
                                                "type": "pathological_fracture"}]})
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


@pytest.mark.parametrize("term", ["{ op, value, unit }", "{ op, ref", "under", "not_under",
                                  "any = [", "recorded", "any_recorded", "otherwise",
                                  "review_exact"])
def test_every_addition_is_documented(term):
    doc = (ROOT / "docs" / "rule-vocabulary.md").read_text("utf-8")
    assert term in doc
