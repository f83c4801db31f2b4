"""The HTML pages: Patients, one patient (cards, criteria, review), Trials, audit trail, sign-in.

Every page reads without JavaScript; htmx (when it runs) swaps a trial card in place after an
answer instead of reloading the page.  Every form carries the CSRF token (checked by
:func:`csrf`); every view and answer is in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from ..batch import Attrition
from ..errors import EligimatchError
from . import present
from .app import html
from .security import COOKIE, verify_password
from .workspace import Screened, Workspace

router = APIRouter(include_in_schema=False)


def _ws(request: Request) -> Workspace:
    ws: Workspace = request.app.state.ws
    return ws


def _user(request: Request) -> str:
    user: str | None = request.state.user
    if user is None:  # pragma: no cover - the middleware signs in first
        raise HTTPException(401, "sign in first")
    return user


async def csrf(request: Request) -> None:
    form = await request.form()
    token = form.get("csrf") or request.headers.get("x-csrf-token")
    if not request.app.state.codec.csrf_ok(request.state.session, token):
        raise HTTPException(
            403, "this form has expired or did not come from this site: reload the page and try again"
        )


WS = Annotated[Workspace, Depends(_ws)]
User = Annotated[str, Depends(_user)]
CSRF = [Depends(csrf)]


@router.get("/")
def home() -> Response:
    return RedirectResponse("/patients", status_code=303)


# ---------------------------------------------------------------------- patients
def _patients_page(
    request: Request, ws: WS, *, error: str = "", text: str = "", status: int = 200
) -> Response:
    rows, broken = ws.screen_all()
    return html(
        request,
        "patients.html",
        {
            "rows": rows,
            "broken": broken,
            "trials": ws.rules.trials,
            "error": error,
            "text": text,
            "record_next": present.record_next,
            "review_count": present.review_count,
        },
        status,
    )


@router.get("/patients")
def patients(request: Request, ws: WS, user: User) -> Response:
    ws.audit(user, "view", detail="patient list")
    return _patients_page(request, ws)


@router.post("/patients", dependencies=CSRF)
async def upload(
    request: Request, ws: WS, user: User, file: UploadFile | None = None, text: Annotated[str, Form()] = ""
) -> Response:
    data: bytes | str = text
    source = "pasted profile"
    if file is not None and file.filename:
        data = await file.read()
        source = file.filename
    if not data or (isinstance(data, str) and not data.strip()):
        return _patients_page(request, ws, error="choose a file or paste a profile first", status=422)
    try:
        row, _notes, _created = ws.add_patient(data, source, user)
    except EligimatchError as exc:
        return _patients_page(
            request, ws, error=str(exc), status=422, text=text if isinstance(data, str) else ""
        )
    return RedirectResponse(f"/patients/{row.id}", status_code=303)


@router.get("/patients/{key}")
def patient(request: Request, ws: WS, user: User, key: int, show: str = "all") -> Response:
    row = ws.get(key)
    s = ws.view(row, user)
    return html(
        request,
        "patient.html",
        {
            "s": s,
            "row": row,
            "show": "open" if show == "open" else "all",
            "audit": ws.store.audit_log(patient=row.id, limit=100),
            "record_next": present.record_next(s.results),
            "trials": {t.id: t for t in ws.rules.trials},
        },
    )


def _after_answer(request: Request, ws: Workspace, key: int, trial_id: str, message: str) -> Response:
    if request.headers.get("hx-request") != "true":
        return RedirectResponse(f"/patients/{key}#trial-{trial_id}", status_code=303)
    row = ws.get(key)
    s = ws.screened(row)
    r = s.result(trial_id)
    return html(
        request,
        "answered.html",
        {
            "s": s,
            "row": row,
            "r": r,
            "show": "all",
            "message": message,
            "open": False,
            "audit": ws.store.audit_log(patient=row.id, limit=100),
            "trials": {t.id: t for t in ws.rules.trials},
        },
    )


@router.post("/patients/{key}/attestations", dependencies=CSRF)
def attest(
    request: Request,
    ws: WS,
    user: User,
    key: int,
    trial: Annotated[str, Form()],
    criterion: Annotated[str, Form()],
    answer: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    row = ws.get(key)
    _att, before, after = ws.attest(
        row, trial=trial, criterion=criterion, answer=answer, reason=reason, actor=user
    )
    change = f"{trial}: {before} → {after}" if before != after else f"{trial} stays {after}"
    return _after_answer(request, ws, key, trial, f"Answer '{answer}' to {criterion} recorded. {change}.")


@router.post("/patients/{key}/attestations/{att_id}/withdraw", dependencies=CSRF)
def withdraw(
    request: Request, ws: WS, user: User, key: int, att_id: int, reason: Annotated[str, Form()] = ""
) -> Response:
    row = ws.get(key)
    att, before, after = ws.withdraw(row, att_id, reason=reason, actor=user)
    change = f"{att.trial}: {before} → {after}" if before != after else f"{att.trial} stays {after}"
    return _after_answer(request, ws, key, att.trial, f"Answer to {att.criterion} withdrawn. {change}.")


# ---------------------------------------------------------------------- trials
def attrition(ws: Workspace, trial_id: str) -> tuple[Attrition, list[Screened]]:
    t = ws.trial(trial_id)
    a = Attrition(t.id, t.meta.title, tuple((c.id, c.spec.kind) for c in t.criteria))
    screened = ws.all_screened()
    for s in screened:
        r = s.result(t.id)
        if r is not None:
            a.add([c.status for c in r.criteria], r.verdict)
    return a, screened


@router.get("/trials")
def trials(request: Request, ws: WS, user: User) -> Response:
    screened = ws.all_screened()
    tally: dict[str, dict[str, int]] = {}
    for t in ws.rules.trials:
        n = {"eligible": 0, "undetermined": 0, "ineligible": 0}
        for s in screened:
            r = s.result(t.id)
            if r is not None:
                n[r.verdict] += 1
        tally[t.id] = n
    return html(
        request, "trials.html", {"trials": ws.rules.trials, "tally": tally, "patients": len(screened)}
    )


@router.get("/trials/{trial_id}")
def trial(request: Request, ws: WS, user: User, trial_id: str) -> Response:
    t = ws.trial(trial_id)
    a, screened = attrition(ws, t.id)
    work = []
    for s in screened:
        r = s.result(t.id)
        if r is not None and r.verdict != "ineligible":
            work.append((len([c for c in r.criteria if c.status == "unknown"]), s, r))
    work.sort(key=lambda w: (w[0], w[1].row.patient_id))
    ws.audit(user, "view", trial=t.id, detail="trial page (worklist)")
    return html(request, "trial.html", {"t": t, "a": a, "steps": a.steps(), "work": work})


# ---------------------------------------------------------------------- audit, sign-in
@router.get("/audit")
def audit(request: Request, ws: WS, user: User) -> Response:
    return html(request, "audit.html", {"events": ws.store.audit_log(limit=500)})


@router.get("/login")
def login_form(request: Request, next: str = "/patients") -> Response:
    return html(request, "login.html", {"next": next, "error": ""})


@router.post("/login", dependencies=CSRF)
def login(
    request: Request,
    ws: WS,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/patients",
) -> Response:
    settings = request.app.state.settings
    if settings.auth != "password":
        return RedirectResponse("/patients", status_code=303)
    target = next if next.startswith("/") and not next.startswith("//") else "/patients"
    if not verify_password(settings.users, username, password):
        ws.audit(username or "?", "sign-in refused")
        return html(
            request, "login.html", {"next": target, "error": "unknown user name or wrong password"}, 401
        )
    codec = request.app.state.codec
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        codec.encode(codec.new(username)),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=settings.session_hours * 3600,
    )
    ws.audit(username, "sign in")
    return response


@router.post("/logout", dependencies=CSRF)
def logout(request: Request, ws: WS, user: User) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    ws.audit(user, "sign out")
    return response
