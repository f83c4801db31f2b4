"""Clinicians' answers are matched to the loaded rules: by a criterion's current id or one of its
aliases, by a trial's id or registry id; an answer naming a trial or criterion the rules do not
have is one line naming the profile and the field, exit code 2."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from cli_runner import run_main
from eligimatch import api, attestations
from eligimatch.engine import load_rules
from eligimatch.errors import PatientError
from eligimatch.patient import Patient

TRIAL = """schema = 1
[trial]
id = "{id}"
title = "{id} trial"
phase = "PHASE2"
status = "RECRUITING"
seed = "seeds/none.txt"
{extra}
[[criteria]]
id = "I2"
aliases = ["I1.judgement", "I1"]
kind = "inclusion"
text = "The investigator judges the patient fit for the study."
logic = {{ review = "whether the patient is fit" }}

[[criteria]]
id = "E1"
kind = "exclusion"
text = "Uncontrolled intercurrent illness."
logic = {{ review = "whether an intercurrent illness is uncontrolled" }}
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "alpha.toml").write_text(TRIAL.format(id="ALPHA-1", extra='registry_id = "NCT00000001"'))
    (d / "beta.toml").write_text(TRIAL.format(id="BETA-2", extra=""))
    return d


def profile(tmp_path: Path, *answers: tuple[str, str, str]) -> str:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(
            {
                "id": "p1",
                "as_of": "2026-11-16",
                "attestations": [
                    {"trial": t, "criterion": c, "answer": a, "by": "Dr A. Mensah", "date": "2026-11-12"}
                    for t, c, a in answers
                ],
            }
        )
    )
    return str(path)


def explain(rules: Path, path: str, trial: str, capsys) -> tuple[int, dict, str]:
    code, out, err = run_main(["explain", path, trial, "--rules", str(rules), "--format", "json"], capsys)
    doc = json.loads(out) if code == 0 else {}
    return code, doc, err


def statuses(doc: dict) -> dict[str, tuple[str, str]]:
    (result,) = doc["trials"]
    return {c["id"]: (c["status"], c["explanation"]) for c in result["criteria"]}


@pytest.mark.parametrize("named", ["I2", "I1.judgement", "I1"])
def test_an_answer_by_an_old_id_answers_the_criterion_now_named_otherwise(tmp_path, rules, named, capsys):
    code, doc, err = explain(rules, profile(tmp_path, ("ALPHA-1", named, "yes")), "ALPHA-1", capsys)
    assert (code, err) == (0, "")
    status, text = statuses(doc)["I2"]
    assert status == "pass"
    assert text.startswith("clinician attestation by Dr A. Mensah on 2026-11-12")
    assert statuses(doc)["E1"][0] == "unknown"  # an answer answers its own criterion only


def test_a_trial_may_be_named_by_its_registry_id(tmp_path, rules, capsys):
    code, doc, _ = explain(rules, profile(tmp_path, ("NCT00000001", "E1", "no")), "ALPHA-1", capsys)
    assert code == 0 and statuses(doc)["E1"][0] == "pass"


def test_explain_checks_the_answers_against_every_loaded_trial(tmp_path, rules, capsys):
    path = profile(tmp_path, ("BETA-2", "E1", "yes"), ("ALPHA-1", "I2", "yes"))
    code, doc, _ = explain(rules, path, "ALPHA-1", capsys)
    assert code == 0 and statuses(doc)["I2"][0] == "pass" and statuses(doc)["E1"][0] == "unknown"
    code, doc, _ = explain(rules, path, "BETA-2", capsys)
    assert code == 0 and statuses(doc)["E1"][0] == "fail"


@pytest.mark.parametrize(
    "answers, message",
    [
        (
            [("ALPHA-2", "I2", "yes")],
            "attestations[0].trial: unknown trial 'ALPHA-2'; did you mean 'ALPHA-1'? (the rules loaded "
            "define ALPHA-1, BETA-2)",
        ),
        (
            [("ALPHA-1", "I2", "yes"), ("ALPHA-1", "I22", "no")],
            "attestations[1].criterion: ALPHA-1 has no criterion 'I22'; did you mean 'I2'?",
        ),
        (
            [("ALPHA-1", "E2.illness", "no")],
            "attestations[0].criterion: ALPHA-1 has no criterion 'E2.illness'",
        ),
        # every problem at once, on one line
        (
            [("GAMMA", "I2", "yes"), ("BETA-2", "I1.judgment", "yes")],
            "attestations[0].trial: unknown trial 'GAMMA' (the rules loaded define ALPHA-1, BETA-2); "
            "attestations[1].criterion: BETA-2 has no criterion 'I1.judgment'; did you mean "
            "'I1.judgement'?",
        ),
    ],
)
@pytest.mark.parametrize("command", ["screen", "explain"])
def test_an_answer_to_nothing_the_rules_define_is_one_line_exit_2(
    tmp_path, rules, capsys, answers, message, command
):
    path = profile(tmp_path, *answers)
    args = [command, path] + (["ALPHA-1"] if command == "explain" else [])
    code, out, err = run_main([*args, "--rules", str(rules)], capsys)
    assert (code, out) == (2, "")
    assert err == f"eligimatch: error: {path}: {message}\n"


def test_the_project_rules_know_every_answer_of_the_example_patients():
    ruleset = load_rules()
    for path in sorted(Path(__file__).parents[1].glob("patients/*.json")):
        patient = api.read_patient(path)
        assert attestations.resolve(patient, ruleset.trials, str(path)) is patient  # current ids


def test_resolve_rewrites_to_the_current_ids_and_leaves_the_rest(rules):
    trials = load_rules(rules).trials
    p = Patient.model_validate(
        {
            "id": "p",
            "attestations": [
                {
                    "trial": "NCT00000001",
                    "criterion": "I1",
                    "answer": "no",
                    "by": "Dr B",
                    "date": "2026-01-02",
                    "note": "seen in clinic",
                }
            ],
        }
    )
    (att,) = attestations.resolve(p, trials, "p.json").attestations
    assert (att.trial, att.criterion, att.answer, att.by, att.date, att.note) == (
        "ALPHA-1",
        "I2",
        "no",
        "Dr B",
        date(2026, 1, 2),
        "seen in clinic",
    )
    with pytest.raises(PatientError, match=r"^p\.json: attestations\[0\]\.trial: unknown trial"):
        attestations.resolve(p, [t for t in trials if t.id == "BETA-2"], "p.json")
    assert attestations.resolve(Patient(id="q"), [], "q.json").attestations == []


@pytest.mark.parametrize("url, source", [("/api/screen", "request"), ("/api/patients", "API request")])
def test_the_web_refuses_a_profile_answering_nothing_the_rules_define(tmp_path, url, source):
    web = pytest.importorskip("web_support")
    api_client = web.client(web.make_app(tmp_path / "store.db"))
    body = {
        "id": "p1",
        "as_of": "2026-11-16",
        "attestations": [
            {"trial": "NCT07342322", "criterion": "I99", "answer": "yes", "by": "Dr A", "date": "2026-11-12"}
        ],
    }
    r = api_client.post(url, content=json.dumps(body), headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"] == (
        f"{source}: attestations[0].criterion: NCT07342322 has no criterion 'I99'; did you mean 'I9'?"
    )
