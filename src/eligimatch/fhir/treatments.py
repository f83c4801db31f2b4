"""FHIR Procedures and Immunizations → treatments; AllergyIntolerances → allergies.

Procedures are typed through eligimatch's treatment-type coding, the mCODE procedure profiles or
``[procedures]`` of ``data/fhir_codes.toml``; an mCODE radiotherapy course over several volumes is
one item per volume, with its site and dose.  Medication resources are read by
:mod:`.medications`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .common import (
    Ctx,
    Mapped,
    Result,
    body_site,
    code_label,
    codings,
    eim_codes,
    extensions,
    fhir_date,
    lookup,
    partial_date,
    profiles,
    text_of,
)
from .tables import MCODE

__all__ = ["coded_intents", "map_allergy", "map_immunization", "map_procedure"]

SEVERITY_ORDER = {"mild": 1, "moderate": 2, "severe": 3}

# ------------------------------------------------------------------------------- Procedure


def map_procedure(proc: Any, ctx: Ctx) -> Result:
    if proc.status in ("entered-in-error", "not-done"):
        return Result(skipped=f"status {proc.status}")
    cats = codings(proc.category)
    codes = codings(proc.code)
    types = eim_codes(cats + codes, "treatment-type")
    ttype = types[0] if len(types) == 1 else None
    if ttype is None:
        profs = profiles(proc)
        if MCODE + "mcode-cancer-related-surgical-procedure" in profs:
            ttype = "surgery"
        elif profs & {
            MCODE + "mcode-radiotherapy-course-summary",
            MCODE + "mcode-cancer-related-radiation-procedure",
        }:
            ttype = "radiotherapy"
    entries = lookup("procedures", cats + codes)
    if ttype is None:
        kinds = {e["type"] for e in entries}
        if kinds == {"not_a_treatment"}:
            return Result(skipped="a procedure that is not a treatment (procedures table)")
        kinds.discard("not_a_treatment")
        if len(kinds) == 1:
            ttype = kinds.pop()
    m = Mapped(target="treatments", value={})
    if ttype is None:
        # kept as an unclassified treatment: only criteria that could match it become unknown
        m.gaps["type"] = (
            "procedure code not in eligimatch's procedure table: kept as an unclassified treatment"
        )
    if proc.status == "preparation":
        return Result(skipped="status preparation: not yet done")
    if proc.status not in ("completed", "in-progress", "stopped"):
        m.fatal = ("", f"status {proc.status!r}: not known whether it took place")
    v: dict[str, Any] = {
        "type": ttype,
        "name": text_of(proc.code)
        or (code_label(proc.code) if ttype is None else None)
        or ("a procedure with no code or text" if ttype is None else None),
    }
    d, partial = fhir_date(proc.performedDateTime)
    if d:
        v["date"] = d
    elif proc.performedPeriod is not None:
        v["start"], p1 = fhir_date(proc.performedPeriod.start)
        v["end"], p2 = fhir_date(proc.performedPeriod.end)
        for p in (p1, p2):
            if p:
                m.notes.append(partial_date("performed period", p))
    elif partial:
        m.notes.append(partial_date("performed date", partial))
    if proc.status == "in-progress":
        v["ongoing"] = True
    elif not (v.get("date") or v.get("end")):
        v["ongoing"] = False if proc.status in ("completed", "stopped") else None
    intents = coded_intents(proc)
    intents.update(e["intent"] for e in entries if "intent" in e)
    if len(intents) == 1:
        v["intent"] = intents.pop()
    site, _ = body_site(proc.bodySite)
    v["site"] = site
    volumes = _volumes(proc, ctx)
    if len(volumes) > 1:
        # one course over several volumes: one radiotherapy item per volume, each with the
        # volume's site and its dose (a cumulative dose to "the same site" is per volume)
        out = []
        for vsite, dose, why in volumes:
            mv = Mapped(target="treatments", value={}, gaps=dict(m.gaps), fatal=m.fatal, notes=list(m.notes))
            vv = {**v, "site": vsite or site, "dose_gy": dose}
            if why:
                mv.gaps["dose_gy"] = why
            mv.notes.append(
                f"a radiotherapy course over {len(volumes)} volumes: one treatment "
                "item per volume, with its site and dose"
            )
            mv.value = {k: val for k, val in vv.items() if val is not None}
            out.append(mv)
        return Result(mapped=out)
    if volumes:
        vsite, v["dose_gy"], why = volumes[0]
        v["site"] = site or vsite
        if why:
            m.gaps["dose_gy"] = why
    m.value = {k: val for k, val in v.items() if val is not None}
    return Result(mapped=[m])


def _volumes(proc: Any, ctx: Ctx) -> list[tuple[str | None, Decimal | None, str | None]]:
    """(site, dose in Gy, why the dose is unrecorded) of each mCODE dose-delivered-to-volume
    extension.  The site is the volume's BodyStructure location (or description)."""
    out = []
    for ext in extensions(proc, MCODE + "mcode-radiotherapy-dose-delivered-to-volume"):
        site = None
        dose: Decimal | None = None
        why: str | None = "no total dose delivered to the volume"
        for sub in ext.extension or []:
            if sub.url == "volume" and sub.valueReference is not None:
                vol = ctx.resolve(str(sub.valueReference.reference or ""))
                if vol is not None and vol.get_resource_type() == "BodyStructure":
                    site = text_of(vol.location) or (str(vol.description) if vol.description else None)
            elif sub.url == "totalDoseDelivered" and sub.valueQuantity is not None:
                q = sub.valueQuantity
                if (
                    q.value is not None
                    and q.code in ("cGy", "Gy")
                    and (q.system in (None, "http://unitsofmeasure.org"))
                ):
                    dose, why = Decimal(q.value) / (100 if q.code == "cGy" else 1), None
                else:
                    why = f"dose {q.value} {q.code or q.unit or ''} is not in Gy or cGy"
        out.append((site, dose, why))
    return out


def coded_intents(res: Any) -> set[str]:
    """The treatment intents (curative, palliative, ...) coded in a resource's mCODE
    procedure-intent extensions (``[intents]`` of ``data/fhir_codes.toml``)."""
    return set(
        lookup(
            "intents",
            codings(
                [
                    e.valueCodeableConcept
                    for e in extensions(res, MCODE + "mcode-procedure-intent")
                    if e.valueCodeableConcept
                ]
            ),
        )
    )


# ------------------------------------------------------------------------------- allergies, immunizations


def map_allergy(res: Any, ctx: Ctx) -> Result:
    ver = {c.code for c in codings(res.verificationStatus)}
    if ver & {"refuted", "entered-in-error"}:
        return Result(skipped=f"verification status {', '.join(sorted(ver))}")
    clinical = {c.code for c in codings(res.clinicalStatus)}
    if clinical & {"inactive", "resolved"}:
        return Result(skipped=f"clinical status {', '.join(sorted(clinical))}")
    m = Mapped(target="allergies", value={})
    substance = text_of(res.code)
    if not substance:
        m.fatal = ("", "no substance named")
        return Result(mapped=[m])
    kinds = {
        {"medication": "drug", "food": "food", "environment": "environmental", "biologic": "other"}.get(
            str(c)
        )
        for c in res.category or []
    }
    kinds.discard(None)
    severities = [r.severity for r in res.reaction or [] if r.severity in SEVERITY_ORDER]
    if any(r.severity and r.severity not in SEVERITY_ORDER for r in res.reaction or []):
        m.notes.append("a reaction severity is not mild, moderate or severe")
    value = {
        "substance": substance,
        "kind": kinds.pop() if len(kinds) == 1 else None,
        "severity": max(severities, key=SEVERITY_ORDER.__getitem__) if severities else None,
    }
    m.value = {k: v for k, v in value.items() if v is not None}
    return Result(mapped=[m])


def map_immunization(res: Any, ctx: Ctx) -> Result:
    if res.status in ("not-done", "entered-in-error"):
        return Result(skipped=f"status {res.status}")
    d, partial = fhir_date(res.occurrenceDateTime)
    m = Mapped(target="treatments", value={"type": "vaccine", "name": text_of(res.vaccineCode)})
    if d:
        m.value["date"] = d
    elif partial or res.occurrenceString:
        m.notes.append(f"occurrence {partial or res.occurrenceString!r} is not a full date")
    m.value = {k: v for k, v in m.value.items() if v is not None}
    return Result(mapped=[m])
