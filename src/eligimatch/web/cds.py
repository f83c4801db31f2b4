"""CDS Hooks (https://cds-hooks.hl7.org/): discovery and a ``patient-view`` service.

The EHR sends the prefetch (the Patient, and searchsets of Observations, Conditions,
MedicationRequests and Procedures); the service imports it like a FHIR bundle, stores the
patient (so the cards can link to its page; a profile a coordinator stored for the same
patient id is kept, not replaced by the EHR's), and answers one card per trial for which the
patient is eligible, or undetermined with at most ``Settings.cds_max_unknown`` open items
(facts to record and questions for a clinician, see :func:`open_items`).
No data is fetched from the EHR: without the prefetch the answer is 412.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from ..api import screen
from ..engine import TrialResult
from .problems import problem
from .workspace import Workspace

router = APIRouter(tags=["cds-hooks"])

SERVICE = "eligimatch-trial-eligibility"
SOURCE = "CDS Hooks patient-view"
PATIENT = "{{context.patientId}}"
PREFETCH = {
    "patient": f"Patient/{PATIENT}",
    "observations": f"Observation?patient={PATIENT}&category=laboratory",
    "conditions": f"Condition?patient={PATIENT}",
    "medications": f"MedicationRequest?patient={PATIENT}",
    "procedures": f"Procedure?patient={PATIENT}",
}


@router.get("/cds-services", summary="CDS Hooks discovery")
def discovery() -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": "patient-view",
                "id": SERVICE,
                "title": "Clinical-trial eligibility",
                "description": "Screens the patient against the encoded clinical trials and shows the "
                "trials the patient is eligible for, or may be once a few items are "
                "recorded or reviewed.",
                "prefetch": PREFETCH,
            }
        ]
    }


def _bundle(prefetch: dict[str, Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    for key, value in prefetch.items():
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            entries.extend(e for e in value.get("entry") or [] if isinstance(e, dict))
        elif key in PREFETCH or "resourceType" in value:
            entries.append({"resource": value})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def open_items(r: TrialResult) -> list[str]:
    """What stands between an undetermined verdict and a decision: each fact to record, each
    question for a clinician, and each unknown criterion that names neither."""
    vague = [
        f"{c.id}: {c.explanation}"
        for c in r.criteria
        if c.status == "unknown" and not c.missing and not c.review
    ]
    return [f"record {m}" for m in r.missing] + [f"clinician review of {q}" for q in r.review] + vague


def _card(r: TrialResult, link: str, hook_instance: str, kept: bool) -> dict[str, Any]:
    if r.verdict == "eligible":
        summary = f"Eligible for trial {r.trial_id}"
        detail = f"**{r.title}**\n\nAll {len(r.criteria)} eligibility criteria pass."
    else:
        items = open_items(r)
        n = len(items)
        summary = f"May be eligible for trial {r.trial_id}: {n} item{'s' if n != 1 else ''} open"
        detail = "\n".join(
            [f"**{r.title}**", "", "No criterion fails. To decide:", *(f"- {x}" for x in items)]
        )
    if kept:
        detail += (
            "\n\nFrom the EHR data of this visit. eligimatch also holds a coordinator's "
            "profile of this patient, which the link opens."
        )
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{hook_instance}/{r.trial_id}")),
        "summary": summary[:139],
        "indicator": "info",
        "detail": detail,
        "source": {
            "label": "eligimatch",
            "topic": {
                "system": "https://eligimatch.invalid/cds",
                "code": "trial-eligibility",
                "display": "Clinical-trial eligibility",
            },
        },
        "links": [{"label": f"Open {r.trial_id} in eligimatch", "url": link, "type": "absolute"}],
    }


@router.post(f"/cds-services/{SERVICE}", summary="CDS Hooks patient-view")
async def patient_view(request: Request) -> Response:
    ws: Workspace = request.app.state.ws
    try:
        body = json.loads(await request.body())
    except ValueError:
        return problem(400, "CDS Hooks request: not valid JSON")
    if not isinstance(body, dict):
        return problem(400, "CDS Hooks request: not a JSON object")
    missing = [k for k in ("hook", "hookInstance", "context") if k not in body]
    if missing:
        return problem(400, "CDS Hooks request: missing " + ", ".join(missing))
    if body["hook"] != "patient-view":
        return problem(
            400, f"CDS Hooks request: this service answers patient-view, not {str(body['hook'])[:40]!r}"
        )
    context, prefetch = body.get("context"), body.get("prefetch")
    if not isinstance(context, dict) or not isinstance(context.get("patientId"), str):
        return problem(400, "CDS Hooks request: context.patientId is required")
    if not isinstance(prefetch, dict) or not isinstance(prefetch.get("patient"), dict):
        return problem(
            412,
            "CDS Hooks request: no prefetch.patient; this service needs the "
            "prefetch and does not query the FHIR server",
        )
    actor = str(context.get("userId") or request.state.user)
    if actor != request.state.user:
        actor = f"{request.state.user} (CDS Hooks for {actor})"
    bundle = _bundle(prefetch)
    bundle["timestamp"] = ws.settings.now().isoformat()
    text = json.dumps(bundle)
    patient, as_of, _kind, _notes = ws.read(text, SOURCE)
    row = ws.store.patient_by_id(patient.id)
    kept = row is not None and row.source != SOURCE
    if row is None or not kept:
        row = ws.add_patient(text, SOURCE, actor=actor, via="CDS Hooks")[0]
        results = ws.screened(row).results
    else:  # a coordinator's profile of this patient is kept; the cards come from the EHR data
        results = screen(patient, ws.rules, as_of, SOURCE)[1]
    assert row is not None
    base = (ws.settings.public_url or str(request.base_url)).rstrip("/")
    cards = []
    for r in results:
        if r.verdict == "eligible" or (
            r.verdict == "undetermined" and len(open_items(r)) <= ws.settings.cds_max_unknown
        ):
            cards.append(
                _card(r, f"{base}/patients/{row.id}#trial-{r.trial_id}", str(body["hookInstance"]), kept)
            )
    ws.audit(
        actor,
        "screen",
        patient=row,
        detail=f"CDS Hooks patient-view: {len(cards)} cards"
        + ("; the stored profile was kept" if kept else ""),
    )
    return JSONResponse({"cards": cards})
