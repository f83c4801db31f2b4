"""FHIR R4 import and export (eligimatch.fhir).

Oracles are real HL7 examples (tests/data/fhir/, CC0; see the README there): US Core lab results
as published, and mCODE example instances transcribed from their FSH source.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tomllib
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import pytest
from fhir.resources.R4B.bundle import Bundle

from eligimatch import fhir as fhir_mod
from eligimatch.api import parse_patient, read_patient, screen
from eligimatch.drugs import Open
from eligimatch.engine import load_rules
from eligimatch.errors import PatientError
from eligimatch.facts import build_facts
from eligimatch.fhir import export_bundle, import_bundle, profile_json
from eligimatch.fhir import validate as fhir_validate
from eligimatch.fhir.tables import EXT_FIELDS, tables
from eligimatch.ontology import oncotree
from eligimatch.patient import (
    ConditionCategory,
    ConditionType,
    DrugClass,
    MetastasisSite,
    Patient,
)
from eligimatch.units import analytes, parse_unit

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "fhir"
US_CORE = DATA / "us_core"
MCODE = DATA / "mcode"
PATIENTS = sorted((ROOT / "patients").glob("*.json"))
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def resource(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((US_CORE / name).read_text(encoding="utf-8"))
    return result


def bundle(*resources_: dict[str, Any], timestamp: str | None = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources_],
    }
    if timestamp:
        out["timestamp"] = timestamp
    return out


def lab(
    code: str,
    value: Any,
    ucum: str | None,
    *,
    system: str = LOINC,
    unit: str | None = None,
    date: str = "2025-12-20",
    **extra: Any,
) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value}
    if ucum is not None:
        q.update({"system": UCUM, "code": ucum, "unit": unit or ucum})
    elif unit is not None:
        q["unit"] = unit
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "effectiveDateTime": date,
        "valueQuantity": q,
        **extra,
    }


def unmapped(result: fhir_mod.FhirImport) -> list[str]:
    return [f.line() for f in result.of_kind("unmapped")]


@pytest.fixture(scope="module")
def us_core() -> fhir_mod.FhirImport:
    names = sorted(p.name for p in US_CORE.glob("*.json") if "diagnosticreport" not in p.name)
    return import_bundle(bundle(*(resource(n) for n in names)), "us-core")


@pytest.fixture(scope="module")
def rules() -> Any:
    return load_rules(None)


# ---------------------------------------------------------------- the tables


def test_every_ucum_entry_is_a_unit_eligimatch_reads_and_means_the_same():
    for code, text in tables().ucum.items():
        spec = parse_unit(text)
        try:
            direct = parse_unit(code)
        except ValueError:
            continue  # [lb_av], [in_i], wk, mo: only the table knows them
        assert direct.key == spec.key, code


def test_international_units_and_copies_never_share_a_dimension():
    iu = parse_unit(tables().ucum["[IU]/mL"])
    copies = parse_unit(tables().ucum["{copies}/mL"])
    assert iu.dimensionality != copies.dimensionality


def test_code_tables_only_use_the_profiles_vocabularies():
    t = tables()
    tree = oncotree()
    categories, types = set(get_args(ConditionCategory)), set(get_args(ConditionType))
    for category, ctype, _ in t.sections["conditions"].values():
        assert category in categories and ctype in types
    for _, _, (category, ctype, _) in t.prefixes["conditions"]:
        assert category in categories and ctype in types
    sites = set(get_args(MetastasisSite))
    assert all(v in sites for v in t.sections["metastasis_codes"].values())
    assert all(v in sites for _, _, v in t.prefixes["metastasis_codes"])
    codes = list(t.sections["cancer_codes"].values()) + [v for *_, v in t.prefixes["cancer_codes"]]
    for entry in t.sections["histology"].values():
        codes += [entry["oncotree"]] if "oncotree" in entry else list(entry["by_organ"].values())
        codes += [entry["default"]] if "default" in entry else []
        assert all(organ in tree for organ in entry.get("by_organ", {}))
    for entry in t.sections["body_sites"].values():
        if "organ" in entry:
            assert entry["organ"] in tree
        assert entry.get("metastasis_site", "lung") in sites
    assert all(code in tree for code in codes), [c for c in codes if c not in tree]
    classes = set(get_args(DrugClass))
    for agent in t.agents.values():
        assert set(agent.classes) <= classes, agent.name


def test_770_8_is_refused_and_identifies_no_analyte():
    assert "770-8" not in tables().loinc_analyte
    assert all("770-8" not in a.loinc for a in analytes().values())
    assert "751-8" in analytes()["anc"].loinc


# ---------------------------------------------------------------- US Core lab examples


def test_platelets_200_per_nanolitre_are_200_x10e9_per_litre(us_core):
    facts = build_facts(us_core.patient, None, "us-core")
    platelets = facts.quantities["platelets"]
    assert platelets.value == 200
    assert platelets.uln == 450


def test_a_reference_range_outside_the_plausible_ulns_leaves_the_lab_out(us_core):
    # the US Core creatinine example gives 0.2-0.6 mg/dL (a child's range): not a plausible adult
    # ULN, so the result is not used rather than compared with the wrong limit or with none
    assert not any(lab.test == "creatinine" for lab in us_core.patient.labs or [])
    notes = [f.line() for f in us_core.findings]
    assert any(
        "Observation/serum-creatinine" in n
        and "reference range upper limit 0.6 mg/dL "
        "is not a plausible upper limit of normal of serum creatinine"
        in n
        for n in notes
    ), notes


def test_bilirubin_unit_without_ucum_code_is_read_only_because_it_is_a_listed_ucum_code(us_core):
    # (the example's range, 2.0-7.0 mg/dL, is a newborn's: the result itself is then left out)
    notes = [f.line() for f in us_core.of_kind("note")]
    assert any("serum-total-bilirubin" in n and "unit read from the text 'mg/dL'" in n for n in notes)


def test_a_human_unit_that_is_not_a_ucum_code_is_not_guessed():
    obs = resource("Observation-serum-total-bilirubin.json")
    obs["valueQuantity"]["unit"] = "mg per dl"
    result = import_bundle(bundle(obs), "t")
    assert result.patient.labs is None
    assert any("'mg per dl' has no UCUM code" in line for line in unmapped(result))


def test_unmappable_resources_are_listed_not_dropped(us_core):
    lines = unmapped(us_core)
    assert any(
        line.startswith(
            "Observation/serum-glucose [http://loinc.org|2345-7]: LOINC "
            "2345-7 is not in eligimatch's analyte catalogue"
        )
        for line in lines
    )
    assert any(
        line.startswith("Condition/encounter-diagnosis-example1 [http://snomed.info/sct|39065001]")
        for line in lines
    )
    # an unclassifiable condition stays on the list as an unclassified item (not "none", and
    # not the whole list lost)
    (cond,) = us_core.patient.conditions or []
    assert cond.type is None and cond.name == "Burnt Ear"
    assert cond.code is not None and cond.code.code == "39065001"
    assert us_core.report()["unmapped"] == [f.__dict__ for f in us_core.of_kind("unmapped")]


def test_pregnancy_status_and_coded_medication(us_core):
    assert us_core.patient.reproductive is not None and us_core.patient.reproductive.pregnant
    (med,) = us_core.patient.medications or []
    assert med.name == "Nizatidine 15 MG/ML Oral Solution" and med.classes == []


def test_neutrophil_percentage_770_8_is_not_taken_as_anc():
    obs = lab("770-8", 62, "%")
    result = import_bundle(bundle(obs), "t")
    assert result.patient.labs is None
    (line,) = unmapped(result)
    assert "LOINC 770-8 is neutrophils per 100 leukocytes (a percentage)" in line


def test_loinc_code_needs_the_loinc_system():
    result = import_bundle(bundle(lab("751-8", 2.1, "10*9/L", system="http://example.org/lab")), "t")
    assert result.patient.labs is None and unmapped(result)


def test_anc_751_8_with_ucum_units_and_a_censored_viral_load():
    result = import_bundle(
        bundle(
            lab("751-8", 1500, "/uL"),
            lab(
                "42595-9",
                20,
                "[IU]/mL",
                **{"valueQuantity": {"value": 20, "comparator": "<", "system": UCUM, "code": "[IU]/mL"}},
            ),
        ),
        "t",
    )
    facts = build_facts(result.patient, None, "t")
    assert facts.quantities["anc"].value == Fraction(3, 2)
    hbv = facts.quantities["hbv_dna_iu"]
    assert (hbv.value, hbv.comparator) == (20, "<")


@pytest.mark.parametrize(("code", "ucum"), [("42595-9", "{copies}/mL"), ("29615-2", "[IU]/mL")])
def test_iu_and_copies_are_never_confused(code, ucum):
    result = import_bundle(bundle(lab(code, 2000, ucum)), "t")
    assert result.patient.labs is None
    assert any("is not a unit of HBV DNA" in line for line in unmapped(result))


def test_a_newer_unreadable_result_leaves_the_analyte_unrecorded():
    old = lab("751-8", 2.0, "10*9/L", date="2025-12-01")
    new = lab("751-8", 0.4, "10*9/uL-bogus", date="2025-12-20")
    result = import_bundle(bundle(old, new, lab("777-3", 200, "10*9/L")), "t")
    assert [x.test for x in result.patient.labs or []] == ["platelets"]
    assert any("ANC left unrecorded" in f.why for f in result.of_kind("note"))


def test_unreadable_reference_range_drops_the_lab_when_a_default_uln_would_replace_it():
    bad_range = {"referenceRange": [{"high": {"value": 40, "unit": "IU per litre"}}]}
    result = import_bundle(
        bundle(lab("1742-6", 30, "U/L", **bad_range), lab("777-3", 200, "10*9/L", **bad_range)), "t"
    )
    labs = {x.test: x for x in result.patient.labs or []}
    assert "alt" not in labs  # ALT has a default ULN: not silently substituted
    assert labs["platelets"].reference_range is None


def test_population_specific_reference_ranges_are_not_used_as_the_uln():
    rr = {
        "referenceRange": [
            {"high": {"value": 40, "system": UCUM, "code": "U/L"}, "appliesTo": [{"text": "men"}]}
        ]
    }
    result = import_bundle(bundle(lab("1742-6", 30, "U/L", **rr)), "t")
    assert result.patient.labs is None


def test_ucum_lower_case_litre_from_mcode():
    john = json.loads((MCODE / "mcode-basic-john-anyperson.json").read_text(encoding="utf-8"))
    hb = next(
        e["resource"] for e in john["entry"] if e["resource"]["id"] == "lab-result-observation-hemoglobin"
    )
    result = import_bundle(bundle(hb), "t")
    facts = build_facts(result.patient, None, "t")
    assert facts.quantities["hemoglobin"].value == 135  # 13.5 g/dl = 135 g/L


def test_ecog_blood_pressure_and_pregnancy():
    ecog = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "89247-1"}]},
        "effectiveDateTime": "2025-12-01",
        "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9624-3"}]},
    }
    bp = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "effectiveDateTime": "2025-12-02",
        "component": [
            {
                "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                "valueQuantity": {"value": 142, "system": UCUM, "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                "valueQuantity": {"value": 91, "system": UCUM, "code": "mm[Hg]"},
            },
        ],
    }
    preg = resource("observation-pregnancy-status.json")
    preg["valueCodeableConcept"]["coding"][0]["code"] = "60001007"
    result = import_bundle(bundle(ecog, bp, preg), "t")
    p = result.patient
    assert p.ecog is not None and p.ecog.value == 2
    (pressure,) = p.blood_pressure or []
    assert (pressure.systolic, pressure.diastolic) == (142, 91)
    assert p.reproductive is not None and p.reproductive.pregnant is False


def test_ecog_value_and_interpretation_must_agree():
    ecog = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "89247-1"}]},
        "valueInteger": 1,
        "interpretation": [{"coding": [{"system": LOINC, "code": "LA9622-7"}]}],
    }
    result = import_bundle(bundle(ecog), "t")
    assert result.patient.ecog is None
    assert any("disagree" in line for line in unmapped(result))


# ---------------------------------------------------------------- medications


def _statement(text: str, route: str | None = None, status: str = "active") -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "status": status,
        "medicationCodeableConcept": {"text": text},
        "subject": {"reference": "Patient/x"},
        "effectivePeriod": {"start": "2025-11-01"},
    }
    if route:
        res["dosage"] = [{"route": {"coding": [{"system": "http://snomed.info/sct", "code": route}]}}]
    return res


def test_an_unknown_drug_stays_in_both_lists_as_an_unclassified_item():
    result = import_bundle(bundle(_statement("prednisolone 5 mg"), _statement("zorbatinib")), "t")
    meds = result.patient.medications or []
    assert [m.name for m in meds] == ["prednisolone 5 mg", "zorbatinib"]
    assert meds[1].classes is None  # not stated: the catalogue reads what it can
    (tr,) = result.patient.treatments or []  # it may be an anticancer drug
    assert tr.type is None and tr.agents == ["zorbatinib"]
    assert any("'zorbatinib' is not in drug_classes.toml" in line for line in unmapped(result))


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("26643006", ["systemic_corticosteroid"]),  # oral
        ("6064005", []),  # topical: not systemic
        (None, None),  # route unrecorded: not guessed
    ],
)
def test_corticosteroid_classes_depend_on_a_systemic_route(route, expected):
    result = import_bundle(bundle(_statement("dexamethasone 4 mg", route)), "t")
    (med,) = result.patient.medications or []
    assert med.classes == expected
    assert result.patient.treatments is None  # a known drug: not anticancer therapy
    if expected is None:  # the catalogue leaves the classes open
        facts = build_facts(result.patient)
        (item,) = facts.collections["medications"] or []
        assert item.fields["classes"] == Open((), ("dexamethasone (route not recorded)",))


def test_anticancer_drugs_become_treatments_with_classes():
    result = import_bundle(bundle(_statement("pazopanib 800 mg", "26643006")), "t")
    (tr,) = result.patient.treatments or []
    assert tr.type == "targeted_therapy" and tr.agents == ["pazopanib"]
    assert set(tr.classes) == {"tyrosine_kinase_inhibitor", "anti_angiogenic"}
    assert result.patient.medications is None


# ---------------------------------------------------------------- mCODE examples


@pytest.fixture(scope="module")
def jenny() -> fhir_mod.FhirImport:
    raw = json.loads((MCODE / "mcode-extended-example-jenny-m.json").read_text(encoding="utf-8"))
    return import_bundle(raw, "jenny")


@pytest.fixture(scope="module")
def john() -> fhir_mod.FhirImport:
    raw = json.loads((MCODE / "mcode-basic-john-anyperson.json").read_text(encoding="utf-8"))
    return import_bundle(raw, "john")


def test_mcode_extended_example(jenny):
    p = jenny.patient
    assert (p.sex, str(p.birth_date), str(p.as_of)) == ("female", "1965-01-01", "2018-11-01")
    assert p.weight is not None and (p.weight.value, p.weight.unit) == (150, "lb")  # newest
    assert p.height is not None and (p.height.value, p.height.unit) == (65, "inch")
    assert p.ecog is not None and p.ecog.value == 0
    # breast cancer code + infiltrating duct carcinoma morphology: the finer OncoTree code
    assert p.diagnosis is not None and p.diagnosis.histology == "IDC"
    assert sorted(c.type for c in p.conditions or []) == [
        "hypertension",
        "psychiatric_disorder",
        "psychiatric_disorder",
    ]
    treatments = p.treatments or []
    anthracyclines = [t for t in treatments if "anthracycline" in (t.classes or [])]
    assert {str(t.start or t.date) for t in anthracyclines} == {"2018-04-01", "2018-04-22"}
    # one course over two volumes: one item per volume, each with its site and dose
    radio = [(t.site, t.dose_gy, t.intent) for t in treatments if t.type == "radiotherapy"]
    assert radio == [
        ("Chest wall structure (body structure)", 60, "curative"),
        ("Mediastinal lymph node structure (body structure)", 50, "curative"),
    ]
    lines = unmapped(jenny)
    # 3000 ×10³/µL of neutrophils is impossible: listed, and ANC left unrecorded
    assert any("neutrophils-jenny-m" in line and "is not a possible" in line for line in lines)
    assert p.labs is None
    skipped = {f.resource.split("/")[0] for f in jenny.of_kind("skipped")}
    # Procedure: mammography; Observation: stage groups, disease status, a pM not applicable;
    # FamilyMemberHistory: the profile records the patient's own history
    assert skipped == {"BodyStructure", "Practitioner", "Procedure", "Observation", "FamilyMemberHistory"}


def test_mcode_basic_example(john):
    p = john.patient
    assert p.diagnosis is not None and p.diagnosis.histology == "LUAD"  # adenocarcinoma, lung
    assert [(m.site, m.status) for m in p.metastases or []] == [("brain", "active")]
    assert {(c.type, c.status) for c in p.conditions or []} == {
        ("heart_failure", "active"),
        ("other", "resolved"),
    }
    gefitinib = next(t for t in p.treatments or [] if "gefitinib" in (t.agents or []))
    assert gefitinib.classes == ["tyrosine_kinase_inhibitor"]
    lines = unmapped(john)
    assert any("refers to another patient" in line for line in lines)  # Adam's Hb
    assert p.ecog is not None and p.ecog.value == 0  # Karnofsky 90 the same day agrees


def _cancer(
    code: dict[str, Any], histology: dict[str, Any] | None = None, site: dict[str, Any] | None = None
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "code": {"coding": [code]},
        "meta": {
            "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]
        },
        "subject": {"reference": "Patient/x"},
        "onsetDateTime": "2024-05-02",
    }
    if histology:
        res["extension"] = [
            {
                "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
                "valueCodeableConcept": {"coding": [histology]},
            }
        ]
    if site:
        res["bodySite"] = [{"coding": [site]}]
    return res


ICD10 = {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C49.22"}
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
THIGH = {"system": "http://snomed.info/sct", "code": "68367000"}


@pytest.mark.parametrize(
    ("cond", "histology", "site_group"),
    [
        (_cancer(ICD10, {"system": ICDO3, "code": "8858/3"}, THIGH), "DDLS", "extremity"),
        (
            _cancer({"system": "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl", "code": "C3158"}),
            "LMS",
            None,
        ),
        (_cancer({"system": "http://oncotree.mskcc.org", "code": "SYNS"}), "SYNS", None),
        (_cancer(ICD10), "SOFT_TISSUE", None),
    ],
)
def test_primary_cancer_histology_to_oncotree(cond, histology, site_group):
    d = import_bundle(bundle(cond), "t").patient.diagnosis
    assert d is not None and (d.histology, d.site_group, str(d.date)) == (histology, site_group, "2024-05-02")


def test_conflicting_cancer_codes_leave_the_histology_unrecorded():
    breast = {"system": "http://snomed.info/sct", "code": "372137005"}
    result = import_bundle(bundle(_cancer(breast, {"system": ICDO3, "code": "8890/3"})), "t")
    assert result.patient.diagnosis is not None and result.patient.diagnosis.histology is None
    assert any(
        "different branches (BREAST, LMS)" in line or "(LMS, BREAST)" in line for line in unmapped(result)
    )


def test_two_unmarked_primary_cancers_leave_the_diagnosis_unrecorded():
    a = _cancer({"system": "http://oncotree.mskcc.org", "code": "LMS"})
    b = _cancer({"system": "http://oncotree.mskcc.org", "code": "IDC"})
    result = import_bundle(bundle(a, b), "t")
    assert result.patient.diagnosis is None
    assert any("2 primary cancer Conditions" in line for line in unmapped(result))


def test_the_imported_profile_screens(jenny, rules):
    facts, results = screen(jenny.patient, rules)
    assert facts.quantities["age"].value == 53
    assert {r.verdict for r in results} <= {"eligible", "ineligible", "undetermined"}


# ---------------------------------------------------------------- round trip


def _statuses(results: list[Any]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return [(r.trial_id, r.verdict, [(c.id, c.status) for c in r.criteria]) for r in results]


ALLOWED_IN_PATIENT_EXTENSION = {
    "administrative",
    "attestations",
    "lesions",
    "life_expectancy",
    "measurable_disease",
    "reproductive",
    "toxicities",
}


@pytest.mark.parametrize("path", PATIENTS, ids=lambda p: p.stem)
def test_round_trip_through_fhir_screens_identically(path, rules):
    original = read_patient(path)
    exported = export_bundle(original, str(path))
    Bundle.model_validate(exported)  # valid FHIR R4
    text = json.dumps(exported)
    back = parse_patient(text, "bundle")  # detected by resourceType
    assert _statuses(screen(back, rules)[1]) == _statuses(screen(original, rules)[1])
    # what travels in the eligimatch extension is only what FHIR cannot say
    patient = next(e["resource"] for e in exported["entry"] if e["resource"]["resourceType"] == "Patient")
    carried = {
        k: v
        for ext in patient.get("extension", [])
        if ext["url"] == EXT_FIELDS
        for k, v in json.loads(ext["valueString"]).items()
    }
    assert set(carried) <= ALLOWED_IN_PATIENT_EXTENSION
    assert "pregnant" not in carried.get("reproductive", {})
    # the imported profile is itself a valid profile file
    again = parse_patient(profile_json(back), "again")
    assert _statuses(screen(again, rules)[1]) == _statuses(screen(original, rules)[1])


RICH: dict[str, Any] = json.loads((DATA / "profile-every-part.json").read_text(encoding="utf-8"))


def test_a_profile_using_every_part_of_the_format_survives_the_trip(rules):
    original = Patient.model_validate(RICH)
    exported = export_bundle(original, "rich")
    Bundle.model_validate(exported)
    back = import_bundle(json.loads(json.dumps(exported)), "rich").patient
    assert back.id == RICH["id"]  # not a FHIR id: carried in the extension
    assert back.labs is not None and [x.test for x in back.labs] == [x["test"] for x in RICH["labs"]]
    assert _statuses(screen(back, rules)[1]) == _statuses(screen(original, rules)[1])
    assert back.model_dump(exclude={"labs"}) == original.model_dump(exclude={"labs"})


def test_export_refuses_a_unit_it_cannot_write_in_ucum():
    p = Patient.model_validate(
        {"id": "x", "labs": [{"test": "platelets", "value": 0.0002, "unit": "10^9/mL", "date": "2026-01-01"}]}
    )
    with pytest.raises(PatientError, match=r"labs\[0\]: unit '10\^9/mL' has no UCUM code"):
        export_bundle(p, "x.json")


def test_export_is_deterministic():
    p = read_patient(PATIENTS[0])
    assert json.dumps(export_bundle(p)) == json.dumps(export_bundle(p))


def test_empty_collections_survive_only_with_a_completeness_list():
    p = read_patient(PATIENTS[0])
    exported = export_bundle(p)
    assert p.conditions == [] and import_bundle(exported, "b").patient.conditions == []
    no_lists = copy.deepcopy(exported)
    no_lists["entry"] = [e for e in no_lists["entry"] if e["resource"]["resourceType"] != "List"]
    assert import_bundle(no_lists, "b").patient.conditions is None


# ---------------------------------------------------------------- bad input


def test_the_official_us_core_cbc_report_imports():
    # as published its narrative lacks the required div: the narrative is never read, so it is
    # dropped before validation and the report is read (and skipped as a report)
    result = import_bundle(bundle(resource("diagnosticreport-cbc.json")), "dr.json")
    assert [f.resource for f in result.of_kind("skipped")] == ["DiagnosticReport/cbc"]
    assert not result.of_kind("unmapped")


def test_a_resource_that_fails_validation_is_reported_and_skipped_the_rest_read():
    bad = lab("751-8", "abc", "10*9/L")
    good = lab("777-3", 200, "10*9/L")
    result = import_bundle(bundle(bad, good), "b.json")
    assert [x.test for x in result.patient.labs or []] == ["platelets"]
    (line,) = [f.line() for f in result.of_kind("unmapped")]
    assert line.startswith(
        "Observation (entry 0): not valid FHIR R4, skipped "
        "(entry[0].resource(Observation): valueQuantity.value: "
    )
    with pytest.raises(PatientError, match="not a valid FHIR R4 Bundle"):  # the strict reader
        fhir_mod.load_bundle(bundle(bad, good), "b.json")


def test_an_invalid_patient_resource_is_an_error():
    with pytest.raises(PatientError, match="the Patient resource is not valid FHIR R4"):
        import_bundle(bundle({"resourceType": "Patient", "id": "p", "gender": 7}), "b.json")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"resourceType": "Patient", "id": "x"}, "a FHIR 'Patient' resource, not a Bundle"),
        ({"resourceType": "Bundle"}, "type: Value for the field 'type' is required"),
        (bundle({"resourceType": "Foo"}), "'Foo' is not a FHIR R4 resource type"),
        (
            bundle({"resourceType": "Patient", "id": "a"}, {"resourceType": "Patient", "id": "b"}),
            "2 Patient resources",
        ),
    ],
)
def test_bad_bundles(raw, expected):
    with pytest.raises(PatientError, match=expected):
        parse_patient(json.dumps(raw), "b.json")


def test_without_fhir_resources_installed_the_user_is_told_what_to_install(monkeypatch):
    monkeypatch.setattr(fhir_validate, "fhir_models", lambda: None)
    with pytest.raises(PatientError, match=r"reading FHIR needs .*pip install 'eligimatch\[fhir\]'"):
        parse_patient(json.dumps(bundle()), "b.json")
    with pytest.raises(PatientError, match=r"writing FHIR needs .*pip install 'eligimatch\[fhir\]'"):
        export_bundle(read_patient(PATIENTS[0]), "p.json")


def test_json_profiles_and_help_do_not_import_fhir_resources():
    code = (
        "import sys, json; from eligimatch import cli, api; "
        f"api.read_patient(__import__('pathlib').Path({str(PATIENTS[0])!r})); "
        "assert 'fhir.resources' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_fhir_package_imports_fhir_resources_only_to_read_or_write():
    """Importing eligimatch.fhir (every public name) loads neither fhir.resources nor pint."""
    code = (
        "import sys, eligimatch.fhir as f; [getattr(f, n) for n in f.__all__]; "
        "print(sorted(m for m in ('fhir.resources', 'pint', 'rule_engine') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cli_import_and_export(tmp_path):
    exe = [sys.executable, "-m", "eligimatch"]
    names = sorted(p.name for p in US_CORE.glob("*.json") if "diagnosticreport" not in p.name)
    src = tmp_path / "us-core.json"
    src.write_text(json.dumps(bundle(*(resource(n) for n in names))), encoding="utf-8")
    out, report = tmp_path / "profile.json", tmp_path / "report.json"
    proc = subprocess.run(
        [*exe, "import-fhir", str(src), "-o", str(out), "--report", str(report)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "unmapped: Observation/serum-glucose [http://loinc.org|2345-7]" in proc.stderr
    assert parse_patient(out.read_bytes(), "profile").id == "example"
    assert json.loads(report.read_text(encoding="utf-8"))["unmapped"]
    fhir_out = tmp_path / "p.fhir.json"
    proc = subprocess.run(
        [*exe, "export-fhir", str(PATIENTS[0]), "-o", str(fhir_out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([*exe, "screen", str(fhir_out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "NCT07342322" in proc.stdout


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"resourceType": "Observation"}',
        '{"resourceType": 7}',
        json.dumps(bundle({"resourceType": "Patient", "birthDate": "yesterday"})),
    ],
)
def test_cli_bad_fhir_input_is_one_line_and_exit_2(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "eligimatch", "import-fhir", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("eligimatch: error: ")


def test_data_files_are_documented_at_the_top():
    for name in ("ucum_units.toml", "fhir_codes.toml", "drug_classes.toml"):
        text = resources.files("eligimatch.data").joinpath(name).read_text(encoding="utf-8")
        assert text.startswith("# "), name
        tomllib.loads(text)
