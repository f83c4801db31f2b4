"""Coded value sets: condition types, procedure kinds and unused Observation
codes defined by ICD-10 ranges and SNOMED CT codes in ``data/fhir_value_sets.toml``, with
sources; a code is in a type, or -- where the set is complete for its system -- provably outside
it; text alone never classifies."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import pytest

from eligimatch.engine import EvalContext, load_rule_file
from eligimatch.facts import build_facts
from eligimatch.fhir import import_bundle
from eligimatch.fhir.tables import in_range, tables
from eligimatch.patient import ConditionCategory, ConditionType
from eligimatch.units import analytes
from rulefiles import criterion, header

pytest.importorskip("fhir.resources")

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
WHO = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RAW = tomllib.loads(
    resources.files("eligimatch.data").joinpath("fhir_value_sets.toml").read_text(encoding="utf-8")
)


def cond(*codings: tuple[str, str], text: str | None = None) -> dict[str, Any]:
    code: dict[str, Any] = {"coding": [{"system": s, "code": c} for s, c in codings]}
    if text:
        code["text"] = text
    return {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": code,
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "onsetDateTime": "2024-01-01",
    }


def bundle(*resources_: dict[str, Any]) -> dict[str, Any]:
    patient = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1970-01-01"}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": "2026-11-16T09:00:00Z",
        "entry": [{"resource": r} for r in [patient, *resources_]],
    }


def classified(*codings: tuple[str, str], text: str | None = None) -> tuple[Any, Any]:
    (c,) = import_bundle(bundle(cond(*codings, text=text)), "t").patient.conditions or []
    return c.category, c.type


# ------------------------------------------------------------------ the data file itself


def test_every_set_has_a_vocabulary_type_a_display_and_a_source():
    categories, types = set(get_args(ConditionCategory)), set(get_args(ConditionType))
    for vs in RAW["condition"]:
        assert vs["type"] in types and vs["category"] in categories, vs["type"]
        assert vs["display"] and vs["source"]
        assert set(vs) <= {"type", "category", "display", "icd10", "snomed", "complete", "except", "source"}
    for vs in RAW["procedure"]:
        assert vs["type"] in {"not_a_treatment", "procedure", "surgery", "radiotherapy"}
        assert vs["source"]


def test_no_code_is_in_two_sets_and_every_listed_code_reads_as_its_set():
    seen: dict[str, str] = {}
    t = tables()
    for vs in RAW["condition"]:
        for code in vs.get("snomed", []):
            assert seen.setdefault(code, vs["type"]) == vs["type"], code
            assert list(t.lookup("conditions", SNOMED, code)[:2]) == [vs["category"], vs["type"]]
        for pattern in vs.get("icd10", []):
            for code in pattern.split("-"):
                hit = t.lookup("conditions", ICD10, code)
                assert hit is not None and list(hit[:2]) == [vs["category"], vs["type"]], code


def test_unused_observation_codes_are_no_analytes_code():
    analyte_codes = {c for a in analytes().values() for c in a.loinc}
    unused = set(RAW["observations_not_used"]["loinc"])
    assert not unused & analyte_codes, unused & analyte_codes


@pytest.mark.parametrize(
    ("code", "low", "high", "inside"),
    [
        ("B20", "B20", "B24", True),
        ("B24", "B20", "B24", True),
        ("B23.8", "B20", "B24", True),
        ("B25.0", "B20", "B24", False),
        ("B19.9", "B20", "B24", False),
        ("B18.1", "B18.0", "B18.1", True),
        ("B181", "B18.0", "B18.1", True),
        ("B18.10", "B18.0", "B18.1", True),
        ("B18.2", "B18.0", "B18.1", False),
    ],
)
def test_icd10_ranges_cover_everything_below_their_bounds(code, low, high, inside):
    assert in_range(code, low, high) is inside


# ------------------------------------------------------------------ reading conditions


@pytest.mark.parametrize(
    ("codings", "expected"),
    [
        ([(ICD10, "B20")], ("infection", "hiv")),
        ([(WHO, "B23.0")], ("infection", "hiv")),  # WHO ICD-10 range B20-B24
        ([(ICD10, "Z21")], ("infection", "hiv")),
        ([(ICD10, "B18.1")], ("infection", "hepatitis_b")),
        ([(ICD10, "B181")], ("infection", "hepatitis_b")),  # sent without its dot
        ([(ICD10, "B18.2")], ("infection", "hepatitis_c")),
        ([(ICD10, "E11.9")], ("metabolic", "diabetes")),
        ([(ICD10, "E11.22")], (None, None)),  # diabetes with kidney disease
        ([(ICD10, "I10")], ("cardiovascular", "hypertension")),
        ([(ICD10, "I13.0")], (None, None)),  # with heart failure and CKD
        ([(ICD10, "E66.9")], ("metabolic", "other")),  # the obesity example
        ([(ICD10, "Z59.00")], ("other", "other")),  # homelessness: of no category
        ([(SNOMED, "314529007")], ("other", "other")),  # medication review due
        ([(ICD10, "F17.210")], (None, None)),  # nicotine: not substance abuse
        ([(ICD10, "B18.9")], (None, None)),  # chronic viral hepatitis, NOS
        ([], (None, None)),  # text only (below)
    ],
)
def test_codes_classify_and_text_never_does(codings, expected):
    assert classified(*codings, text="HIV infection, hepatitis B") == expected


def test_a_combination_code_is_named_as_such():
    result = import_bundle(bundle(cond((ICD10, "E11.22"))), "t")
    assert any(
        "E11.22 is a combination code naming more than one condition" in f.line()
        for f in result.of_kind("unmapped")
    )


def test_a_code_outside_a_complete_set_contradicts_a_code_inside_it():
    # SNOMED says HIV infection; the ICD-10 code is exposure to HIV (Z20.6), which the
    # complete ICD-10 HIV set leaves out: the codes disagree, the condition stays unclassified
    result = import_bundle(bundle(cond((SNOMED, "86406008"), (ICD10, "Z20.6"))), "t")
    (c,) = result.patient.conditions or []
    assert c.type is None
    assert any(
        "its codes disagree: Z20.6 is outside the complete icd10 value set of hiv" in f.line()
        for f in result.of_kind("unmapped")
    )
    # agreeing codes classify
    assert classified((SNOMED, "86406008"), (ICD10, "B20")) == ("infection", "hiv")


def test_a_classified_finding_lets_the_criteria_decide(tmp_path: Path):
    logic = '{ exists = "conditions", where = { category = "autoimmune" } }'
    path = tmp_path / "T.toml"
    path.write_text(header() + criterion(logic, "E1", "exclusion"), encoding="utf-8")
    trial = load_rule_file(path)
    crit = trial.criteria[0]
    # obesity (classified: metabolic) is not autoimmune; acne (in no set) may be, for all we know
    for codings, value in (([(ICD10, "E66.9")], False), ([(ICD10, "L70.0")], None)):
        facts = build_facts(import_bundle(bundle(cond(*codings)), "t").patient)
        out = crit.node.evaluate(facts, EvalContext(trial.id, crit.id, trial.meta.lab_max_age_days))
        assert out.value is value, codings


# ------------------------------------------------------------------ procedures, observations


def test_an_assessment_procedure_is_not_a_treatment_and_a_vital_sign_is_not_used():
    proc = {
        "resourceType": "Procedure",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": "2026-01-01",
        "code": {"coding": [{"system": SNOMED, "code": "430193006"}]},
    }
    heart_rate = {
        "resourceType": "Observation",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-01-01",
        "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
        "valueQuantity": {"value": 72, "unit": "/min"},
    }
    result = import_bundle(bundle(proc, heart_rate), "t")
    assert not result.of_kind("unmapped")
    assert [f.why for f in result.of_kind("skipped")] == [
        "a procedure that is not a treatment (procedures table)",
        "an Observation code no criterion uses (fhir_value_sets.toml)",
    ]


# ------------------------------------------------------------------ drugs


def test_drug_sets_use_the_profiles_classes_and_do_not_shadow_the_catalogue():
    from eligimatch.patient import DrugClass

    known = set(get_args(DrugClass))
    by_rxnorm = tables().agent_by_rxnorm
    for vs in RAW["drug"]:
        assert set(vs["classes"]) <= known and vs["source"]
        assert not set(vs["rxnorm"]) & set(by_rxnorm), "the catalogue already reads it"


def statement(rxnorm: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "effectivePeriod": {"start": "2026-10-01"},
        "medicationCodeableConcept": {
            "text": text,
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm}],
        },
    }


@pytest.mark.parametrize(
    ("rxnorm", "text", "classes", "immunosuppressed"),
    [
        ("313161", "sumatriptan 50 MG Oral Tablet", [], False),  # of none of the classes
        ("807283", "Mirena 52 MG Intrauterine System", ["hormonal"], False),
        ("999999", "sumatriptan 50 MG Oral Tablet", None, None),  # code in no set: unread
    ],
)
def test_rxnorm_coded_drugs_get_their_classes(tmp_path: Path, rxnorm, text, classes, immunosuppressed):
    result = import_bundle(bundle(statement(rxnorm, text)), "t")
    (med,) = result.patient.medications or []
    assert med.classes == classes
    logic = '{ exists = "medications", where = { classes = "immunosuppressant" } }'
    path = tmp_path / "T.toml"
    path.write_text(header() + criterion(logic, "E1", "exclusion"), encoding="utf-8")
    trial = load_rule_file(path)
    crit = trial.criteria[0]
    out = crit.node.evaluate(
        build_facts(result.patient), EvalContext(trial.id, crit.id, trial.meta.lab_max_age_days)
    )
    assert out.value is immunosuppressed
