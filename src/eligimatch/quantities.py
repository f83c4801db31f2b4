"""Quantity facts: every measurement of the profile in its analyte's canonical unit.

* Every measurement is converted once into its analyte's canonical unit (Fraction, exact); labs,
  with the newest result and the ULN, are read by :mod:`.labfacts`.
* Derived quantities: age (calendar-exact), metastatic lesion and organ counts, creatinine
  clearance by Cockcroft–Gault when none was measured; one that cannot be established is a gap
  with the reason (``Facts.quantity_gaps``).
* What depends only on a value, its unit and the analyte (the canonical value, the texts) is
  remembered for the values met most (:func:`canonical`, :func:`number_text`; bounded memos):
  clinical values repeat, and a remembered reading is the one computed afresh.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .dates import age_in_years
from .errors import Problems, UnitError
from .patient import Patient, Quantity
from .units import Analyte, analytes, format_number
from .units.conversion import Number

if TYPE_CHECKING:
    from .facts import Facts

__all__ = [
    "LAB_MAX_AGE_DAYS",
    "QuantityFact",
    "canonical",
    "check_date",
    "cockcroft_gault",
    "fact",
    "measured",
    "number_text",
    "profile_quantities",
    "remember",
]

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


# every field but the analyte, with its default (all have one)
_DEFAULTS = {f.name: f.default for f in fields(QuantityFact) if f.name != "analyte"}
if MISSING in _DEFAULTS.values():  # pragma: no cover - a field added without a default
    raise TypeError("fact() needs a default for every field of QuantityFact but the analyte")


def fact(analyte: Analyte, **values: Any) -> QuantityFact:
    """``QuantityFact(analyte, **values)``, the same object built at once: a frozen dataclass's
    ``__init__`` sets each field through ``object.__setattr__`` (a third of a lab's cost)."""
    qf = object.__new__(QuantityFact)
    qf.__dict__.update(_DEFAULTS, analyte=analyte, **values)
    return qf


def _quantity(key: str, q: Quantity, where: str, problems: Problems) -> QuantityFact | None:
    return measured(analytes()[key], q.value, q.unit, q.comparator, q.date, where, problems)


def measured(
    a: Analyte,
    number: Decimal,
    unit: str,
    comparator: str | None,
    when: date | None,
    where: str,
    problems: Problems,
) -> QuantityFact | None:
    """``number`` ``unit`` of ``a`` in its canonical unit, or None with the problem recorded."""
    got = canonical(a, number, unit, comparator, where, problems)
    if got is None:
        return None
    return fact(a, value=got[0], comparator=comparator, date=when, reported=got[1])


# (id of the analyte, number, unit, comparator) → (the analyte, canonical value, as reported):
# a pure function of the key, remembered for the values met most (bounded: the input chooses)
_CANONICAL: dict[tuple[Any, ...], tuple[Analyte, Fraction, str]] = {}
_MEMO_MAX = 8192


def canonical(
    a: Analyte, number: Decimal, unit: str, comparator: str | None, where: str, problems: Problems
) -> tuple[Fraction, str] | None:
    """(``number`` ``unit`` in the canonical unit of ``a``, as reported: "" in that unit), or None
    with the problem recorded (a unit not of ``a``, an impossible value)."""
    key = (id(a), number, unit, comparator)
    hit = _CANONICAL.get(key)
    if hit is not None and hit[0] is a:
        return hit[1], hit[2]
    try:
        spec, factor = a.canonical_unit(unit)
    except UnitError as exc:
        problems.add(
            f"{where}.unit",
            f"{unit!r} is not a unit of {a.name}" if "not a unit of" in exc.reason else str(exc),
        )
        return None
    value = Fraction(number) * factor
    if not _in_range(a, value, f"{where}.value", problems):
        return None
    same_unit = a.unit is not None and spec.key == a.unit.key
    reported = "" if same_unit else f"{comparator or ''}{number_text(number, 6)} {unit}"
    remember(_CANONICAL, key, (a, value, reported))
    return value, reported


def remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """``memo[key] = value``, the memo emptied first when it holds ``_MEMO_MAX`` entries."""
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[key] = value


_SHOWN: dict[tuple[type, Number, int], str] = {}


def number_text(value: Number, digits: int = 4) -> str:
    """``format_number(value, digits)``, remembered for the values met most (it is a function of
    the value and its type: a Fraction is rounded to 40 digits first, a Decimal is not)."""
    key = (type(value), value, digits)
    text = _SHOWN.get(key)
    if text is None:
        text = format_number(value, digits)
        remember(_SHOWN, key, text)
    return text


def _in_range(a: Analyte, value: Fraction, where: str, problems: Problems) -> bool:
    low, high = a.bounds()
    if (low is not None and value < low) or (high is not None and value > high):
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
            age = _whole(age_in_years(p.birth_date, as_of))
            if _in_range(analytes()["age"], age, "birth_date", problems):
                facts.quantities["age"] = fact(analytes()["age"], value=age, derived=f"born {p.birth_date}")
    for key, q in (("weight", p.weight), ("height", p.height), ("life_expectancy", p.life_expectancy)):
        if q is not None:
            if q.date is not None and q.date > as_of:
                check_date(q.date, as_of, f"{key}.date", problems)
            qf = _quantity(key, q, key, problems)
            if qf is not None:
                facts.quantities[key] = qf
    if p.ecog is not None:
        check_date(p.ecog.date, as_of, "ecog.date", problems)
        facts.quantities["ecog"] = fact(analytes()["ecog"], value=_whole(p.ecog.value), date=p.ecog.date)
    if p.diagnosis is not None and p.diagnosis.size is not None:
        qf = _quantity("tumour_size", p.diagnosis.size, "diagnosis.size", problems)
        if qf is not None:
            facts.quantities["tumour_size"] = qf
    if p.blood_pressure is not None:
        for i, bp in enumerate(p.blood_pressure):
            if bp.date > as_of:
                check_date(bp.date, as_of, f"blood_pressure[{i}].date", problems)
        if p.blood_pressure:
            bps = p.blood_pressure
            latest = bps[0] if len(bps) == 1 else max(bps, key=_bp_order)
            for key, v in (("bp_systolic", latest.systolic), ("bp_diastolic", latest.diastolic)):
                qf = measured(analytes()[key], v, latest.unit, None, latest.date, "blood_pressure", problems)
                if qf is not None:
                    facts.quantities[key] = qf
    if p.metastases == []:  # none: both counts are 0
        facts.quantities.update(_no_metastases(analytes()))
    elif p.metastases is not None:
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


_WHOLE = tuple(Fraction(n) for n in range(200))


def _whole(n: int) -> Fraction:
    """``Fraction(n)``, one shared (immutable) object for the small ones (ages, scores)."""
    return _WHOLE[n] if 0 <= n < len(_WHOLE) else Fraction(n)


_NONE: list[tuple[dict[str, Analyte], dict[str, QuantityFact]]] = []


def _no_metastases(catalogue: dict[str, Analyte]) -> dict[str, QuantityFact]:
    """The counts of a patient without metastases, made once for the catalogue (immutable)."""
    if not _NONE or _NONE[0][0] is not catalogue:
        _NONE[:] = [
            (
                catalogue,
                {
                    "metastatic_lesion_count": QuantityFact(
                        catalogue["metastatic_lesion_count"],
                        value=Fraction(0),
                        derived="sum of recorded metastatic lesions",
                    ),
                    "metastatic_organ_count": QuantityFact(
                        catalogue["metastatic_organ_count"], value=Fraction(0), derived="organs: none"
                    ),
                },
            )
        ]
    return _NONE[0][1]


def _bp_order(b: Any) -> tuple[Any, ...]:
    """Newest reading first, then the highest, compared in mmHg whatever unit each is in."""
    a = analytes()["bp_systolic"]
    try:
        factor = a.canonical_unit(b.unit)[1]
        values = (Fraction(b.systolic) * factor, Fraction(b.diastolic) * factor)
    except UnitError:  # reported when the reading is used
        values = (Fraction(b.systolic), Fraction(b.diastolic))
    return (b.date, *values, b.unit)


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
    mg_dl = crea.canonical_unit("mg/dL")[1]  # µmol/L per mg/dL
    scr_mg_dl = scr.value / mg_dl
    if scr_mg_dl <= 0:
        facts.quantity_gaps["crcl"] = ("measured CrCl", "CrCl cannot be estimated from a creatinine of 0")
        return
    # (140 − age) × weight / (72 × Scr), × 85/100 for a woman, at least 0: one exact fraction
    # of the integer parts (as the Fraction operations would give it, with one normalisation)
    a, w, s = age.value, weight.value, scr_mg_dl
    num = (140 * a.denominator - a.numerator) * w.numerator * s.denominator
    den = a.denominator * w.denominator * 72 * s.numerator
    if p.sex == "female":
        num, den = num * 85, den * 100
    value = Fraction(max(num, 0), den)
    facts.quantities["crcl"] = QuantityFact(
        analytes()["crcl"],
        value=value,
        date=scr.date,
        derived=(
            f"Cockcroft–Gault estimate from age {number_text(age.value)}, weight "
            f"{number_text(weight.value)} kg, {p.sex}, creatinine "
            f"{number_text(scr_mg_dl, 3)} mg/dL on {scr.date}"
        ),
    )
