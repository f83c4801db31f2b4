"""mCODE Observations → TNM categories, tumour size, ECOG from Karnofsky (used by :mod:`.observations`).

* **TNM categories** (TNMPrimaryTumorCategory, -RegionalNodes-, -DistantMetastases-; clinical
  or pathological) → ``diagnosis.stage`` ``t`` / ``n`` / ``m``: the answer's SNOMED CT code through
  ``[tnm_values]`` of ``data/fhir_codes.toml``, or an AJCC code (http://cancerstaging.org) read from
  the code itself.  The newest of each is used (clinical and pathological alike); two different
  ones on the same day leave it unrecorded.  N2/N3 have no equivalent in the profile (N0, N1, NX)
  and leave N unrecorded; M1a-c are M1.  An answer of the wrong category is an error of the record
  and leaves that category unrecorded.  ``system`` is "AJCC 8" when the method says so.
* **TNM stage group** and **CancerDiseaseStatus** are recognised and listed as skipped: the profile
  has no field for a stage group or for the course of the disease (nothing is derived from them).
* **TumorSize** (21889-1) → ``diagnosis.size``: the longest dimension (component 33728-7, else the
  value), in a length unit.
* **Karnofsky** (89243-0) → ECOG, only where the published conversion tables agree
  (``[karnofsky_ecog]``): KPS 80 is ECOG 1; KPS 90 may be ECOG 0 or 1 and decides only together
  with an ECOG of the same day.

The stage and size attach to the index diagnosis only when their ``focus`` is absent or is the
Condition chosen as the index diagnosis (:mod:`eligimatch.fhir.assemble`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ..errors import UnitError
from ..units import analytes
from .common import Mapped, Result, codings, text_of
from .measurements import unit_of
from .tables import tables

__all__ = ["MCODE_KINDS", "map_mcode_observation"]

MCODE_KINDS = frozenset(
    {"stage_group", "stage_t", "stage_n", "stage_m", "tumour_size", "disease_status", "karnofsky"}
)
LONGEST = "33728-7"  # Size.maximum dimension in Tumor
AJCC8 = "897275008"  # AJCC Cancer Staging Manual, 8th edition
_AJCC_CODE = re.compile(r"(?:y?[cp]|r|a)?([TNM])(.*)")


def map_mcode_observation(obs: Any, kind: str, when: Any, ok_status: bool) -> Result:
    """``when`` is the observation's effective date; ``ok_status`` whether its status is one
    whose result is used."""
    value_text = text_of(obs.valueCodeableConcept) or (str(obs.valueString) if obs.valueString else None)
    if kind == "stage_group":
        shown = f" ({value_text})" if value_text else ""
        return Result(
            skipped=f"a TNM stage group{shown}: the profile has no stage-group field "
            "(T, N and M are read from their own Observations)"
        )
    if kind == "disease_status":
        shown = f" {value_text!r}" if value_text else ""
        return Result(
            skipped=f"cancer disease status{shown}: the profile has no field for the course of the disease"
        )
    target = "ecog" if kind == "karnofsky" else kind
    m = Mapped(target=target, value={}, key=kind, when=when)
    m.refs = tuple(str(f.reference) for f in obs.focus or [] if f.reference)
    if not ok_status:
        m.fatal = ("", f"status {obs.status!r} (final, amended, corrected and preliminary results are used)")
        return Result(mapped=[m])
    if obs.dataAbsentReason is not None:
        return Result(skipped=f"no value ({text_of(obs.dataAbsentReason) or 'data absent'})")
    if kind in ("stage_t", "stage_n", "stage_m"):
        return _tnm(obs, kind, m)
    if kind == "tumour_size":
        return _size(obs, m)
    return _karnofsky(obs, m)


def _tnm(obs: Any, kind: str, m: Mapped) -> Result:
    t = tables()
    letter = kind[-1].upper()
    found: set[str] = set()
    absent = False
    for c in codings(obs.valueCodeableConcept):
        hit = t.lookup("tnm_values", c.system, c.code)
        if hit is None and t.alias(c.system) == "ajcc" and c.code:
            match = _AJCC_CODE.fullmatch(str(c.code))
            hit = f"{match.group(1)}{match.group(2)}" if match else None
        if hit is not None:
            found.add(str(hit))
        elif c.system == "http://terminology.hl7.org/CodeSystem/data-absent-reason":
            absent = True
    if absent and not found:
        return Result(
            skipped=f"no {letter} category given ({text_of(obs.valueCodeableConcept) or 'data absent'})"
        )
    if len(found) != 1:
        why = (
            "its answer codes disagree: " + ", ".join(sorted(found))
            if found
            else f"the answer ({text_of(obs.valueCodeableConcept) or 'none'}) is not a TNM code "
            "eligimatch reads"
        )
        m.fatal = ("", why)
        return Result(mapped=[m])
    value = found.pop()
    if not value.startswith(letter):
        m.fatal = ("", f"a {value} answer to the {letter} category")
        return Result(mapped=[m])
    if letter == "N":
        if value not in ("N0", "NX") and not value.startswith("N1"):
            m.fatal = ("", f"{value} has no equivalent in the profile (N0, N1, NX)")
            return Result(mapped=[m])
        value = "N1" if value.startswith("N1") else value
    if letter == "M":
        if value not in ("M0", "MX") and not value.startswith("M1"):
            m.fatal = ("", f"{value} has no equivalent in the profile (M0, M1, MX)")
            return Result(mapped=[m])
        value = "M1" if value.startswith("M1") else value
    m.value = {letter.lower(): value}
    if any(c.code == AJCC8 for c in codings(obs.method)):
        m.value["system"] = "AJCC 8"
    return Result(mapped=[m])


def _size(obs: Any, m: Mapped) -> Result:
    a = analytes()["tumour_size"]
    qs = [
        c.valueQuantity
        for c in obs.component or []
        if any(x.code == LONGEST for x in codings(c.code)) and c.valueQuantity is not None
    ]
    if not qs and obs.valueQuantity is not None:
        qs = [obs.valueQuantity]
    if len(qs) != 1 or qs[0].value is None:
        m.fatal = (
            "",
            "no longest dimension (component 33728-7 or a value)"
            if not qs
            else f"{len(qs)} longest dimensions",
        )
        return Result(mapped=[m])
    q = qs[0]
    unit, note, problem = unit_of(q, a)
    if problem or unit is None:
        m.fatal = ("", problem or "no unit")
        return Result(mapped=[m])
    if note:
        m.notes.append(note)
    if q.comparator:
        m.fatal = ("", f"a censored size ({q.comparator} {q.value} {unit})")
        return Result(mapped=[m])
    try:
        v = a.to_canonical(Decimal(q.value), a.unit_for(unit))
    except UnitError:
        m.fatal = ("", f"{unit!r} is not a unit of length")
        return Result(mapped=[m])
    if (a.min is not None and v < a.min) or (a.max is not None and v > a.max):
        m.fatal = ("", f"{q.value} {unit} is not a possible tumour size")
        return Result(mapped=[m])
    m.value = {"value": Decimal(q.value), "unit": unit}
    if m.when is not None:
        m.value["date"] = m.when
    return Result(mapped=[m])


def _karnofsky(obs: Any, m: Mapped) -> Result:
    score: Any = obs.valueInteger
    if score is None and obs.valueQuantity is not None and obs.valueQuantity.value is not None:
        score = obs.valueQuantity.value
    table = tables().karnofsky_ecog
    if score is None or Decimal(score) % 1 or int(score) not in table:
        return Result(unmapped=f"Karnofsky score {score!r} is not one of 0, 10, ..., 100")
    grades = table[int(score)]
    m.value = {"options": list(grades)}
    if len(grades) == 1:
        m.notes.append(
            f"ECOG {grades[0]} from Karnofsky {int(score)} (the published conversion tables agree)"
        )
    return Result(mapped=[m])
