"""The REST API through httpx (FastAPI's TestClient): screening, storing, results,
attestations, trials, attrition, problem details."""

from __future__ import annotations

import json

import pytest

from eligimatch import explain
from eligimatch.api import read_patient, screen
from eligimatch.engine import load_rules
from eligimatch.web.workspace import version
from web_support import (
    P04,
    PATIENTS,
    REVIEW_TRIAL,
    answer_that_passes,
    client,
    make_app,
    non_review_unknowns,
    review_items,
)

JSON = {"content-type": "application/json"}


@pytest.fixture
def api(tmp_path):
    return client(make_app(tmp_path / "store.db"))


def _store(api, path):
    r = api.post(
        "/api/patients", content=path.read_bytes(), headers=JSON | {"x-eligimatch-source": path.name}
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_screen_returns_the_cli_json_document(api):
    path = PATIENTS / "p02_lms_low_anc_ineligible.json"
    r = api.post("/api/screen", content=path.read_bytes(), headers=JSON)
    assert r.status_code == 200, r.text
    rules = load_rules()
    facts, results = screen(read_patient(path), rules, None, "request")
    want = explain.screen_json(
        [explain.document(facts.patient_id, "request", facts.as_of, results, rules.sha256, version())]
    )
    assert r.text == want + "\n"  # byte for byte what `screen --format json` prints


def test_screen_takes_a_fhir_bundle(api):
    bundle = PATIENTS.parent / "tests/data/fhir/mcode/mcode-extended-example-jenny-m.json"
    r = api.post("/api/screen", content=bundle.read_bytes(), headers=JSON)
    assert r.status_code == 200, r.text
    assert {t["trial_id"] for t in r.json()["trials"]} == {t.id for t in load_rules().trials}


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 422, "request: not valid JSON"),
        (
            b'{"id": "x", "as_of": "2026-11-16", "favourite_colour": "blue"}',
            422,
            "favourite_colour: unknown field",
        ),
        (b"[1, 2]", 422, "must be a JSON object"),
    ],
)
def test_bad_profiles_are_problem_details_with_the_cli_message(api, body, status, needle):
    r = api.post("/api/screen", content=body, headers=JSON)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert {"type", "title", "status", "detail"} <= p.keys() and p["status"] == status
    assert needle in p["detail"] and "\n" not in p["detail"]


def test_api_posts_must_be_json(api):
    r = api.post("/api/screen", content=P04.read_bytes(), headers={"content-type": "text/plain"})
    assert r.status_code == 415 and r.json()["status"] == 415


def test_store_results_attest_withdraw(api):
    stored = _store(api, P04)
    key = stored["key"]
    doc = api.get(f"/api/patients/{key}/results").json()
    assert doc["patient_id"] == "p04" and doc["rules_sha256"] == load_rules().sha256
    items = review_items(doc)
    assert items, "p04 has no review item for NCT07342322 any more"
    assert not non_review_unknowns(doc), "p04's NCT07342322 waits on more than review items"
    verdicts = []
    for c in items:
        r = api.post(
            f"/api/patients/{key}/attestations",
            headers=JSON,
            json={
                "trial": REVIEW_TRIAL,
                "criterion": c["id"],
                "answer": answer_that_passes(c),
                "reason": "checked in the chart",
            },
        )
        assert r.status_code == 201, r.text
        verdicts.append(r.json()["verdict_after"])
    assert verdicts[-1] == "eligible" and set(verdicts[:-1]) <= {"undetermined"}
    doc = api.get(f"/api/patients/{key}/results").json()
    trial = next(t for t in doc["trials"] if t["trial_id"] == REVIEW_TRIAL)
    assert trial["verdict"] == "eligible"
    expl = {c["id"]: c["explanation"] for c in trial["criteria"]}
    assert all("Dr Rivera" in expl[c["id"]] for c in items)

    atts = api.get(f"/api/patients/{key}/attestations").json()
    r = api.post(
        f"/api/patients/{key}/attestations/{atts[0]['id']}/withdraw",
        headers=JSON,
        json={"reason": "asked the wrong patient"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["verdict_before"] == "eligible"
    assert r.json()["verdict_after"] == "undetermined"
    atts = api.get(f"/api/patients/{key}/attestations").json()
    assert len(atts) == len(items) and not atts[0]["active"]  # recorded, not deleted
    assert atts[0]["withdrawn_reason"] == "asked the wrong patient"
    again = api.post(f"/api/patients/{key}/attestations/{atts[0]['id']}/withdraw", headers=JSON, json={})
    assert again.status_code == 409


def test_attestation_must_answer_a_review_item(api):
    key = _store(api, P04)["key"]
    doc = api.get(f"/api/patients/{key}/results").json()
    trial = next(t for t in doc["trials"] if t["trial_id"] == REVIEW_TRIAL)
    plain = next(c for c in trial["criteria"] if not c["review"] and c["status"] == "pass")
    for body, needle in [
        ({"criterion": plain["id"]}, "no clinician-review item"),
        ({"criterion": "I99"}, "has no criterion"),
        ({"trial": "NCT0734232"}, "did you mean 'NCT07342322'"),
    ]:
        payload = {
            "trial": REVIEW_TRIAL,
            "criterion": "E2.reirradiation",
            "answer": "no",
            "reason": "x",
        } | body
        r = api.post(f"/api/patients/{key}/attestations", headers=JSON, json=payload)
        assert r.status_code in (404, 422) and needle in r.json()["detail"], r.text
    r = api.post(
        f"/api/patients/{key}/attestations",
        headers=JSON,
        json={"trial": REVIEW_TRIAL, "criterion": "E2.reirradiation", "answer": "maybe", "reason": "x"},
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("request: answer")
    assert api.get("/api/patients/999/results").status_code == 404


def test_list_trials_and_attrition(api):
    r = api.get("/api/trials")
    assert r.text == explain.trials_json(load_rules().trials, load_rules().sha256) + "\n"
    for path in sorted(PATIENTS.glob("p0*.json"))[:4]:
        _store(api, path)
    listed = api.get("/api/patients").json()
    assert len(listed) == 4 and all(REVIEW_TRIAL in p["verdicts"] for p in listed)
    a = api.get(f"/api/trials/{REVIEW_TRIAL}/attrition").json()
    assert a["patients"] == 4
    assert a["eligible"] + a["undetermined"] + a["ineligible"] == 4
    assert a["steps"][-1]["remaining"] == a["eligible"] + a["undetermined"]
    assert api.get("/api/trials/NOPE/attrition").status_code == 404


def test_storing_the_same_patient_again_replaces_the_profile(api):
    first = _store(api, P04)
    raw = json.loads(P04.read_text())
    raw["ecog"]["value"] = 1
    r = api.post("/api/patients", content=json.dumps(raw), headers=JSON)
    assert r.status_code == 200 and r.json()["key"] == first["key"]
    assert not r.json()["created"] and r.json()["revision"] == 2


def test_openapi_lists_the_api(api):
    spec = api.get("/openapi.json").json()
    assert {
        "/api/screen",
        "/api/patients",
        "/api/patients/{key}/results",
        "/api/patients/{key}/attestations",
        "/api/trials",
        "/api/trials/{trial_id}/attrition",
        "/cds-services",
    } <= spec["paths"].keys()
    assert api.get("/docs").status_code == 200
