"""Facts from all the evidence (the evidence model): every case a careful reviewer found, as a
minimal profile run through ``eligimatch explain`` the way a user would, with the status line and
the explanation a clinician reads.  None of them may come out as a pass it should not be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli_runner import run_main

AS_OF = "2026-11-16"
LAB = "2026-11-10"


def _case(trial: str, criterion: str, status: str, why: str, **profile: Any) -> Any:
    return pytest.param(trial, criterion, status, why, profile, id=f"{trial}-{criterion}-{status}")


MED = {"start": "2025-06-01", "ongoing": True}

CASES = [
    # HIV, HBV and HCV from lab results, whatever the problem list says
    _case(
        "NCT06760221",
        "E11",
        "FAIL",
        "HIV Ab positive (2026-11-10), although the problem list does not record it",
        conditions=[],
        labs=[{"test": "hiv_antibody", "result": "positive", "date": LAB}],
    ),
    _case(
        "NCT06760221",
        "E11",
        "UNKNOWN",
        "needs clinician review: whether the patient has HIV infection (tenofovir",
        conditions=[],
        medications=[{"name": "tenofovir 245 mg", **MED}],
    ),
    _case(
        "NCT06110650",
        "E14.hbv",
        "FAIL",
        "HBV DNA 50000 IU/mL (2026-11-10) > 2000 IU/mL",
        conditions=[],
        labs=[{"test": "hbv_dna_iu", "value": 50000, "unit": "IU/mL", "date": LAB}],
    ),
    _case(
        "NCT06110650",
        "E14.hbv",
        "FAIL",
        "HBV DNA 50000 IU/mL",
        conditions=[{"type": "hepatitis_b", "status": "resolved"}],
        labs=[{"test": "hbv_dna_iu", "value": 50000, "unit": "IU/mL", "date": LAB}],
    ),
    _case(
        "NCT06110650",
        "E14.hcv",
        "FAIL",
        "HCV RNA 1000000 copies/mL (2026-11-10) > 1000 copies/mL",
        conditions=[],
        labs=[{"test": "hcv_rna_copies", "value": 1000000, "unit": "copies/mL", "date": LAB}],
    ),
    # classes from the drug catalogue, never from absence
    _case(
        "NCT07342322",
        "E3.immunosuppression",
        "FAIL",
        "tacrolimus 1 mg capsules",
        medications=[{"name": "tacrolimus 1 mg capsules", **MED}],
    ),
    _case(
        "NCT07342322",
        "E3.immunosuppression",
        "UNKNOWN",
        "route not recorded",
        medications=[{"name": "tacrolimus 1 mg", **MED}],
    ),
    _case(
        "NCT06760221",
        "E7.immunosuppressive",
        "FAIL",
        "tacrolimus",
        medications=[{"name": "tacrolimus 1 mg", "route": "oral", **MED}],
    ),
    _case(
        "NCT06760221",
        "E7.steroids",
        "FAIL",
        "dexamethasone 4 mg",
        medications=[{"name": "dexamethasone 4 mg", "route": "oral", **MED}],
    ),
    _case(
        "NCT06593899",
        "E9",
        "FAIL",
        "isolated limb perfusion with melphalan",
        treatments=[
            {"type": "procedure", "name": "isolated limb perfusion with melphalan", "date": "2024-06-01"}
        ],
        medications=[],
    ),
    _case(
        "NCT06593899",
        "E9",
        "FAIL",
        "investigational",
        treatments=[
            {
                "type": "investigational",
                "agents": ["aldoxorubicin"],
                "start": "2024-01-01",
                "end": "2024-04-01",
            }
        ],
        medications=[],
    ),
    _case(
        "NCT06593899",
        "E9",
        "UNKNOWN",
        "needs clinician review",
        treatments=[],
        medications=[{"name": "methotrexate 15 mg weekly", "route": "oral", **MED}],
    ),
    _case(
        "NCT07342322",
        "E3.immunosuppression",
        "UNKNOWN",
        "systemic corticosteroid",
        medications=[{"name": "prednisolone 5 mg daily", **MED}],
    ),
    _case(
        "NCT06110650",
        "E1",
        "FAIL",
        "Surufatinib 300 mg qd",
        medications=[],
        treatments=[
            {
                "type": "targeted_therapy",
                "name": "Surufatinib 300 mg qd",
                "start": "2025-01-01",
                "end": "2025-06-01",
            }
        ],
    ),
    _case(
        "NCT06110650",
        "E1",
        "FAIL",
        "surufatinib in the medication list",
        treatments=[],
        medications=[{"name": "surufatinib 250 mg", "start": "2025-01-01", "end": "2025-06-01"}],
    ),
    _case(
        "NCT06110650",
        "E1",
        "UNKNOWN",
        "the drug catalogue cannot read 'xy-101'",
        medications=[],
        treatments=[
            {"type": "investigational", "agents": ["XY-101"], "start": "2025-01-01", "end": "2025-06-01"}
        ],
    ),
    # condition types imply their categories
    _case(
        "NCT07342322",
        "E3.autoimmune",
        "FAIL",
        "[multiple sclerosis]",
        conditions=[
            {
                "category": "neurological",
                "type": "multiple_sclerosis",
                "name": "multiple sclerosis",
                "status": "active",
            }
        ],
    ),
    _case(
        "NCT07342322",
        "E3.autoimmune",
        "FAIL",
        "systemic lupus erythematosus",
        conditions=[{"category": "other", "type": "systemic_lupus_erythematosus", "status": "active"}],
    ),
    _case(
        "NCT07342322",
        "E3.infection",
        "FAIL",
        "read from the name",
        conditions=[
            {
                "category": "other",
                "type": "other",
                "name": "cellulitis",
                "status": "active",
                "requires_systemic_treatment": True,
            }
        ],
        medications=[{"name": "flucloxacillin 1 g iv", **MED}],
    ),
    # anticancer therapy wherever it is recorded
    _case(
        "NCT07342322",
        "I4.washout",
        "FAIL",
        "pazopanib 800 mg daily",
        treatments=[],
        medications=[{"name": "pazopanib 800 mg daily", "route": "oral", **MED}],
    ),
    # × ULN only on a known upper limit
    _case(
        "NCT06110650",
        "E5.aptt",
        "UNKNOWN",
        "record the lab's reference range",
        labs=[{"test": "aptt", "value": 50, "unit": "s", "date": LAB}],
    ),
    _case(
        "NCT06110650",
        "E5.aptt",
        "FAIL",
        "ULN 30 s from the lab's reference range",
        labs=[
            {
                "test": "aptt",
                "value": 50,
                "unit": "s",
                "date": LAB,
                "reference_range": {"high": 30, "unit": "s"},
            }
        ],
    ),
    # every fact ages
    _case("NCT07342322", "I6", "UNKNOWN", "ECOG from 2023-05-01", ecog={"value": 1, "date": "2023-05-01"}),
    _case("NCT07342322", "I6", "UNKNOWN", "ECOG has no date", ecog={"value": 1}),
    _case(
        "NCT07342322",
        "I7",
        "UNKNOWN",
        "life expectancy has no date",
        life_expectancy={"value": 12, "unit": "month"},
    ),
    _case(
        "SFRT-SCART-BONEMET",
        "I8.organ_function",
        "UNKNOWN",
        "days old; answers older than 28 days do not count",
        labs=[
            {"test": t, "value": v, "unit": u, "date": LAB, "reference_range": {"high": h}}
            for t, v, u, h in (
                ("alt", 30, "U/L", 40),
                ("bilirubin", 10, "umol/L", 21),
                ("creatinine", 70, "umol/L", 100),
            )
        ],
        attestations=[
            {
                "trial": "SFRT-SCART-BONEMET",
                "criterion": "I8.organ_function",
                "answer": "yes",
                "by": "Dr A",
                "date": "2023-11-10",
            }
        ],
    ),
    _case(
        "NCT07342322",
        "I8.renal",
        "UNKNOWN",
        "a weight from the last 90 days",
        sex="male",
        birth_date="1960-01-01",
        weight={"value": 80, "unit": "kg", "date": "2022-03-01"},
        labs=[
            {
                "test": "creatinine",
                "value": 1.9,
                "unit": "mg/dL",
                "date": LAB,
                "reference_range": {"high": 1.2, "unit": "mg/dL"},
            }
        ],
    ),
    # durations as clinicians mean them
    _case(
        "NCT07342322",
        "I7",
        "PASS",
        "life expectancy 90 days",
        life_expectancy={"value": 90, "unit": "day", "date": LAB},
    ),
    _case(
        "NCT07342322",
        "I7",
        "PASS",
        "life expectancy 91 days (reported 13 week",
        life_expectancy={"value": 13, "unit": "week", "date": LAB},
    ),
    _case(
        "NCT07342322",
        "I7",
        "FAIL",
        "life expectancy 84 days (reported 12 week",
        life_expectancy={"value": 12, "unit": "week", "date": LAB},
    ),
    # haemoglobin in mmol/L, as Dutch, German and Nordic labs report it
    _case(
        "NCT06110650",
        "I9.hemoglobin",
        "PASS",
        "reported 6.2 mmol/L",
        labs=[{"test": "hemoglobin", "value": 6.2, "unit": "mmol/L", "date": LAB}],
    ),
    # rule readings
    _case(
        "NCT06760221",
        "I4",
        "FAIL",
        "excision of presumed lipoma",
        medications=[],
        other_malignancies=[],
        treatments=[
            {
                "type": "surgery",
                "name": "excision of presumed lipoma, thigh",
                "intent": "non_oncologic",
                "involves_target_site": True,
                "date": "2026-06-01",
            }
        ],
    ),
    _case(
        "NCT06760221",
        "E3",
        "FAIL",
        "excisional biopsy",
        medications=[],
        other_malignancies=[],
        treatments=[
            {
                "type": "procedure",
                "name": "excisional biopsy of the thigh mass",
                "involves_target_site": True,
                "date": "2026-06-01",
            }
        ],
    ),
    _case(
        "NCT06593899",
        "E1.unplanned_excision",
        "UNKNOWN",
        "needs clinician review",
        treatments=[
            {
                "type": "procedure",
                "name": "excisional biopsy, left thigh",
                "involves_target_site": True,
                "date": "2026-06-01",
            }
        ],
    ),
    _case(
        "NCT06110650",
        "E19",
        "UNKNOWN",
        "needs clinician review: if the 24-hour urine protein exceeds 1.0 g",
        labs=[
            {"test": "urine_protein_dipstick", "result": "1+", "date": LAB},
            {"test": "urine_protein_24h", "value": 1.6, "unit": "g/24h", "date": LAB},
        ],
    ),
    _case("NCT07342322", "E1.ewing", "UNKNOWN", "Round Cell Sarcoma, NOS", diagnosis={"histology": "RCSNOS"}),
    _case(
        "NCT07342322",
        "E4",
        "FAIL",
        "epidural",
        metastases=[{"site": "bone", "spine": "epidural", "symptomatic": True, "status": "active"}],
    ),
    _case(
        "NCT07342322",
        "E4",
        "UNKNOWN",
        "vertebrae only",
        metastases=[{"site": "bone", "spine": "vertebral", "symptomatic": True, "status": "active"}],
    ),
    _case(
        "NCT06110650",
        "E11.thromboembolic",
        "FAIL",
        "myocardial infarction",
        conditions=[
            {
                "type": "myocardial_infarction",
                "status": "resolved",
                "onset": "2026-03-01",
                "resolved": "2026-03-20",
            }
        ],
    ),
    _case(
        "NCT06593899",
        "E3",
        "PASS",
        "cervix",
        other_malignancies=[
            {"histology": "CERVIX", "in_situ": True, "date": "2024-01-10", "status": "cured"}
        ],
    ),
    _case(
        "NCT06110650",
        "I7",
        "PASS",
        "whether the patient has had an amputation: yes",
        ecog={"value": 2, "date": LAB},
        treatments=[{"type": "procedure", "name": "above-knee amputation", "date": "2025-04-01"}],
    ),
    _case(
        "NCT06110650",
        "I5",
        "PASS",
        "AI regimen (doxorubicin + ifosfamide)",
        treatments=[
            {
                "type": "chemotherapy",
                "name": "AI regimen (doxorubicin + ifosfamide)",
                "start": "2025-01-15",
                "end": "2025-05-20",
                "progression_date": "2025-07-10",
            }
        ],
    ),
]


def _explain(tmp_path: Path, profile: dict[str, Any], trial: str, capsys: Any) -> tuple[int, str, str]:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({"id": "case", "as_of": AS_OF, **profile}), "utf-8")
    return run_main(["explain", str(path), trial], capsys)


def _block(out: str, criterion: str) -> str:
    """The lines `eligimatch explain` prints for one criterion."""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) >= 2 and parts[1] == criterion:
            end = next((j for j in range(i + 1, len(lines)) if lines[j][:1].strip()), len(lines))
            return "\n".join(lines[i:end])
    raise AssertionError(f"{criterion} not in the output:\n{out}")


@pytest.mark.parametrize("trial, criterion, status, why, profile", CASES)
def test_each_reported_case_gives_the_stated_status_and_says_why(
    tmp_path: Path, capsys: Any, trial: str, criterion: str, status: str, why: str, profile: dict[str, Any]
) -> None:
    code, out, err = _explain(tmp_path, profile, trial, capsys)
    assert code == 0, err
    block = _block(out, criterion)
    assert block.split()[0] == status, block
    assert why in block, block


@pytest.mark.parametrize(
    "profile, field, message",
    [
        (
            {"sex": "male", "reproductive": {"pregnant": True}},
            "reproductive.pregnant",
            "pregnant is recorded for a patient whose sex is male",
        ),
        (
            {"sex": "male", "reproductive": {"breastfeeding": True}},
            "reproductive.breastfeeding",
            "breastfeeding is recorded for a patient whose sex is male",
        ),
        (
            {"conditions": [{"category": "infection", "type": "hypertension"}]},
            "conditions[0].category",
            "'infection' contradicts the type 'hypertension'",
        ),
        (
            {
                "labs": [
                    {
                        "test": "bilirubin",
                        "value": 3.0,
                        "unit": "mg/dL",
                        "date": LAB,
                        "reference_range": {"high": 21},
                    }
                ]
            },
            "labs[0].reference_range.unit",
            "is not a plausible upper limit of normal of total bilirubin",
        ),
        (
            {"labs": [{"test": "inr", "value": 80, "unit": "%", "date": LAB}]},
            "labs[0].unit",
            "'%' is not a unit of international normalised ratio",
        ),
        ({"labs": [{"test": "creatinine", "value": 3, "unit": "u/L", "date": LAB}]}, "labs[0].unit", "u/L"),
    ],
)
def test_contradictions_and_implausible_input_are_one_line_errors(
    tmp_path: Path, capsys: Any, profile: dict[str, Any], field: str, message: str
) -> None:
    code, out, err = _explain(tmp_path, profile, "NCT07342322", capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "patient.json" in lines[0] and field in lines[0] and message in lines[0], lines[0]


def test_a_review_node_may_set_how_long_an_answer_counts(tmp_path: Path) -> None:
    from eligimatch.engine import load_rule_file
    from eligimatch.facts import build_facts
    from eligimatch.patient import Patient
    from rulefiles import criterion, header

    path = tmp_path / "t.toml"
    path.write_text(
        header() + criterion('{ review = "whether the tumour is resectable", within_days = 7 }'), "utf-8"
    )
    trial = load_rule_file(path)
    c = trial.criteria[0]
    for answered, value in (("2026-11-10", True), ("2026-11-08", None)):
        patient = Patient.model_validate(
            {
                "id": "r",
                "as_of": AS_OF,
                "attestations": [
                    {"trial": trial.id, "criterion": c.id, "answer": "yes", "by": "Dr A", "date": answered}
                ],
            }
        )
        out = c.node.evaluate(build_facts(patient), trial.context(c.id))
        assert out.value is value, out.text
    assert "answers older than 7 days do not count" in out.text


def test_the_evidence_reads_the_same_whatever_the_order_of_the_lists(tmp_path: Path, capsys: Any) -> None:
    """Found by the ci profile: the review question listed medications in file order."""
    meds = [{"name": "tenofovir 245 mg", **MED}, {"name": "lamivudine 100 mg", **MED}]
    outs = []
    for order in (meds, meds[::-1]):
        code, out, err = _explain(tmp_path, {"conditions": [], "medications": order}, "NCT06760221", capsys)
        assert code == 0, err
        outs.append(_block(out, "E11"))
    assert outs[0] == outs[1]
    assert "lamivudine 100 mg (also given for other reasons); tenofovir 245 mg" in outs[0]
