"""The JSON API under ``/api`` (OpenAPI at ``/docs``).  Errors are RFC 9457 problem details.

Screening returns the very document ``eligimatch screen --format json`` prints.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from .. import explain
from ..api import screen as screen_patient
from ..batch import Attrition
from .pages import attrition as trial_attrition
from .store import AttestationRow, PatientRow
from .workspace import Workspace, version

router = APIRouter(prefix="/api", tags=["api"])

BODY = {
    "requestBody": {
        "required": True,
        "description": "A patient profile (see `eligimatch schema`) or a FHIR R4 Bundle.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
PROBLEM = {
    "content": {
        "application/problem+json": {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                },
            }
        }
    }
}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Sign-in required", **PROBLEM},
    404: {"description": "Not found", **PROBLEM},
    415: {"description": "Body is not JSON", **PROBLEM},
    422: {"description": "Invalid input (the CLI's one-line message)", **PROBLEM},
}


def _ws(request: Request) -> Workspace:
    ws: Workspace = request.app.state.ws
    return ws


def _user(request: Request) -> str:
    user: str = request.state.user
    return user


WS = Annotated[Workspace, Depends(_ws)]
User = Annotated[str, Depends(_user)]


class AttestIn(BaseModel):
    trial: str = Field(description="trial id, e.g. NCT07342322")
    criterion: str = Field(description="criterion id with a clinician-review item")
    answer: Literal["yes", "no"] = Field(
        description="whether the criterion's statement holds (for an exclusion: yes = it applies)"
    )
    reason: str = Field(min_length=1)


class WithdrawIn(BaseModel):
    reason: str = ""


def _json(text: str, status: int = 200) -> Response:
    return Response(text + "\n", status_code=status, media_type="application/json")


def _attestation(a: AttestationRow) -> dict[str, Any]:
    return {
        "id": a.id,
        "trial": a.trial,
        "criterion": a.criterion,
        "answer": a.answer,
        "reason": a.reason,
        "by": a.by,
        "at": a.at.isoformat() + "Z",
        "active": a.active,
        "withdrawn_at": a.withdrawn_at.isoformat() + "Z" if a.withdrawn_at else None,
        "withdrawn_by": a.withdrawn_by,
        "withdrawn_reason": a.withdrawn_reason,
    }


def _patient(request: Request, row: PatientRow) -> dict[str, Any]:
    return {
        "key": row.id,
        "patient_id": row.patient_id,
        "as_of": row.as_of.isoformat(),
        "source": row.source,
        "kind": row.kind,
        "revision": row.revision,
        "url": str(request.url_for("patient", key=row.id)),
        "results": str(request.url_for("results", key=row.id)),
    }


@router.post(
    "/screen",
    openapi_extra=BODY,
    responses=ERRORS,
    summary="Screen a profile or a FHIR bundle (nothing is stored)",
)
async def screen(request: Request, ws: WS, user: User, as_of: date | None = None) -> Response:
    """Every trial for the patient: the same JSON document as ``eligimatch screen --format
    json`` (``source`` is ``request``)."""
    patient, when, _kind, _notes = ws.read(await request.body(), "request")
    facts, results = screen_patient(patient, ws.rules, as_of or when, "request")
    ws.audit(user, "screen", patient_id=facts.patient_id, detail="API /api/screen (not stored)")
    doc = explain.document(facts.patient_id, "request", facts.as_of, results, ws.rules_sha256, version())
    return _json(explain.screen_json([doc]))


@router.post(
    "/patients",
    openapi_extra=BODY,
    responses=ERRORS,
    status_code=201,
    summary="Store a patient (replaces the profile of the same patient id)",
)
async def store_patient(request: Request, ws: WS, user: User) -> JSONResponse:
    source = request.headers.get("x-eligimatch-source", "API request")[:200]
    row, notes, created = ws.add_patient(await request.body(), source, user, via="API")
    body = _patient(request, row) | {"created": created, "notes": notes}
    return JSONResponse(body, status_code=201 if created else 200)


@router.get("/patients", summary="The stored patients with their verdict per trial")
def list_patients(request: Request, ws: WS, user: User) -> list[dict[str, Any]]:
    ws.audit(user, "view", detail="API patient list")
    return [
        _patient(request, s.row) | {"verdicts": {r.trial_id: r.verdict for r in s.results}}
        for s in ws.all_screened()
    ]


@router.get(
    "/patients/{key}/results",
    name="results",
    responses=ERRORS,
    summary="A stored patient's results (the screen --format json document)",
)
def results(ws: WS, user: User, key: int) -> Response:
    s = ws.view(ws.get(key), user, "API results")
    return _json(explain.dumps(s.document()))


@router.get(
    "/patients/{key}/attestations",
    responses=ERRORS,
    summary="Every answer recorded for a stored patient, withdrawn ones included",
)
def attestations(ws: WS, user: User, key: int) -> list[dict[str, Any]]:
    row = ws.get(key)
    return [_attestation(a) for a in ws.store.attestations(row.id)]


@router.post(
    "/patients/{key}/attestations",
    responses=ERRORS,
    status_code=201,
    summary="Answer a clinician-review item; applied at once",
)
def attest(ws: WS, user: User, key: int, body: AttestIn) -> dict[str, Any]:
    att, before, after = ws.attest(
        ws.get(key),
        trial=body.trial,
        criterion=body.criterion,
        answer=body.answer,
        reason=body.reason,
        actor=user,
    )
    return {"attestation": _attestation(att), "verdict_before": before, "verdict_after": after}


@router.post(
    "/patients/{key}/attestations/{att_id}/withdraw",
    responses=ERRORS,
    summary="Withdraw an answer (it stays on record)",
)
def withdraw(ws: WS, user: User, key: int, att_id: int, body: WithdrawIn) -> dict[str, Any]:
    att, before, after = ws.withdraw(ws.get(key), att_id, reason=body.reason, actor=user)
    return {"attestation": _attestation(att), "verdict_before": before, "verdict_after": after}


@router.get("/trials", summary="The encoded trials (as eligimatch trials --format json)")
def trials(ws: WS) -> Response:
    return _json(explain.trials_json(ws.rules.trials, ws.rules_sha256))


@router.get(
    "/trials/{trial_id}/attrition",
    responses=ERRORS,
    summary="Attrition of one trial over the stored patients",
)
def attrition(ws: WS, user: User, trial_id: str) -> dict[str, Any]:
    a: Attrition = trial_attrition(ws, trial_id)[0]
    ws.audit(user, "view", trial=a.trial_id, detail="API attrition")
    return a.as_dict() | {"rules_sha256": ws.rules_sha256}
