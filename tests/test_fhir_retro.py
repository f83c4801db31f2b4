"""Retrospective screening: with an explicit ``--as-of`` earlier than some of
an extract's data (a FHIR bundle or a profile), that data is left out and listed; data after the
extract's own date stays an error."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cli_runner import run_main
from eligimatch.api import parse_patient
from eligimatch.errors import PatientError
from eligimatch.facts import build_facts
from eligimatch.fhir import import_bundle
from eligimatch.patient import Patient
from eligimatch.retro import as_of_earlier
from fhir_bundles import bundle

pytest.importorskip("fhir.resources")

ROOT = Path(__file__).resolve().parents[1]
P02 = ROOT / "patients" / "p02_lms_low_anc_ineligible.json"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SUBJECT = {"reference": "Patient/p1"}
OCT1 = date(2026, 10, 1)


def anc(value: Any, when: str, unit: str = "10*9/L") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": SUBJECT,
        "code": {"coding": [{"system": LOINC, "code": "751-8"}]},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "system": UCUM, "code": unit},
    }


def ecog(score: int, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "subject": SUBJECT,
        "code": {"coding": [{"system": LOINC, "code": "89247-1"}]},
        "effectiveDateTime": when,
        "valueInteger": score,
    }


def left_out(result: Any) -> list[str]:
    return [f.why for f in result.of_kind("left_out")]


def profile(**fields: Any) -> Patient:
    return Patient.model_validate({"id": "r1", "as_of": "2026-11-16", **fields})


# ------------------------------------------------------------------------------------ profiles


def test_profile_data_after_the_date_is_left_out_and_listed():
    notes: list[str] = []
    p = parse_patient(P02.read_bytes(), "p02.json", notes=notes, as_of=OCT1)
    facts = build_facts(p, OCT1, "p02.json")
    assert facts.as_of == OCT1
    assert p.labs == [] and p.ecog is None and p.weight is None
    chemo = (p.treatments or [])[-1]
    assert chemo.agents == ["gemcitabine", "docetaxel"]
    assert (chemo.end, chemo.ongoing, chemo.best_response) == (None, True, None)
    assert notes[:5] == [
        "p02.json: note: 1 ECOG score after 2026-10-01 not used",
        "p02.json: note: 8 lab results after 2026-10-01 not used",
        "p02.json: note: 1 life expectancy after 2026-10-01 not used",
        "p02.json: note: 1 weight after 2026-10-01 not used",
        "p02.json: note: 1 treatment ended after 2026-10-01 read as ongoing then",
    ]
    assert notes[5].startswith(
        "p02.json: note: screened as of 2026-10-01, earlier than the "
        "profile's date 2026-11-16: undated states (pregnancy"
    )
    # undated states may have been different then: not carried back
    assert p.reproductive is None and p.administrative is None and p.measurable_disease is None
    assert p.diagnosis is not None and p.diagnosis.status is None
    assert p.diagnosis.histology == "LMS"


def test_nothing_changes_on_or_after_the_profiles_date():
    raw = P02.read_bytes()
    notes: list[str] = []
    assert parse_patient(raw, "p", notes=notes, as_of=date(2026, 11, 16)) == parse_patient(raw, "p")
    assert notes == []


def test_data_after_the_profiles_own_date_stays_an_error():
    raw = json.loads(P02.read_text(encoding="utf-8"))
    raw["labs"][0]["date"] = "2026-11-20"
    p = parse_patient(json.dumps(raw), "p02.json", as_of=OCT1)
    with pytest.raises(
        PatientError,
        match=r"labs\[0\]\.date: date 2026-11-20 is after the "
        r"evaluation date 2026-10-01",
    ):
        build_facts(p, OCT1, "p02.json")


@pytest.mark.parametrize(
    ("fields", "check", "note"),
    [
        (
            {"conditions": [{"type": "pulmonary_embolism", "onset": "2026-10-20"}]},
            lambda p: p.conditions == [],
            "1 condition after 2026-10-01 not used",
        ),
        (
            {
                "conditions": [
                    {
                        "type": "deep_vein_thrombosis",
                        "onset": "2026-03-01",
                        "resolved": "2026-10-20",
                        "status": "resolved",
                    }
                ]
            },
            lambda p: p.conditions[0].status is None and p.conditions[0].resolved is None,
            "1 condition resolved after 2026-10-01 read as not resolved then (status unrecorded)",
        ),
        (
            {"conditions": [{"type": "hypertension", "status": "controlled"}]},
            lambda p: p.conditions[0].status is None,
            "1 condition with status 'controlled' read as status unrecorded (not dated on or before "
            "2026-10-01)",
        ),
        (
            {"metastases": [{"site": "liver", "status": "resolved"}]},
            lambda p: p.metastases[0].status is None,
            "1 metastasis with status 'resolved' read as status unrecorded (not dated on or before "
            "2026-10-01)",
        ),
        (
            {"metastases": [{"site": "lung", "date": "2026-10-02"}]},
            lambda p: p.metastases == [],
            "1 metastasis after 2026-10-01 not used",
        ),
        (
            {"medications": [{"name": "prednisone", "start": "2026-09-01", "end": "2026-10-15"}]},
            lambda p: (p.medications[0].end, p.medications[0].ongoing) == (None, True),
            "1 medication ended after 2026-10-01 read as ongoing then",
        ),
        (
            {"medications": [{"name": "prednisone", "ongoing": False}]},
            lambda p: p.medications[0].ongoing is None,
            "1 medication stopped on an unrecorded date read as ongoing unrecorded",
        ),
        (
            {"treatments": [{"type": "surgery", "date": "2026-10-05"}]},
            lambda p: p.treatments == [],
            "1 treatment after 2026-10-01 not used",
        ),
        (
            {
                "toxicities": [
                    {"term": "neuropathy", "grade": 2, "date": "2026-09-01", "resolved": "2026-10-15"}
                ]
            },
            lambda p: p.toxicities[0].ongoing is True,
            "1 toxicity resolved after 2026-10-01 read as ongoing then",
        ),
        (
            {"other_malignancies": [{"histology": "BRCA", "status": "cured"}]},
            lambda p: p.other_malignancies[0].status is None,
            "1 other malignancy with status 'cured' read as status unrecorded (not dated on or "
            "before 2026-10-01)",
        ),
        (
            {
                "attestations": [
                    {"trial": "T", "criterion": "C", "answer": "no", "by": "Dr A", "date": "2026-10-10"}
                ]
            },
            lambda p: p.attestations == [],
            "1 attestation after 2026-10-01 not used",
        ),
        (
            {"diagnosis": {"histology": "LMS", "date": "2026-10-10"}},
            lambda p: p.diagnosis is None,
            "1 diagnosis after 2026-10-01 not used",
        ),
    ],
)
def test_what_changed_later_is_not_carried_back(fields, check, note):
    p, notes = as_of_earlier(profile(**fields), OCT1)
    assert check(p)
    assert notes[0] == note


# ------------------------------------------------------------------------------------ bundles


def test_a_bundle_seen_earlier_uses_the_results_of_then():
    raw = bundle(
        anc(2.0, "2026-09-20"),
        anc(0.9, "2026-10-10"),
        anc(1.1, "2026-11-01"),
        anc("x", "2026-11-10", "10*9/L"),
        ecog(1, "2026-09-15"),
        ecog(3, "2026-11-10"),
    )
    raw["entry"][4]["resource"]["valueQuantity"] = {"value": 5, "system": UCUM, "code": "g/L"}
    result = import_bundle(raw, "b.json", as_of=OCT1)
    p = result.patient
    assert p.ecog is not None and (p.ecog.value, p.ecog.date) == (1, date(2026, 9, 15))
    assert [(lab.value, lab.date) for lab in p.labs or []] == [(2, date(2026, 9, 20))]
    assert left_out(result)[:2] == [
        "1 ECOG score after 2026-10-01 not used",
        "3 lab results after 2026-10-01 not used",
    ]
    # today, the unreadable newest ANC leaves ANC unrecorded and ECOG 3 is the one used
    now = import_bundle(raw, "b.json")
    assert not now.patient.labs and now.patient.ecog is not None
    assert now.patient.ecog.value == 3 and left_out(now) == []


def test_a_result_after_the_bundles_own_date_stays_an_error():
    raw = bundle(anc(2.0, "2026-09-20"), anc(0.9, "2026-12-10"))
    p = import_bundle(raw, "b.json", as_of=OCT1).patient
    with pytest.raises(PatientError, match="date 2026-12-10 is after the evaluation date"):
        build_facts(p, OCT1, "b.json")


# ------------------------------------------------------------------------------------ commands


@pytest.fixture
def bundle_file(tmp_path: Path) -> Path:
    path = tmp_path / "b.json"
    path.write_text(
        json.dumps(bundle(anc(2.0, "2026-09-20"), anc(0.9, "2026-10-10"), ecog(1, "2026-09-15"))),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("command", [["screen"], ["explain", "NCT07342322"], ["screen-batch"]])
def test_screen_explain_and_batch_screen_retrospectively(command, bundle_file, capsys):
    argv = [command[0], str(bundle_file), *command[1:], "--as-of", "2026-10-01"]
    if command[0] == "screen-batch":
        argv += ["--jobs", "1"]
    code, out, err = run_main(argv, capsys)
    assert code == 0, err
    assert "1 lab result after 2026-10-01 not used" in err
    assert "2026-10-01" in out


def test_a_retrospective_date_before_impossible_data_is_one_line_and_exit_2(tmp_path, capsys):
    raw = json.loads(P02.read_text(encoding="utf-8"))
    raw["labs"][0]["date"] = "2026-11-20"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    code, out, err = run_main(["screen", str(path), "--as-of", "2026-10-01"], capsys)
    assert code == 2 and out == ""
    (line,) = [x for x in err.splitlines() if "error" in x or "2026-11-20" in x]
    assert "labs[0].date: date 2026-11-20 is after the evaluation date 2026-10-01" in line
