"""FHIR Observations → labs, ECOG, weight, height, blood pressure, pregnancy status.

Labs and vital signs are identified by LOINC system AND code through the analyte catalogue
(``data/analytes.toml``); 770-8 (neutrophils in %) and the other codes in ``[loinc_refused]`` of
``data/fhir_codes.toml`` are refused with the reason.  The status and the effective date are read
here; the value of a lab or vital sign, with its unit, by :mod:`.measurements`; mCODE's cancer
observations by :mod:`.mcode`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..units import analytes
from .common import (
    LOINC,
    Ctx,
    Mapped,
    Result,
    code_label,
    codings,
    date_span,
    fhir_date,
    lookup,
    partial_date,
    text_of,
)
from .mcode import MCODE_KINDS, map_mcode_observation
from .measurements import analyte_value, canonical_value, unit_of
from .tables import eim_system, tables

__all__ = ["map_observation"]

OK_OBS_STATUS = frozenset({"final", "amended", "corrected"})

# ------------------------------------------------------------------------------- Observation


def _effective(res: Any) -> tuple[dt.date | None, str | None]:
    d, problem, _ = _effective_span(res)
    return d, problem


def _effective_span(res: Any) -> tuple[dt.date | None, str | None, tuple[dt.date, dt.date] | None]:
    """(date, problem, span of a partial date).  A period counts by its end (else its start)."""
    for attr in ("effectiveDateTime", "effectiveInstant"):
        v = getattr(res, attr, None)
        if v is not None:
            d, partial = fhir_date(v)
            return (
                d,
                (partial_date("effective date", partial) if partial else None),
                (date_span(partial) if partial else None),
            )
    period = getattr(res, "effectivePeriod", None)
    if period is not None:
        d, partial = fhir_date(period.end or period.start)
        return (
            d,
            (partial_date("effective period", partial) if partial else None),
            (date_span(partial) if partial else None),
        )
    return None, "no effective date", None


def map_observation(obs: Any, ctx: Ctx) -> Result:
    t = tables()
    if obs.status in ("entered-in-error", "cancelled"):
        return Result(skipped=f"status {obs.status}")
    targets: set[tuple[str, str]] = set()
    refused = []
    for c in codings(obs.code):
        if c.system == LOINC and c.code:
            if c.code in t.loinc_analyte:
                targets.add(("analyte", t.loinc_analyte[c.code]))
            hit = t.lookup("observations", c.system, c.code)
            if hit is not None:
                targets.add((hit, hit))
            why = t.lookup("loinc_refused", c.system, c.code)
            if why is not None:
                refused.append(f"LOINC {c.code} is {why}")
        elif c.system == eim_system("analyte") and c.code in analytes():
            targets.add(("analyte", str(c.code)))
        elif t.lookup("observations", c.system, c.code) is not None:  # mCODE's SNOMED codes
            hit = t.lookup("observations", c.system, c.code)
            targets.add((hit, hit))
    if not targets:
        if refused:
            return Result(unmapped="; ".join(refused))
        loinc = [str(c.code) for c in codings(obs.code) if c.system == LOINC and c.code]
        what = (
            f"LOINC {', '.join(loinc)} is not in eligimatch's analyte catalogue" if loinc else "no LOINC code"
        )
        return Result(unmapped=f"{what} (labs and vital signs are identified by LOINC system and code)")
    if len(targets) > 1:
        return Result(unmapped="its codes name different things: " + ", ".join(sorted(k for _, k in targets)))
    kind, key = targets.pop()
    if kind == "not_used":
        return Result(skipped="an Observation code no criterion uses (fhir_value_sets.toml)")
    if kind in MCODE_KINDS:
        when, _, _ = _effective_span(obs)
        return map_mcode_observation(
            obs, kind, when, obs.status in OK_OBS_STATUS or obs.status == "preliminary"
        )
    if kind == "blood_pressure":
        return _blood_pressure(obs)
    if kind == "pregnancy":
        return _pregnancy(obs)
    a = analytes()[key]
    if key in ("bp_systolic", "bp_diastolic"):
        return Result(
            unmapped="a blood pressure component outside a 85354-9 panel "
            "(systolic and diastolic are read together from the panel)"
        )
    target = key if a.source == "profile" else "labs"
    m = Mapped(target=target, value={}, key=key)
    if obs.status == "registered":
        return Result(skipped="status registered: no result yet")
    if obs.status not in OK_OBS_STATUS and obs.status != "preliminary":
        m.fatal = ("", f"status {obs.status!r} (final, amended, corrected and preliminary results are used)")
        return Result(mapped=[m])
    if obs.status == "preliminary":
        m.notes.append("a preliminary result: used, and it may still change")
    when, date_problem, m.span = _effective_span(obs)
    m.when = when
    if obs.dataAbsentReason is not None:
        m.fatal = ("", f"no value ({text_of(obs.dataAbsentReason) or 'data absent'})")
        return Result(mapped=[m])
    if key == "ecog":
        return _ecog(obs, m, date_problem)
    if target == "labs" and when is None:
        m.fatal = ("", date_problem or "no effective date")
        return Result(mapped=[m])
    if date_problem and when is None and target != "labs" and date_problem != "no effective date":
        m.notes.append(date_problem)
    return analyte_value(obs, a, m, when)


def _ecog(obs: Any, m: Mapped, date_problem: str | None) -> Result:
    values: set[int] = set()
    if obs.valueInteger is not None:
        values.add(int(obs.valueInteger))
    q = obs.valueQuantity
    if q is not None and q.value is not None:
        if q.code not in (None, "1", "{score}") or Decimal(q.value) % 1:
            m.fatal = ("", f"ECOG quantity {q.value} {q.code or q.unit or ''} is not a grade")
            return Result(mapped=[m])
        values.add(int(q.value))
    coded = lookup("ecog_values", codings(obs.valueCodeableConcept))
    values.update(int(v) for v in coded)
    if not values:
        m.fatal = ("", "no ECOG grade (valueInteger or a coded ECOG answer)")
        return Result(mapped=[m])
    interp = {int(v) for v in lookup("ecog_values", codings(obs.interpretation))}
    if len(values | interp) > 1:
        m.fatal = ("", f"ECOG value and interpretation disagree: {sorted(values | interp)}")
        return Result(mapped=[m])
    grade = values.pop()
    if not 0 <= grade <= 5:
        m.fatal = ("", f"ECOG {grade} is not a grade 0-5")
        return Result(mapped=[m])
    m.value = {"value": grade}
    if m.when is not None:
        m.value["date"] = m.when
    elif date_problem and date_problem != "no effective date":
        m.notes.append(date_problem)
    return Result(mapped=[m])


def _blood_pressure(obs: Any) -> Result:
    m = Mapped(target="blood_pressure", value={}, key="bp")
    if obs.status not in OK_OBS_STATUS:
        m.fatal = ("", f"status {obs.status!r}")
        return Result(mapped=[m])
    when, problem = _effective(obs)
    if when is None:
        m.fatal = ("", problem or "no effective date")
        return Result(mapped=[m])
    parts: dict[str, Decimal] = {}
    units = set()
    for comp in obs.component or []:
        codes = {c.code for c in codings(comp.code) if c.system == LOINC}
        name = "systolic" if "8480-6" in codes else "diastolic" if "8462-4" in codes else None
        if name is None:
            continue
        q = comp.valueQuantity
        if q is None or q.value is None:
            m.fatal = ("", f"{name} component has no value")
            return Result(mapped=[m])
        unit, _, bad = unit_of(q)
        if bad or unit is None:
            m.fatal = ("", f"{name}: {bad}")
            return Result(mapped=[m])
        _, wrong = canonical_value(analytes()[f"bp_{name}"], Decimal(q.value), unit)
        if wrong:
            m.fatal = ("", f"{name}: {wrong}")
            return Result(mapped=[m])
        parts[name] = Decimal(q.value)
        units.add(unit)
    if set(parts) != {"systolic", "diastolic"} or len(units) != 1:
        m.fatal = (
            "",
            "the panel needs one systolic (8480-6) and one diastolic (8462-4) component in the same unit",
        )
        return Result(mapped=[m])
    m.value = {
        "systolic": parts["systolic"],
        "diastolic": parts["diastolic"],
        "unit": units.pop(),
        "date": when,
    }
    m.when = when
    return Result(mapped=[m])


def _pregnancy(obs: Any) -> Result:
    m = Mapped(target="pregnant", value={}, key="pregnant")
    if obs.status not in OK_OBS_STATUS:
        m.fatal = ("", f"status {obs.status!r}")
        return Result(mapped=[m])
    m.when, _ = _effective(obs)
    answers = set(lookup("pregnancy_values", codings(obs.valueCodeableConcept)))
    if obs.valueBoolean is not None:
        answers.add(bool(obs.valueBoolean))
    if len(answers) != 1:
        m.fatal = (
            "",
            f"answer {code_label(obs.valueCodeableConcept) or 'missing'} is not a "
            "yes/no pregnancy status eligimatch reads",
        )
        return Result(mapped=[m])
    m.value = {"pregnant": answers.pop()}
    return Result(mapped=[m])
