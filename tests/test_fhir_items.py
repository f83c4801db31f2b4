"""FHIR import keeps unknowns per item: an item eligimatch cannot classify stays
in its collection, unclassified, so only the criteria that could match it are unknown, they name
it, and every other criterion still decides.  Adversarial cases: a deleted coding, text only, a
code under the wrong system, an entered-in-error duplicate, an unknown drug, an unknown site.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from eligimatch.api import parse_patient
from eligimatch.engine import EvalContext, Outcome, load_rule_file
from eligimatch.facts import build_facts
from eligimatch.fhir import export_bundle, import_bundle, profile_json
from eligimatch.patient import Patient
from fhir_bundles import SNOMED, SUBJECT, bundle
from rulefiles import criterion, header

pytest.importorskip("fhir.resources")

AS_OF = date(2026, 11, 16)
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def condition(*codings: tuple[str, str, str], text: str | None = None, **extra: Any) -> dict[str, Any]:
    code: dict[str, Any] = {"coding": [{"system": s, "code": c, "display": d} for s, c, d in codings]}
    if text:
        code["text"] = text
    if not codings:
        del code["coding"]
    return {
        "resourceType": "Condition",
        "subject": SUBJECT,
        "code": code,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": extra.pop("clinical", "active"),
                }
            ]
        },
        "onsetDateTime": extra.pop("onset", "2020-01-01"),
        **extra,
    }


# a code in no value set (obesity, E66.9, the example, is classified since item 2)
OBESITY = condition((ICD10, "L70.0", "Acne vulgaris"), text="Acne")
HYPERTENSION = condition((SNOMED, "38341003", "Hypertensive disorder"))


def procedure(code: str, display: str, performed: str) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "status": "completed",
        "subject": SUBJECT,
        "code": {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display},
        "performedDateTime": performed,
    }


def statement(text: str, start: str = "2025-01-01", rxnorm: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if rxnorm:
        concept["coding"] = [{"system": RXNORM, "code": rxnorm, "display": text}]
    return {
        "resourceType": "MedicationStatement",
        "status": "active",
        "subject": SUBJECT,
        "medicationCodeableConcept": concept,
        "effectivePeriod": {"start": start},
    }


def facts_of(*resources: dict[str, Any]) -> Any:
    return build_facts(import_bundle(bundle(*resources), "t").patient, AS_OF)


def evaluate(tmp_path: Path, logic: str, *resources: dict[str, Any], kind: str = "inclusion") -> Outcome:
    path = tmp_path / "t.toml"
    path.write_text(
        header() + criterion(logic, "I1" if kind == "inclusion" else "E1", kind), encoding="utf-8"
    )
    trial = load_rule_file(path)
    crit = trial.criteria[0]
    return crit.node.evaluate(
        facts_of(*resources), EvalContext(trial.id, crit.id, trial.meta.lab_max_age_days)
    )


AUTOIMMUNE = '{ exists = "conditions", where = { category = "autoimmune" } }'
HYPERTENSIVE = '{ exists = "conditions", where = { type = "hypertension" } }'


# ---------------------------------------------------------------- conditions


def test_an_unclassified_condition_stays_on_the_list_with_its_code_and_text():
    result = import_bundle(bundle(OBESITY, HYPERTENSION), "t")
    conditions = result.patient.conditions or []
    assert [c.type for c in conditions] == [None, "hypertension"]
    assert conditions[0].name == "Acne" and conditions[0].code is not None
    assert conditions[0].code.code == "L70.0"
    assert any(
        "type left unrecorded: condition code not in eligimatch's condition table" in f.line()
        for f in result.of_kind("unmapped")
    )
    assert not any("conditions left unrecorded" in f.line() for f in result.findings)


def test_only_criteria_it_could_match_are_unknown_and_they_name_it(tmp_path):
    out = evaluate(tmp_path, AUTOIMMUNE, OBESITY, HYPERTENSION)
    assert out.value is None
    assert "Condition 'L70.0 Acne' could not be classified" in out.text
    # a criterion the classified item answers still decides
    assert evaluate(tmp_path, HYPERTENSIVE, OBESITY, HYPERTENSION).value is True


def test_an_unclassified_item_never_lets_an_exclusion_pass(tmp_path):
    out = evaluate(tmp_path, AUTOIMMUNE, OBESITY, kind="exclusion")
    assert out.value is None  # not False: "no autoimmune disease" is not shown


def test_an_unclassified_condition_outside_the_window_does_not_matter(tmp_path):
    old = condition(
        (ICD10, "L70.0", "Acne"), clinical="resolved", onset="2010-01-01", abatementDateTime="2012-01-01"
    )
    logic = '{ exists = "conditions", where = { category = "autoimmune" }, current = true }'
    assert evaluate(tmp_path, logic, old, HYPERTENSION).value is False


@pytest.mark.parametrize(
    "cond",
    [
        condition(text="Obesity"),  # the coding deleted
        condition((SNOMED, "I10", "Essential hypertension")),  # ICD code, wrong system
        condition(("http://example.org/local-codes", "38341003", "Hypertension")),  # local system
        condition(),  # nothing at all
    ],
    ids=["text-only", "icd-code-as-snomed", "snomed-code-in-local-system", "empty"],
)
def test_text_only_wrong_system_or_no_code_stays_unclassified(tmp_path, cond):
    (item,) = import_bundle(bundle(cond), "t").patient.conditions or []
    assert item.type is None
    assert evaluate(tmp_path, HYPERTENSIVE, cond).value is None


def test_an_entered_in_error_duplicate_is_ignored_and_listed(tmp_path):
    wrong = condition(
        (SNOMED, "24700007", "Multiple sclerosis"),
        verificationStatus={
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "entered-in-error",
                }
            ]
        },
    )
    result = import_bundle(bundle(HYPERTENSION, wrong), "t")
    assert [c.type for c in result.patient.conditions or []] == ["hypertension"]
    assert any("entered-in-error" in f.line() for f in result.of_kind("skipped"))
    assert evaluate(tmp_path, AUTOIMMUNE, HYPERTENSION, wrong).value is False


def test_an_unclassified_condition_keeps_hiv_from_being_ruled_out_by_the_problem_list(tmp_path):
    logic = '{ evidence = "hiv" }'
    assert evaluate(tmp_path, logic, HYPERTENSION).value is False  # a classified list
    out = evaluate(tmp_path, logic, HYPERTENSION, OBESITY)
    assert out.value is None and "Condition 'L70.0 Acne' could not be classified" in out.text


def test_inactive_and_remission_are_never_read_as_resolved():
    for status in ("inactive", "remission"):
        (item,) = (
            import_bundle(
                bundle(condition((SNOMED, "24700007", "MS"), clinical=status)), "t"
            ).patient.conditions
            or []
        )
        assert item.status == "controlled"


# ---------------------------------------------------------------- treatments and medications

SURGERY_4W = '{ exists = "treatments", where = { type = "surgery" }, within = "P4W" }'


def test_an_unknown_procedure_is_an_unclassified_treatment(tmp_path):
    lp = procedure("277762005", "Lumbar puncture", "2026-11-01")
    result = import_bundle(bundle(lp), "t")
    (tr,) = result.patient.treatments or []
    assert tr.type is None and tr.name == "Lumbar puncture"
    out = evaluate(tmp_path, SURGERY_4W, lp)
    assert out.value is None and "Treatment 'Lumbar puncture' could not be classified" in out.text
    # long ago: outside the window, the criterion decides
    assert (
        evaluate(tmp_path, SURGERY_4W, procedure("277762005", "Lumbar puncture", "2020-03-01")).value is False
    )
    assert facts_of(lp).scalars["amputee"] is None  # it might have been one


def test_an_unknown_drug_leaves_class_questions_unknown_and_names_it(tmp_path):
    logic = '{ exists = "medications", where = { classes = "antihypertensive" }, current = true }'
    out = evaluate(tmp_path, logic, statement("zorbatinib 10 mg"))
    assert out.value is None and "zorbatinib" in out.text
    # a known drug beside it still answers
    assert (
        evaluate(tmp_path, logic, statement("zorbatinib 10 mg"), statement("amlodipine 5 mg")).value is True
    )
    anticancer = '{ exists = "treatments", where = { type = "chemotherapy" } }'
    assert evaluate(tmp_path, anticancer, statement("zorbatinib 10 mg"), kind="exclusion").value is None


def test_a_known_non_anticancer_drug_is_not_put_among_the_treatments():
    result = import_bundle(bundle(statement("amlodipine 5 mg")), "t")
    assert result.patient.treatments is None
    assert [m.name for m in result.patient.medications or []] == ["amlodipine 5 mg"]


# ---------------------------------------------------------------- metastases


def test_a_metastasis_at_a_site_eligimatch_cannot_read_is_kept_with_its_site_unknown(tmp_path):
    met = condition(
        (SNOMED, "128462008", "Secondary malignant neoplastic disease"),
        bodySite=[{"coding": [{"system": SNOMED, "code": "71854001", "display": "Colon structure"}]}],
        meta={
            "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-secondary-cancer-condition"]
        },
    )
    (item,) = import_bundle(bundle(met), "t").patient.metastases or []
    assert item.site is None and item.status == "active"
    out = evaluate(tmp_path, '{ exists = "metastases", where = { site = "liver" } }', met)
    assert out.value is None and "site could not be classified" in out.text
    assert "metastatic_organ_count" in facts_of(met).quantity_gaps


# ---------------------------------------------------------------- the profile and the trip back


def test_unclassified_items_survive_profile_json_and_export():
    result = import_bundle(
        bundle(
            OBESITY,
            HYPERTENSION,
            statement("zorbatinib"),
            procedure("277762005", "Lumbar puncture", "2026-11-01"),
        ),
        "t",
    )
    again = parse_patient(profile_json(result.patient), "again")
    assert again == result.patient
    back = import_bundle(json.loads(json.dumps(export_bundle(result.patient))), "back").patient
    assert [c.type for c in back.conditions or []] == [None, "hypertension"]
    assert [t.type for t in back.treatments or []] == [None, None]


def test_an_unclassified_profile_item_needs_something_to_name_it():
    with pytest.raises(ValueError, match="needs a 'name' or a 'code'"):
        Patient.model_validate({"id": "x", "conditions": [{"status": "active"}]})
    with pytest.raises(ValueError, match="needs a 'name' or 'agents'"):
        Patient.model_validate({"id": "x", "treatments": [{"date": "2026-01-01"}]})


# ---------------------------------------------------------------- robust bundles (item 4)


def test_every_us_core_example_imports_together():
    data = Path(__file__).parent / "data" / "fhir" / "us_core"
    resources = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(data.glob("*.json"))]
    raw = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": "2026-01-01T00:00:00Z",
        "entry": [{"resource": r} for r in resources],
    }
    result = import_bundle(raw, "us-core")
    assert not any("not valid FHIR" in f.line() for f in result.findings)
    assert {x.test for x in result.patient.labs or []} >= {"hemoglobin", "platelets", "wbc"}
    assert "DiagnosticReport/cbc" in [f.resource for f in result.of_kind("skipped")]


def test_a_searchset_with_include_entries_and_references_resolved_in_the_bundle():
    base = "https://ehr.example/fhir"
    med = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {
            "coding": [{"system": RXNORM, "code": "17767", "display": "amlodipine"}],
            "text": "amlodipine 5 mg tablet",
        },
    }
    request = {
        "resourceType": "MedicationRequest",
        "id": "r1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"{base}/Patient/p1"},
        "medicationReference": {"reference": "Medication/m1"},
        "dosageInstruction": [{"timing": {"repeat": {"boundsPeriod": {"start": "2026-01-01"}}}}],
    }
    raw = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {"fullUrl": f"{base}/MedicationRequest/r1", "resource": request, "search": {"mode": "match"}},
            {"fullUrl": f"{base}/Medication/m1", "resource": med, "search": {"mode": "include"}},
            {
                "fullUrl": f"{base}/Patient/p1",
                "resource": {"resourceType": "Patient", "id": "p1"},
                "search": {"mode": "include"},
            },
        ],
    }
    result = import_bundle(raw, "search")
    (m,) = result.patient.medications or []
    assert m.name == "amlodipine 5 mg tablet"
    facts = build_facts(result.patient, AS_OF)
    (item,) = facts.collections["medications"] or []
    assert "antihypertensive" in item.fields["classes"]


def test_a_resource_of_another_patient_is_listed_not_read():
    other = dict(HYPERTENSION, subject={"reference": "Patient/someone-else"})
    result = import_bundle(bundle(other), "t")
    assert result.patient.conditions is None
    assert any("refers to another patient" in f.line() for f in result.of_kind("unmapped"))


# ---------------------------------------------------------------- statuses and dates (item 3)


def anc(value: float, when: str | None, status: str = "final", **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "subject": SUBJECT,
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "valueQuantity": {
            "value": value,
            "system": "http://unitsofmeasure.org",
            "code": "10*9/L",
            "unit": "10*9/L",
        },
        **extra,
    }
    if when is not None:
        res["effectiveDateTime"] = when
    return res


ANC_14D = '{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L", within_days = 14 }'


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_an_observation_entered_in_error_or_cancelled_is_ignored_and_listed(tmp_path, status):
    resources = (anc(2.0, "2026-11-10"), anc(0.5, "2026-11-12", status))
    result = import_bundle(bundle(*resources), "t")
    assert [str(x.value) for x in result.patient.labs or []] == ["2.0"]
    assert any(f"status {status}" in f.line() for f in result.of_kind("skipped"))
    assert evaluate(tmp_path, ANC_14D, *resources).value is True


def test_a_preliminary_result_is_used_and_marked():
    result = import_bundle(bundle(anc(2.0, "2026-11-10", "preliminary")), "t")
    assert len(result.patient.labs or []) == 1
    assert any("preliminary" in f.line() for f in result.of_kind("note"))


def test_data_absent_reason_gives_unknown_even_beside_an_older_result(tmp_path):
    absent = anc(2.0, "2026-11-12", dataAbsentReason={"text": "sample haemolysed"})
    del absent["valueQuantity"]
    out = evaluate(tmp_path, ANC_14D, anc(2.0, "2026-10-01"), absent)
    assert out.value is None


def test_effective_period_dates_the_result_by_its_end():
    res = anc(2.0, None, effectivePeriod={"start": "2026-11-01", "end": "2026-11-03"})
    (lab,) = import_bundle(bundle(res), "t").patient.labs or []
    assert lab.date == date(2026, 11, 3)


def test_a_result_dated_only_to_the_month_keeps_that_precision(tmp_path):
    # "2026-11" may be the newest result, or not: it cannot be shown to lie within 14 days
    out = evaluate(tmp_path, ANC_14D, anc(2.0, "2026-11"))
    assert out.value is None
    out = evaluate(tmp_path, ANC_14D, anc(2.0, "2026-10-30"), anc(0.5, "2026-11"))
    assert out.value is None  # the low November result may be the newer one
    # a fully dated result after every day of the partial one decides; the partial is listed
    result = import_bundle(bundle(anc(0.5, "2026-10"), anc(2.0, "2026-11-10")), "t")
    assert [str(x.value) for x in result.patient.labs or []] == ["2.0"]
    assert any("dated only to 2026-10-01 .. 2026-10-31" in f.line() for f in result.of_kind("note"))


@pytest.mark.parametrize("status", ["provisional", "unconfirmed", "differential"])
def test_an_unconfirmed_condition_stays_as_an_unclassified_item(tmp_path, status):
    ms = condition(
        (SNOMED, "24700007", "Multiple sclerosis"),
        verificationStatus={
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": status}
            ]
        },
    )
    conditions = import_bundle(bundle(ms, HYPERTENSION), "t").patient.conditions or []
    assert [c.type for c in conditions] == [None, "hypertension"]
    assert evaluate(tmp_path, AUTOIMMUNE, ms, HYPERTENSION, kind="exclusion").value is None
    assert evaluate(tmp_path, HYPERTENSIVE, ms, HYPERTENSION).value is True


def test_a_refuted_condition_is_ignored(tmp_path):
    ms = condition(
        (SNOMED, "24700007", "Multiple sclerosis"),
        verificationStatus={
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}
            ]
        },
    )
    assert evaluate(tmp_path, AUTOIMMUNE, ms, HYPERTENSION).value is False


@pytest.mark.parametrize(
    ("status", "period", "current"),
    [
        ("active", {"start": "2026-01-01"}, True),
        ("stopped", {"start": "2026-01-01", "end": "2026-03-01"}, False),
        ("completed", {"start": "2026-01-01", "end": "2026-03-01"}, False),
    ],
)
def test_medication_statement_status_and_period(tmp_path, status, period, current):
    res = dict(statement("amlodipine 5 mg"), status=status, effectivePeriod=period)
    logic = '{ exists = "medications", where = { classes = "antihypertensive" }, current = true }'
    assert evaluate(tmp_path, logic, res).value is current


def test_an_entered_in_error_medication_is_ignored():
    res = dict(statement("amlodipine 5 mg"), status="entered-in-error")
    result = import_bundle(bundle(res), "t")
    assert result.patient.medications is None
    assert any("entered-in-error" in f.line() for f in result.of_kind("skipped"))


# ---------------------------------------------------------------- histology from morphology and site (6)

ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"


def primary(
    *codes: tuple[str, str], morphology: str | None = None, site: str | None = None
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "subject": SUBJECT,
        "onsetDateTime": "2026-06-01",
        "meta": {
            "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]
        },
        "code": {"coding": [{"system": s, "code": c} for s, c in codes]},
    }
    if morphology:
        res["extension"] = [
            {
                "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
                "valueCodeableConcept": {"coding": [{"system": ICDO3, "code": morphology}]},
            }
        ]
    if site:
        res["bodySite"] = [{"coding": [{"system": SNOMED, "code": site}]}]
    return res


THIGH, UTERUS_SITE, BONE_SITE = "68367000", "35039007", "272673000"


@pytest.mark.parametrize(
    ("cond", "histology"),
    [
        (primary((ICD10, "C49.22"), morphology="9260/3", site=THIGH), "ESST"),
        (primary(morphology="9260/3", site=THIGH), "ESST"),
        (primary((ICD10, "C40.20"), morphology="9260/3"), "ES"),
        (primary(morphology="9260/3", site=BONE_SITE), "ES"),
        (primary((ICD10, "C54.2"), morphology="8890/3"), "ULMS"),
        (primary(morphology="8890/3", site=UTERUS_SITE), "ULMS"),
        (primary((ICD10, "C49.22"), morphology="8890/3", site=THIGH), "LMS"),
    ],
    ids=[
        "ewing-thigh-c49",
        "ewing-thigh",
        "ewing-bone-c40",
        "ewing-bone-site",
        "lms-c54.2",
        "lms-uterine-site",
        "lms-thigh",
    ],
)
def test_histology_from_morphology_and_site(cond, histology):
    d = import_bundle(bundle(cond), "t").patient.diagnosis
    assert d is not None and d.histology == histology


@pytest.mark.parametrize(
    ("cond", "why"),
    [
        (primary((ICD10, "C49.22"), morphology="8890/3", site=UTERUS_SITE), "different branches"),
        (primary(morphology="9260/3"), "morphology 9260/3 needs its organ (BONE or SOFT_TISSUE)"),
        (primary((SNOMED, "372137005"), morphology="9260/3"), "the site gives BREAST"),
    ],
    ids=["soft-tissue-code-uterine-site", "ewing-no-site", "ewing-breast"],
)
def test_disagreeing_or_incomplete_codes_leave_the_histology_unrecorded_with_a_note(cond, why):
    result = import_bundle(bundle(cond), "t")
    d = result.patient.diagnosis
    assert d is not None and d.histology is None
    assert any(why in f.line() for f in result.of_kind("unmapped")), [f.line() for f in result.findings]
