"""Quantity facts: every measurement of the profile in its analyte's canonical unit.

* Every lab is converted once into its analyte's canonical unit (Fraction, exact).
* The newest result on or before ``as_of`` is the one used; results dated after ``as_of`` are
  impossible and rejected; different results on the newest day are a gap, not a pick.
* A × ULN needs the lab's reference range; without one the analyte's band of plausible ULNs is
  kept for the comparison to try (``QuantityFact.uln_band``).  A range whose upper limit is not a
  plausible ULN is an error.
* Derived quantities: age (calendar-exact), metastatic lesion and organ counts, creatinine
  clearance by Cockcroft–Gault when none was measured; one that cannot be established is a gap
  with the reason (``Facts.quantity_gaps``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .dates import age_in_years
from .errors import Problems, UnitError
from .patient import Patient, Quantity
from .units import Analyte, analytes, format_number
from .vocabulary import suggest

if TYPE_CHECKING:
    from .facts import Facts

__all__ = ["LAB_MAX_AGE_DAYS", "QuantityFact", "check_date", "cockcroft_gault", "labs", "profile_quantities"]

# How many days old a lab result may be when neither the criterion, the trial nor the analyte
# says (a usual screening window).
LAB_MAX_AGE_DAYS = 28


@dataclass(frozen=True)
class QuantityFact:
    """One quantity as evaluated: canonical value (or ordinal / qualitative result)."""

    analyte: Analyte
    value: Fraction | None = None  # canonical unit, exact
    comparator: str | None = None  # censored value: '<' 20 means somewhere below 20
    result: str | None = None  # ordinal / qualitative result
    date: date | None = None
    reported: str = ""  # as written in the patient file
    uln: Fraction | None = None  # canonical unit, exact
    uln_note: str = ""  # where the ULN came from
    uln_band: tuple[Fraction, Fraction] | None = None  # plausible ULNs when the lab gave none
    derived: str = ""  # how a derived value was computed

    def shown(self) -> str:
        a = self.analyte
        if self.result is not None:
            core = self.result
        else:
            assert self.value is not None
            core = (self.comparator or "") + a.show(self.value)
        extra = []
        if self.derived:
            extra.append(self.derived)
        elif self.reported and self.reported != core:
            extra.append(f"reported {self.reported}")
        if self.date is not None and not self.derived:
            extra.append(str(self.date))
        return f"{core} ({', '.join(extra)})" if extra else core


def _quantity(key: str, q: Quantity, where: str, problems: Problems) -> QuantityFact | None:
    a = analytes()[key]
    try:
        spec = a.unit_for(q.unit)
        value = a.to_canonical(q.value, spec)
    except UnitError as exc:
        problems.add(
            f"{where}.unit",
            f"{q.unit!r} is not a unit of {a.name}" if "not a unit of" in exc.reason else str(exc),
        )
        return None
    if not _in_range(a, value, f"{where}.value", problems):
        return None
    same_unit = a.unit is not None and spec.key == a.unit.key
    reported = "" if same_unit else f"{q.comparator or ''}{format_number(q.value, 6)} {q.unit}"
    return QuantityFact(a, value=value, comparator=q.comparator, date=q.date, reported=reported)


def _in_range(a: Analyte, value: Fraction, where: str, problems: Problems) -> bool:
    if (a.min is not None and value < a.min) or (a.max is not None and value > a.max):
        problems.add(where, f"{a.show(value)} is not a possible {a.name}")
        return False
    if a.integer and value.denominator != 1:
        problems.add(where, f"{a.name} must be a whole number")
        return False
    return True


def check_date(d: date | None, as_of: date, where: str, problems: Problems) -> None:
    if d is not None and d > as_of:
        problems.add(where, f"date {d} is after the evaluation date {as_of}")


def profile_quantities(p: Patient, facts: Facts, problems: Problems) -> None:
    as_of = facts.as_of
    if p.birth_date is not None:
        check_date(p.birth_date, as_of, "birth_date", problems)
        if p.birth_date <= as_of:
            age = Fraction(age_in_years(p.birth_date, as_of))
            if _in_range(analytes()["age"], age, "birth_date", problems):
                facts.quantities["age"] = QuantityFact(
                    analytes()["age"], value=age, derived=f"born {p.birth_date}"
                )
    for key, q in (("weight", p.weight), ("height", p.height), ("life_expectancy", p.life_expectancy)):
        if q is not None:
            check_date(q.date, as_of, f"{key}.date", problems)
            qf = _quantity(key, q, key, problems)
            if qf is not None:
                facts.quantities[key] = qf
    if p.ecog is not None:
        check_date(p.ecog.date, as_of, "ecog.date", problems)
        facts.quantities["ecog"] = QuantityFact(
            analytes()["ecog"], value=Fraction(p.ecog.value), date=p.ecog.date
        )
    if p.diagnosis is not None and p.diagnosis.size is not None:
        qf = _quantity("tumour_size", p.diagnosis.size, "diagnosis.size", problems)
        if qf is not None:
            facts.quantities["tumour_size"] = qf
    if p.blood_pressure is not None:
        for i, bp in enumerate(p.blood_pressure):
            check_date(bp.date, as_of, f"blood_pressure[{i}].date", problems)
        if p.blood_pressure:
            latest = max(p.blood_pressure, key=_bp_order)
            for key, v in (("bp_systolic", latest.systolic), ("bp_diastolic", latest.diastolic)):
                qf = _quantity(
                    key, Quantity(value=v, unit=latest.unit, date=latest.date), "blood_pressure", problems
                )
                if qf is not None:
                    facts.quantities[key] = qf
    if p.metastases is not None:
        # a metastasis without a status may or may not be resolved: it makes the counts unknown
        # (counting it, or not, would let forgetting the status change a known count)
        unsure = sorted({m.site or "an unclassified site" for m in p.metastases if m.status is None})
        live = [m for m in p.metastases if m.status not in (None, "resolved")]
        counts = [m.lesion_count for m in live]
        organs = {m.site for m in live}
        if unsure:
            facts.quantity_gaps["metastatic_lesion_count"] = (
                f"status (resolved or not) of the metastases at {', '.join(unsure)}",
                f"not recorded whether the metastases at {', '.join(unsure)} are resolved",
            )
        elif all(c is not None for c in counts):
            facts.quantities["metastatic_lesion_count"] = QuantityFact(
                analytes()["metastatic_lesion_count"],
                value=Fraction(sum(c or 0 for c in counts)),
                derived="sum of recorded metastatic lesions",
            )
        else:
            facts.quantity_gaps["metastatic_lesion_count"] = (
                "number of lesions at every metastatic site",
                "number of lesions not recorded for every metastatic site",
            )
        maybe = sorted(set(unsure) - organs)
        if None in organs:  # a metastasis whose site was not classified may be a new organ
            facts.quantity_gaps["metastatic_organ_count"] = (
                "the site of every metastasis",
                "the site of a metastasis could not be classified",
            )
        elif maybe:
            facts.quantity_gaps["metastatic_organ_count"] = (
                f"status (resolved or not) of the metastases at {', '.join(maybe)}",
                f"not recorded whether the metastases at {', '.join(maybe)} are resolved",
            )
        else:
            facts.quantities["metastatic_organ_count"] = QuantityFact(
                analytes()["metastatic_organ_count"],
                value=Fraction(len(organs)),
                derived=f"organs: {', '.join(sorted(o for o in organs if o)) or 'none'}",
            )


def _bp_order(b: Any) -> tuple[Any, ...]:
    """Newest reading first, then the highest, compared in mmHg whatever unit each is in."""
    a = analytes()["bp_systolic"]
    try:
        spec = a.unit_for(b.unit)
        values = (a.to_canonical(b.systolic, spec), a.to_canonical(b.diastolic, spec))
    except UnitError:  # reported when the reading is used
        values = (Fraction(b.systolic), Fraction(b.diastolic))
    return (b.date, *values, b.unit)


def labs(p: Patient, facts: Facts, problems: Problems) -> None:
    if p.labs is None:
        return
    catalogue = analytes()
    by_test: dict[str, list[tuple[int, QuantityFact]]] = {}
    for i, lab in enumerate(p.labs):
        where = f"labs[{i}]"
        a = catalogue.get(lab.test)
        if a is None or a.source != "lab":
            names = [k for k, v in catalogue.items() if v.source == "lab"]
            problems.add(f"{where}.test", f"unknown test {lab.test!r}{suggest(lab.test, names)}")
            continue
        check_date(lab.date, facts.as_of, f"{where}.date", problems)
        qf = _lab_fact(a, lab, where, problems)
        if qf is not None:
            by_test.setdefault(a.key, []).append((i, qf))
    for key, results in by_test.items():
        newest = max(r.date or date.min for _, r in results)
        latest = [r for _, r in results if r.date == newest]
        distinct = {(r.value, r.comparator, r.result) for r in latest}
        if len(distinct) > 1:
            short = catalogue[key].short
            facts.quantity_gaps[key] = (
                f"a single {short} result",
                f"{short}: {len(latest)} different results on {newest}",
            )
            continue
        facts.quantities[key] = min(latest, key=lambda r: (r.uln is None, r.uln or 0, r.reported, r.uln_note))


def _lab_fact(a: Analyte, lab: Any, where: str, problems: Problems) -> QuantityFact | None:
    if a.kind != "quantity":
        if lab.result is None:
            problems.add(where, f"{a.name} takes a 'result' ({', '.join(a.scale or a.values)})")
            return None
        allowed = a.scale or a.values
        res = lab.result.lower() if lab.result.lower() in allowed else lab.result
        if res not in allowed:
            problems.add(
                f"{where}.result",
                f"{lab.result!r} is not a result of {a.name} (expected one of {', '.join(allowed)})",
            )
            return None
        return QuantityFact(a, result=res, date=lab.date, reported=lab.result)
    if lab.value is None:
        problems.add(where, f"{a.name} needs a numeric 'value' and 'unit'")
        return None
    qf = _quantity(
        a.key,
        Quantity(value=lab.value, unit=lab.unit, comparator=lab.comparator, date=lab.date),
        where,
        problems,
    )
    if qf is None:
        return None
    uln, note, band = None, "", None
    rr = lab.reference_range
    if rr is not None and rr.high is not None:
        unit_text = rr.unit or lab.unit
        try:
            uln = a.to_canonical(rr.high, a.unit_for(unit_text))
            note = f"ULN {format_number(rr.high, 6)} {unit_text} from the lab's reference range"
        except UnitError:
            problems.add(f"{where}.reference_range.unit", f"{unit_text!r} is not a unit of {a.name}")
            return None
        if rr.low is not None and rr.low > rr.high:
            problems.add(f"{where}.reference_range", "low is above high")
            return None
        if a.uln_band is not None and not a.uln_band[0] <= uln <= a.uln_band[1]:
            lo, hi = (a.show(x) for x in a.uln_band)
            shown = f"{format_number(rr.high, 6)} {unit_text}"
            if rr.unit is None:
                problems.add(
                    f"{where}.reference_range.unit",
                    f"the range gives no unit, and {shown} (the result's unit) is not a "
                    f"plausible upper limit of normal of {a.name} ({lo} to {hi}): give "
                    f"the range's unit",
                )
            else:
                problems.add(
                    f"{where}.reference_range.high",
                    f"{shown} is not a plausible upper limit of normal of {a.name} ({lo} to {hi})",
                )
            return None
    elif a.uln_band is not None:
        band = a.uln_band
        note = "the lab reported no reference range"
    return QuantityFact(
        a,
        value=qf.value,
        comparator=qf.comparator,
        date=lab.date,
        reported=qf.reported,
        uln=uln,
        uln_note=note,
        uln_band=band,
    )


def cockcroft_gault(p: Patient, facts: Facts) -> None:
    """Estimate CrCl (mL/min) when none was measured: (140 − age) × kg / (72 × Scr mg/dL)."""
    if "crcl" in facts.quantities or "crcl" in facts.quantity_gaps:
        return
    need = []
    age = facts.quantities.get("age")
    weight = facts.quantities.get("weight")
    scr = facts.quantities.get("creatinine")
    if age is None:
        need.append("age")
    if weight is None:
        need.append("weight")
    else:
        limit = weight.analyte.max_age_days
        if weight.date is None:
            need.append("a dated weight")
        elif limit is not None and (facts.as_of - weight.date).days > limit:
            need.append(
                f"a weight from the last {limit} days (the one recorded, "
                f"{weight.date}, is {(facts.as_of - weight.date).days} days old)"
            )
    if p.sex is None:
        need.append("sex")
    if scr is None or scr.value is None or scr.comparator is not None:
        need.append("serum creatinine")
    if need:
        facts.quantity_gaps["crcl"] = (
            "CrCl (or " + ", ".join(need) + " for Cockcroft–Gault)",
            "CrCl not measured, and Cockcroft–Gault needs " + ", ".join(need),
        )
        return
    assert age and weight and scr and age.value is not None and weight.value is not None
    assert scr.value is not None
    crea = analytes()["creatinine"]
    mg_dl = crea.to_canonical(1, crea.unit_for("mg/dL"))  # µmol/L per mg/dL
    scr_mg_dl = scr.value / mg_dl
    if scr_mg_dl <= 0:
        facts.quantity_gaps["crcl"] = ("measured CrCl", "CrCl cannot be estimated from a creatinine of 0")
        return
    value = (140 - age.value) * weight.value / (72 * scr_mg_dl)
    if p.sex == "female":
        value *= Fraction(85, 100)
    value = max(value, Fraction(0))
    facts.quantities["crcl"] = QuantityFact(
        analytes()["crcl"],
        value=value,
        date=scr.date,
        derived=(
            f"Cockcroft–Gault estimate from age {format_number(age.value)}, weight "
            f"{format_number(weight.value)} kg, {p.sex}, creatinine "
            f"{format_number(scr_mg_dl, 3)} mg/dL on {scr.date}"
        ),
    )
