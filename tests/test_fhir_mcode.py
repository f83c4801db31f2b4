"""mCODE as mCODE writes it: SecondaryCancerCondition with the generic code and
the site in bodySite, TNM categories, stage groups, tumour size, cancer disease status, ECOG and
Karnofsky, radiotherapy course summaries with doses to several volumes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from eligimatch.fhir import FhirImport, import_bundle
from fhir_bundles import SNOMED, SUBJECT, bundle

pytest.importorskip("fhir.resources")

MCODE = Path(__file__).parent / "data" / "fhir" / "mcode"
LOINC = "http://loinc.org"
AJCC = "http://cancerstaging.org"
SD = "http://hl7.org/fhir/us/mcode/StructureDefinition/"


PRIMARY = {
    "resourceType": "Condition",
    "id": "primary",
    "subject": SUBJECT,
    "meta": {"profile": [SD + "mcode-primary-cancer-condition"]},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C49.2"}]},
    "extension": [
        {
            "url": SD + "mcode-histology-morphology-behavior",
            "valueCodeableConcept": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/icd-o-3", "code": "8890/3"}]
            },
        }
    ],
    "bodySite": [{"coding": [{"system": SNOMED, "code": "68367000"}]}],
    "clinicalStatus": {"coding": [{"code": "active"}]},
    "onsetDateTime": "2026-05-01",
}


def secondary(*body: tuple[str, str], profile: bool = True, code: str = "128462008") -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Condition",
        "subject": SUBJECT,
        "code": {
            "coding": [{"system": SNOMED, "code": code, "display": "Secondary malignant neoplastic disease"}]
        },
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "onsetDateTime": "2026-09-01",
        "bodySite": [{"coding": [{"system": SNOMED, "code": c, "display": d}]} for c, d in body],
    }
    if profile:
        r["meta"] = {"profile": [SD + "mcode-secondary-cancer-condition"]}
    return r


def obs(code: tuple[str, str], when: str = "2026-10-01", **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": SUBJECT,
        "code": {"coding": [{"system": code[0], "code": code[1]}]},
        "effectiveDateTime": when,
        **value,
    }


def coded(system: str, code: str) -> dict[str, Any]:
    return {"valueCodeableConcept": {"coding": [{"system": system, "code": code}]}}


def unmapped(result: FhirImport) -> list[str]:
    return [f.line() for f in result.of_kind("unmapped")]


@pytest.fixture(scope="module")
def jenny() -> FhirImport:
    raw = json.loads((MCODE / "mcode-extended-example-jenny-m.json").read_text(encoding="utf-8"))
    return import_bundle(raw, "jenny")


@pytest.fixture(scope="module")
def john() -> FhirImport:
    raw = json.loads((MCODE / "mcode-basic-john-anyperson.json").read_text(encoding="utf-8"))
    return import_bundle(raw, "john")


# ------------------------------------------------------------------ the mCODE examples


def test_jenny_m_staging_size_and_radiotherapy(jenny):
    d = jenny.patient.diagnosis
    assert d is not None and d.stage is not None
    # pT3 pN0 (2018-04-01) are newer than cT3 cN0 cM0 (2018-03-16); pM is "not applicable"
    assert (d.stage.t, d.stage.n, d.stage.m, d.stage.system) == ("T3", "N0", "M0", "AJCC 8")
    assert d.size is not None and (d.size.value, d.size.unit, d.size.date) == (
        Decimal("2.5"),
        "cm",
        date(2018, 4, 1),
    )
    radio = [t for t in jenny.patient.treatments or [] if t.type == "radiotherapy"]
    assert [(t.site, t.dose_gy, t.start, t.end) for t in radio] == [
        ("Chest wall structure (body structure)", 60, date(2018, 8, 15), date(2018, 10, 25)),
        ("Mediastinal lymph node structure (body structure)", 50, date(2018, 8, 15), date(2018, 10, 25)),
    ]
    skipped = {f.resource: f.why for f in jenny.of_kind("skipped")}
    assert skipped["Observation/tnm-pathologic-stage-group-jenny-m"] == (
        "a TNM stage group (American Joint Committee on Cancer stage IIB (qualifier value)): the "
        "profile has no stage-group field (T, N and M are read from their own Observations)"
    )
    assert skipped["Observation/cancer-disease-status-jenny-m"] == (
        'cancer disease status "Patient\'s condition improved (finding)": the profile has no '
        "field for the course of the disease"
    )
    assert skipped["Observation/tnm-pathologic-distant-metastases-category-jenny-m"] == (
        "no M category given (Not Applicable)"
    )


def test_john_anyperson_n3_has_no_profile_equivalent_and_karnofsky_agrees(john):
    d = john.patient.diagnosis
    assert d is not None and d.stage is not None
    assert (d.stage.t, d.stage.n, d.stage.m) == ("T3", None, "M0")
    assert (
        "Observation/tnm-clinical-regional-nodes-category-cN3 [http://snomed.info/sct|"
        "399534004]: N3 has no equivalent in the profile (N0, N1, NX) (N category left "
        "unrecorded)"
    ) in unmapped(john)
    assert john.patient.ecog is not None and john.patient.ecog.value == 0
    assert not any("89243-0" in line for line in unmapped(john))


# ------------------------------------------------------------------ SecondaryCancerCondition


@pytest.mark.parametrize("profile", [True, False])
def test_generic_secondary_code_takes_its_site_from_the_body_site(profile):
    liver = secondary(("10200004", "Liver structure"), profile=profile)
    result = import_bundle(bundle(PRIMARY, liver, secondary(("59441001", "Lymph node"))), "t")
    assert [(m.site, m.status) for m in result.patient.metastases or []] == [
        ("liver", "active"),
        ("lymph_node", "active"),
    ]
    assert result.patient.conditions is None  # no comorbidity was invented
    assert not unmapped(result)


def test_generic_secondary_code_with_an_unknown_or_missing_site_is_kept_unclassified():
    result = import_bundle(bundle(PRIMARY, secondary(("1234567", "Somewhere")), secondary()), "t")
    assert [m.site for m in result.patient.metastases or []] == [None, None]
    lines = unmapped(result)
    assert any(
        "site left unrecorded: the site of the metastasis (Somewhere) cannot be read" in line
        for line in lines
    )


# ------------------------------------------------------------------ TNM categories and stage


@pytest.mark.parametrize(
    ("code", "answer", "field", "expected"),
    [
        ("399504009", (AJCC, "cT2"), "t", "T2"),
        ("371494008", (AJCC, "pN1a"), "n", "N1"),
        ("399387003", (AJCC, "cM1b"), "m", "M1"),
        ("21907-1", (SNOMED, "1229901006"), "m", "M0"),  # LOINC code for cM
    ],
)
def test_tnm_categories(code, answer, field, expected):
    system = LOINC if "-" in code else SNOMED
    result = import_bundle(bundle(PRIMARY, obs((system, code), **coded(*answer))), "t")
    d = result.patient.diagnosis
    assert d is not None and d.stage is not None and getattr(d.stage, field) == expected


def test_a_category_of_the_wrong_kind_or_another_focus_is_not_used():
    wrong = obs((SNOMED, "399504009"), **coded(AJCC, "cN0"))  # N answer to T
    other = {**obs((SNOMED, "399387003"), **coded(AJCC, "cM1")), "focus": [{"reference": "urn:uuid:99"}]}
    result = import_bundle(bundle(PRIMARY, wrong, other), "t")
    d = result.patient.diagnosis
    assert d is not None and d.stage is None
    assert any("a N0 answer to the T category" in line for line in unmapped(result))
    notes = [f.why for f in result.of_kind("note")]
    assert "1 M category Observation(s) about another focus than the index diagnosis not used" in notes


def test_clinical_and_pathological_categories_of_one_day_that_differ_leave_it_unrecorded():
    result = import_bundle(
        bundle(
            PRIMARY,
            obs((SNOMED, "399504009"), **coded(AJCC, "cT2")),
            obs((SNOMED, "384625004"), **coded(AJCC, "pT3")),
        ),
        "t",
    )
    d = result.patient.diagnosis
    assert d is not None and d.stage is None
    assert "Bundle: T category left unrecorded: 2 different values on the same date" in unmapped(result)


def test_tumour_size_longest_dimension_in_mm():
    size = obs(
        (LOINC, "21889-1"),
        component=[
            {
                "code": {"coding": [{"system": LOINC, "code": "33729-5"}]},
                "valueQuantity": {"value": 30, "system": "http://unitsofmeasure.org", "code": "mm"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "33728-7"}]},
                "valueQuantity": {"value": 62, "system": "http://unitsofmeasure.org", "code": "mm"},
            },
        ],
    )
    d = import_bundle(bundle(PRIMARY, size), "t").patient.diagnosis
    assert d is not None and d.size is not None and (d.size.value, d.size.unit) == (62, "mm")


def test_stage_without_an_index_diagnosis_is_not_attached():
    result = import_bundle(bundle(obs((SNOMED, "399504009"), **coded(AJCC, "cT2"))), "t")
    assert result.patient.diagnosis is None
    assert "T category read but not used: no index diagnosis to attach it to" in [
        f.why for f in result.of_kind("note")
    ]


# ------------------------------------------------------------------ ECOG and Karnofsky


def kps(score: int, when: str = "2026-11-10") -> dict[str, Any]:
    return obs((LOINC, "89243-0"), when, valueInteger=score)


def ecog(grade: int, when: str = "2026-11-10") -> dict[str, Any]:
    return obs((LOINC, "89247-1"), when, valueInteger=grade)


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ([kps(80)], 1),  # both tables: ECOG 1
        ([kps(100)], 0),
        ([kps(90)], None),  # ECOG 0 or 1
        ([kps(90), ecog(1)], 1),  # same day: the ECOG decides
        ([kps(80), ecog(0)], None),  # same day, disagreeing
        ([ecog(0, "2026-11-01"), kps(70)], None),  # a newer KPS 70 (ECOG 1 or 2) hides the old ECOG
        ([ecog(2, "2026-11-12"), kps(90)], 2),  # an older KPS does not matter
    ],
)
def test_karnofsky_gives_an_ecog_grade_only_where_the_tables_agree(resources, expected):
    p = import_bundle(bundle(*resources), "t").patient
    assert (p.ecog.value if p.ecog else None) == expected


def test_an_impossible_karnofsky_score_is_listed():
    result = import_bundle(bundle(kps(95)), "t")
    assert result.patient.ecog is None
    assert any("Karnofsky score 95 is not one of 0, 10, ..., 100" in line for line in unmapped(result))
