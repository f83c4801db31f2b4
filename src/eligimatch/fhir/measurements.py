"""The value of a lab result or vital sign read from a FHIR Observation, checked against its analyte.

Units are read from the UCUM ``code`` through ``data/ucum_units.toml`` (:func:`unit_of`); the value
is checked against the analyte's dimension and possible range before it is accepted
(:func:`canonical_value`); a comparator keeps a censored value censored, and the one normal
``referenceRange`` gives the ULN.  Ordinal and qualitative results must be one of the analyte's
values.  Which Observation is which analyte is decided by :mod:`.observations`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..errors import UnitError
from ..units import Analyte, format_number
from .common import LOINC, Mapped, Result, codings, text_of
from .tables import UCUM, tables

__all__ = ["analyte_value", "canonical_value", "unit_of"]

# ------------------------------------------------------------------------------- units


def unit_of(q: Any, a: Analyte | None = None) -> tuple[str | None, str | None, str | None]:
    """(unit text for the profile, note, problem) for a FHIR Quantity.

    The UCUM ``code`` (system http://unitsofmeasure.org) is read through ``ucum_units.toml``.  A
    quantity with a human ``unit`` but no UCUM code is accepted only when that text is itself a
    UCUM code listed in the table (a lab that put the code in ``unit`` and left ``code`` out);
    the note says so.  Anything else is a problem, never a guess.
    """
    t = tables()
    if q.code and q.system == UCUM:
        unit = t.ucum.get(q.code)
        if unit is None:
            return None, None, f"UCUM unit {q.code!r} is not in eligimatch's UCUM table"
        return unit, None, None
    if q.code and q.system not in (None, UCUM):
        where = f"code {q.code!r} of system {q.system!r}"
    elif q.code:
        where = f"code {q.code!r} without a system"
    else:
        where = ""
    text = q.unit
    if text and text in t.ucum:
        how = f"beside {where}" if where else "without a UCUM code"
        return (
            t.ucum[text],
            f"unit read from the text {text!r} ({how}): it is exactly a UCUM code in eligimatch's table",
            None,
        )
    if text:
        return (
            None,
            None,
            (f"unit {text!r} has no UCUM code and is not a UCUM code eligimatch lists; not guessed"),
        )
    if where:
        return None, None, f"unit given only as {where}, not UCUM"
    if a is not None and a.unit is not None and len(a.unit.dimensionality) == 0:
        return "1", "no unit given; the analyte is a pure number", None
    return None, None, "the quantity has no unit"


def canonical_value(a: Analyte, value: Decimal, unit: str) -> tuple[Any, str | None]:
    """(the value in the analyte's canonical unit, problem): ``unit`` must be a unit of the
    analyte and the value one it can possibly have."""
    try:
        v = a.to_canonical(value, a.unit_for(unit))
    except UnitError as exc:
        return None, f"{unit!r} is not a unit of {a.name}" if "not a unit of" in exc.reason else str(exc)
    if (a.min is not None and v < a.min) or (a.max is not None and v > a.max):
        try:
            shown = f"{format_number(value, 6)} {unit} ({a.show(v)})"
        except ArithmeticError:  # too large to print plainly
            shown = f"{value:.6g} {unit}"
        return None, f"{shown} is not a possible {a.name}"
    return v, None


# ------------------------------------------------------------------------------- values

_COMPARATORS = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


def analyte_value(obs: Any, a: Analyte, m: Mapped, when: dt.date | None) -> Result:
    """The Observation's value as the analyte's result (``m`` carries its target, date and notes)."""
    if a.kind != "quantity":
        return _ordinal(obs, a, m, when)
    return _quantity_obs(obs, a, m, when)


def _quantity_obs(obs: Any, a: Analyte, m: Mapped, when: dt.date | None) -> Result:
    q = obs.valueQuantity
    if q is None or q.value is None:
        m.fatal = ("", "no numeric valueQuantity")
        return Result(mapped=[m])
    unit, note, problem = unit_of(q, a)
    if problem or unit is None:
        m.fatal = ("", problem or "no unit")
        return Result(mapped=[m])
    if note:
        m.notes.append(note)
    if q.comparator is not None and q.comparator not in _COMPARATORS:
        m.fatal = ("", f"comparator {q.comparator!r} cannot be read as a bound")
        return Result(mapped=[m])
    value = Decimal(q.value)
    _, bad = canonical_value(a, value, unit)
    if bad:
        m.fatal = ("", bad)
        return Result(mapped=[m])
    v: dict[str, Any] = {"value": value, "unit": unit}
    if q.comparator:
        v["comparator"] = q.comparator
    if m.target == "labs":
        v = {"test": a.key, **v, "date": when}
        loinc = [c.code for c in codings(obs.code) if c.system == LOINC and c.code in a.loinc]
        if loinc:
            v["loinc"] = loinc[0]
        rr, rr_problem, rr_note = _reference_range(obs, a, unit)
        if rr_problem:
            if a.uln_band is not None:
                m.fatal = (
                    "",
                    f"{rr_problem}; without it eligimatch would decide × ULN on its "
                    "band of plausible ULNs instead of the lab's own",
                )
                return Result(mapped=[m])
            m.notes.append(f"{rr_problem}; the reference range is left out")
        if rr_note:
            m.notes.append(rr_note)
        if rr:
            v["reference_range"] = rr
    elif when is not None:
        v["date"] = when
    m.value = v
    return Result(mapped=[m])


def _reference_range(obs: Any, a: Analyte, unit: str) -> tuple[dict[str, Any] | None, str | None, str | None]:
    ranges = []
    for r in obs.referenceRange or []:
        kinds = {c.code for c in codings(r.type)}
        if kinds and "normal" not in kinds:
            continue
        if r.appliesTo or r.age is not None:
            return None, "reference range restricted to a population (appliesTo/age)", None
        ranges.append(r)
    if not ranges:
        return None, None, None
    if len(ranges) > 1:
        return None, f"{len(ranges)} normal reference ranges", None
    r = ranges[0]
    out: dict[str, Any] = {}
    notes = []
    units = set()
    for end in ("low", "high"):
        q = getattr(r, end)
        if q is None or q.value is None:
            continue
        u, note, problem = unit_of(q, a)
        if problem or u is None:
            return None, f"reference range {end}: {problem}", None
        if note:
            notes.append(f"reference range {end}: {note}")
        _, bad = canonical_value(a, Decimal(q.value), u)
        if bad and "not a possible" not in bad:
            return None, f"reference range {end}: {bad}", None
        out[end] = Decimal(q.value)
        units.add(u)
    if not out:
        return None, None, None
    if len(units) > 1:
        return None, "reference range low and high in different units", None
    u = units.pop()
    if u != unit:
        out["unit"] = u
    if "high" in out and a.uln_band is not None:
        uln, bad = canonical_value(a, out["high"], u)
        if uln is not None and not bad and not a.uln_band[0] <= uln <= a.uln_band[1]:
            lo, hi = (a.show(x) for x in a.uln_band)
            return (
                None,
                (
                    f"reference range upper limit {out['high']} {u} is not a plausible "
                    f"upper limit of normal of {a.name} ({lo} to {hi})"
                ),
                None,
            )
    return out, None, "; ".join(notes) or None


def _ordinal(obs: Any, a: Analyte, m: Mapped, when: dt.date | None) -> Result:
    text = obs.valueString or text_of(obs.valueCodeableConcept)
    allowed = a.scale or a.values
    if not text or text.strip().lower() not in allowed:
        m.fatal = ("", f"result {text!r} is not one of {', '.join(allowed)}")
        return Result(mapped=[m])
    m.value = {"test": a.key, "result": text.strip().lower(), "date": when}
    return Result(mapped=[m])
