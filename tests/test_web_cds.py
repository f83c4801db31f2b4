"""CDS Hooks: discovery and patient-view, request and response checked against the shapes of
the CDS Hooks specification (2.0) as JSON Schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from eligimatch.api import parse_patient, screen
from eligimatch.engine import load_rules
from eligimatch.web.cds import open_items
from web_support import client, make_app

BUNDLE = Path(__file__).parent / "data" / "web" / "p01_bundle.json"
WHEN = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
SERVICE_URL = "/cds-services/eligimatch-trial-eligibility"

# The CDS Hooks 2.0 shapes (cds-hooks.hl7.org, "Discovery", "Calling a CDS Service",
# "CDS Service Response"), with what the specification requires.
DISCOVERY = {
    "type": "object",
    "required": ["services"],
    "properties": {
        "services": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["hook", "id", "description"],
                "properties": {
                    "hook": {"type": "string"},
                    "id": {"type": "string", "pattern": r"^[^/\s]+$"},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "prefetch": {"type": "object", "additionalProperties": {"type": "string"}},
                    "usageRequirements": {"type": "string"},
                },
            },
        }
    },
}
REQUEST = {
    "type": "object",
    "required": ["hook", "hookInstance", "context"],
    "properties": {
        "hook": {"const": "patient-view"},
        "hookInstance": {"type": "string", "format": "uuid"},
        "fhirServer": {"type": "string"},
        "fhirAuthorization": {"type": "object"},
        "context": {
            "type": "object",
            "required": ["userId", "patientId"],
            "properties": {
                "userId": {"type": "string"},
                "patientId": {"type": "string"},
                "encounterId": {"type": "string"},
            },
        },
        "prefetch": {"type": "object"},
    },
}
CARD = {
    "type": "object",
    "required": ["summary", "indicator", "source"],
    "properties": {
        "uuid": {"type": "string", "format": "uuid"},
        "summary": {"type": "string", "maxLength": 139},
        "detail": {"type": "string"},
        "indicator": {"enum": ["info", "warning", "critical"]},
        "source": {
            "type": "object",
            "required": ["label"],
            "properties": {
                "label": {"type": "string"},
                "url": {"type": "string"},
                "icon": {"type": "string"},
                "topic": {
                    "type": "object",
                    "properties": {
                        "system": {"type": "string"},
                        "code": {"type": "string"},
                        "display": {"type": "string"},
                    },
                },
            },
        },
        "suggestions": {"type": "array"},
        "selectionBehavior": {"enum": ["at-most-one", "any"]},
        "overrideReasons": {"type": "array"},
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["label", "url", "type"],
                "properties": {
                    "label": {"type": "string"},
                    "url": {"type": "string"},
                    "type": {"enum": ["absolute", "smart"]},
                    "appContext": {"type": "string"},
                },
            },
        },
    },
}
RESPONSE = {
    "type": "object",
    "required": ["cards"],
    "properties": {"cards": {"type": "array", "items": CARD}, "systemActions": {"type": "array"}},
}


def _check(instance, schema):
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(instance)


def _searchset(resources):
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def prefetch_from(bundle):
    """What an EHR would send for the discovery's prefetch templates: the resources of the
    bundle, referring to the patient as ``Patient/<id>`` (a server's search results do)."""
    patient_entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    text = json.dumps(bundle).replace(
        f'"{patient_entry["fullUrl"]}"', f'"Patient/{patient_entry["resource"]["id"]}"'
    )
    bundle = json.loads(text)
    by_type: dict[str, list] = {}
    for e in bundle["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    return {
        "patient": by_type["Patient"][0],
        "observations": _searchset(by_type.get("Observation", [])),
        "conditions": _searchset(by_type.get("Condition", [])),
        "medications": _searchset(
            by_type.get("MedicationRequest", []) + by_type.get("MedicationStatement", [])
        ),
        "procedures": _searchset(by_type.get("Procedure", [])),
    }


@pytest.fixture
def cds(tmp_path):
    return client(make_app(tmp_path / "store.db", now=lambda: WHEN))


def _request(prefetch):
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": "https://ehr.example.invalid/fhir",
        "context": {"userId": "Practitioner/rivera", "patientId": prefetch["patient"]["id"]},
        "prefetch": prefetch,
    }


def test_discovery(cds):
    r = cds.get("/cds-services")
    assert r.status_code == 200
    doc = r.json()
    _check(doc, DISCOVERY)
    (service,) = doc["services"]
    assert service["hook"] == "patient-view"
    assert set(service["prefetch"]) == {"patient", "observations", "conditions", "medications", "procedures"}
    assert all("{{context.patientId}}" in q for q in service["prefetch"].values())


def test_patient_view_answers_a_prefetch_with_one_card_per_trial(cds):
    pytest.importorskip("fhir.resources")
    bundle = json.loads(BUNDLE.read_text())
    prefetch = prefetch_from(bundle)
    request = _request(prefetch)
    _check(request, REQUEST)
    r = cds.post(SERVICE_URL, json=request)
    assert r.status_code == 200, r.text
    doc = r.json()
    _check(doc, RESPONSE)

    # what the cards should be: the library's own verdicts on the same data, that day
    same = dict(
        bundle,
        timestamp=WHEN.isoformat(),
        entry=[{"resource": prefetch["patient"]}]
        + [
            e
            for k in ("observations", "conditions", "medications", "procedures")
            for e in prefetch[k]["entry"]
        ],
    )
    patient = parse_patient(json.dumps(same), "prefetch")
    _facts, results = screen(patient, load_rules(), WHEN.date())
    want = sorted(
        t.trial_id
        for t in results
        if t.verdict == "eligible" or (t.verdict == "undetermined" and len(open_items(t)) <= 3)
    )
    got = sorted(c["summary"].split("trial ")[1].split(":")[0] for c in doc["cards"])
    assert got == want
    assert want, "the committed bundle no longer gives any card: pick another patient"

    for card in doc["cards"]:
        assert card["detail"].startswith("**")
        (link,) = card["links"]
        assert link["type"] == "absolute" and "/patients/" in link["url"]
        page = cds.get(link["url"])
        assert page.status_code == 200 and "p01" in page.text
    audit = cds.get("/audit").text
    assert "CDS Hooks patient-view" in audit


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"hook": "patient-view", "hookInstance": "x"}, 400),
        ({"hook": "order-select", "hookInstance": "x", "context": {"patientId": "1"}}, 400),
        ({"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "1", "userId": "u"}}, 412),
    ],
)
def test_patient_view_refuses_what_it_cannot_answer(cds, body, status):
    r = cds.post(SERVICE_URL, json=body)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")


def test_patient_view_keeps_a_coordinators_profile(cds):
    pytest.importorskip("fhir.resources")
    profile = BUNDLE.parents[3] / "patients" / "p01_ups_metastatic_eligible.json"
    stored = cds.post(
        "/api/patients", content=profile.read_bytes(), headers={"content-type": "application/json"}
    ).json()
    r = cds.post(SERVICE_URL, json=_request(prefetch_from(json.loads(BUNDLE.read_text()))))
    assert r.status_code == 200, r.text
    _check(r.json(), RESPONSE)
    for card in r.json()["cards"]:
        assert f"/patients/{stored['key']}#" in card["links"][0]["url"]
        assert "coordinator's profile" in card["detail"]
    listed = cds.get("/api/patients").json()
    assert [p["source"] for p in listed] == ["API request"]  # not replaced
