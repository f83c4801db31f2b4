"""Quantities derived from others: the metastatic lesion and organ counts, and creatinine
clearance by Cockcroft–Gault when none was measured.  One that cannot be established is a gap
with the reason (``Facts.quantity_gaps``).  The explanation of how a value was derived is made
when it is first read (:class:`~.quantities.Deferred`)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING

from .patient import Patient
from .quantities import _DEFAULTS, Deferred, QuantityFact, made, number_text
from .units import Analyte, analytes

if TYPE_CHECKING:
    from .facts import Facts

__all__ = ["cockcroft_gault", "metastatic_counts"]


def metastatic_counts(p: Patient, facts: Facts) -> None:
    """The counts of metastatic lesions and of organs with metastases (known only when every
    metastasis says whether it is resolved, and where it is)."""
    if p.metastases == []:  # none: both counts are 0
        facts.quantities.update(_no_metastases(analytes()))
    elif p.metastases is not None:
        # a metastasis without a status may or may not be resolved: it makes the counts unknown
        # (counting it, or not, would let forgetting the status change a known count)
        doubtful: set[str] = set()  # where the metastases without a status are
        organs: set[str | None] = set()  # where the unresolved ones are
        lesions: int | None = 0  # None: a count not recorded
        for m in p.metastases:
            if m.status is None:
                doubtful.add(m.site or "an unclassified site")
            elif m.status != "resolved":
                organs.add(m.site)
                lesions = None if lesions is None or m.lesion_count is None else lesions + m.lesion_count
        unsure = sorted(doubtful)
        if unsure:
            facts.quantity_gaps["metastatic_lesion_count"] = (
                f"status (resolved or not) of the metastases at {', '.join(unsure)}",
                f"not recorded whether the metastases at {', '.join(unsure)} are resolved",
            )
        elif lesions is not None:
            facts.quantities["metastatic_lesion_count"] = _count(
                "metastatic_lesion_count", lesions, "sum of recorded metastatic lesions"
            )
        else:
            facts.quantity_gaps["metastatic_lesion_count"] = (
                "number of lesions at every metastatic site",
                "number of lesions not recorded for every metastatic site",
            )
        maybe = sorted(doubtful - organs)
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
            facts.quantities["metastatic_organ_count"] = _count(
                "metastatic_organ_count",
                len(organs),
                f"organs: {', '.join(sorted(o for o in organs if o)) or 'none'}",
            )


def _count(key: str, n: int, how: str) -> QuantityFact:
    values = _DEFAULTS.copy()
    values["analyte"], values["value"], values["derived"] = analytes()[key], Fraction(n), how
    return made(values)


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


# creatinine: µmol/L (its canonical unit) per mg/dL, for the catalogue
_MG_DL: list[tuple[dict[str, Analyte], Fraction]] = []


def _mg_dl(catalogue: dict[str, Analyte]) -> Fraction:
    if not _MG_DL or _MG_DL[0][0] is not catalogue:
        _MG_DL[:] = [(catalogue, catalogue["creatinine"].canonical_unit("mg/dL")[1])]
    return _MG_DL[0][1]


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
    catalogue = analytes()
    mg_dl = _mg_dl(catalogue)  # µmol/L per mg/dL
    if scr.value.numerator <= 0:  # Scr in mg/dL is scr.value / mg_dl, mg_dl > 0
        facts.quantity_gaps["crcl"] = ("measured CrCl", "CrCl cannot be estimated from a creatinine of 0")
        return
    # (140 − age) × weight / (72 × Scr), × 85/100 for a woman, at least 0: one exact fraction
    # of the integer parts (as the Fraction operations would give it, with one normalisation);
    # Scr in mg/dL is (creatinine's numerator × mg_dl's denominator) / (its denominator × mg_dl's
    # numerator), a ratio that need not be in lowest terms here
    a, w, c = age.value, weight.value, scr.value
    num = (140 * a.denominator - a.numerator) * w.numerator * c.denominator * mg_dl.numerator
    den = a.denominator * w.denominator * 72 * c.numerator * mg_dl.denominator
    if p.sex == "female":
        num, den = num * 85, den * 100
    values = _DEFAULTS.copy()
    values["analyte"], values["value"], values["date"] = (
        catalogue["crcl"],
        Fraction(max(num, 0), den),
        scr.date,
    )
    values["derived"] = Deferred(_explained, a, w, p.sex, c, mg_dl, scr.date)
    facts.quantities["crcl"] = made(values)


def _explained(
    age: Fraction, weight: Fraction, sex: str, scr: Fraction, mg_dl: Fraction, when: date | None
) -> str:
    return (
        f"Cockcroft–Gault estimate from age {number_text(age)}, weight "
        f"{number_text(weight)} kg, {sex}, creatinine "
        f"{number_text(scr / mg_dl, 3)} mg/dL on {when}"
    )
