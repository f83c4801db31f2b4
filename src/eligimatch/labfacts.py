"""Lab results as quantity facts (see :mod:`.quantities`): each converted once into its
analyte's canonical unit, exactly; the newest result on or before ``as_of`` is the one used, and
different results on the newest day are a gap, not a pick.

A × ULN needs the lab's reference range; without one the analyte's band of plausible ULNs is
kept for the comparison to try (``QuantityFact.uln_band``).  A range whose upper limit is not a
plausible ULN is an error.  What only depends on the value, its unit and the range (the
canonical value, the ULN, the texts) is remembered for the values met most.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .errors import Problems, UnitError
from .patient import Lab, Patient
from .quantities import Deferred, QuantityFact, check_date, fact, number_text, reading, remember
from .units import Analyte, analytes, format_number
from .vocabulary import suggest

if TYPE_CHECKING:
    from .facts import Facts

__all__ = ["labs"]


# (test, value, unit, comparator, result[, the range's low, high and unit]) → (the catalogue,
# the fact's fields but its date): a pure function of the key, remembered for the results met
# most (bounded; only results that raised no problem); a result met again is read with one
# look-up.  Numbers are keyed by their text (a Decimal's str is the Decimal, no Decimal's is
# "None"; equal values written differently are two entries with one reading): hashing a
# Decimal just read costs four times its text.
_LABS: dict[tuple[Any, ...], tuple[dict[str, Analyte], dict[str, Any]]] = {}


def labs(p: Patient, facts: Facts, problems: Problems) -> None:
    if p.labs is None:
        return
    catalogue = analytes()
    first: dict[str, QuantityFact] = {}  # test → its first result, in the order met
    more: dict[str, list[QuantityFact]] = {}  # test → all its results, for those with several
    as_of = facts.as_of
    memo = _LABS
    new = object.__new__
    for i, lab in enumerate(p.labs):
        test, when, rr, value = lab.test, lab.date, lab.reference_range, lab.value
        v = None if value is None else str(value)
        key: tuple[Any, ...] = (
            (test, v, lab.unit, lab.comparator, lab.result)
            if rr is None
            else (test, v, lab.unit, lab.comparator, lab.result, str(rr.low), str(rr.high), rr.unit)
        )
        hit = memo.get(key)
        if hit is not None and hit[0] is catalogue:
            if when > as_of:
                check_date(when, as_of, f"labs[{i}].date", problems)
            qf = new(QuantityFact)
            values = qf.__dict__
            values.update(hit[1])
            values["date"] = when
        else:
            a = catalogue.get(test)
            if a is None or a.source != "lab":
                names = [k for k, known in catalogue.items() if known.source == "lab"]
                problems.add(f"labs[{i}].test", f"unknown test {test!r}{suggest(test, names)}")
                continue
            if when > as_of:
                check_date(when, as_of, f"labs[{i}].date", problems)
            found = _lab_fact(a, lab, i, problems)
            if found is None:
                continue
            qf = found
            remember(memo, key, (catalogue, dict(vars(qf))))
        earlier = first.get(test)
        if earlier is None:
            first[test] = qf
        elif test in more:
            more[test].append(qf)
        else:
            more[test] = [earlier, qf]
    for test in [t for t in first if t in more] if more else ():
        results = more[test]
        newest = max(r.date or date.min for r in results)
        latest = [r for r in results if r.date == newest]
        distinct = {(r.value, r.comparator, r.result) for r in latest}
        if len(distinct) > 1:
            del first[test]
            short = catalogue[test].short
            facts.quantity_gaps[test] = (
                f"a single {short} result",
                f"{short}: {len(latest)} different results on {newest}",
            )
        else:
            first[test] = min(latest, key=_preferred)
    facts.quantities.update(first)


def _preferred(r: QuantityFact) -> tuple[Any, ...]:
    """Of equal results on the newest day, the one with a ULN, the lowest, then by their texts."""
    return (r.uln is None, r.uln or 0, r.reported, r.uln_note)


def _lab_fact(a: Analyte, lab: Lab, i: int, problems: Problems) -> QuantityFact | None:
    if a.kind != "quantity":
        return _result(a, lab, f"labs[{i}]", problems)
    if lab.value is None or lab.unit is None:
        problems.add(f"labs[{i}]", f"{a.name} needs a numeric 'value' and 'unit'")
        return None
    got = reading(a, lab.value, lab.unit, lab.comparator, f"labs[{i}]", problems)
    if got is None:
        return None
    uln, band = None, None
    note: str | Deferred = ""
    rr = lab.reference_range
    if rr is not None and rr.high is not None:
        if rr.low is not None and rr.low > rr.high:
            unit_text = rr.unit or lab.unit
            try:  # a unit not of the analyte is said first
                a.canonical_unit(unit_text)
            except UnitError:
                problems.add(f"labs[{i}].reference_range.unit", f"{unit_text!r} is not a unit of {a.name}")
                return None
            problems.add(f"labs[{i}].reference_range", "low is above high")
            return None
        found = _uln(a, rr.high, rr.unit, lab.unit, f"labs[{i}]", problems)
        if found is None:
            return None
        uln, note = found
    elif a.uln_band is not None:
        band = a.uln_band
        note = "the lab reported no reference range"
    return fact(
        a,
        value=got[0],
        comparator=lab.comparator,
        date=lab.date,
        reported=got[1],
        uln=uln,
        uln_note=note,
        uln_band=band,
    )


def _result(a: Analyte, lab: Lab, where: str, problems: Problems) -> QuantityFact | None:
    """An ordinal or qualitative result."""
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


# (id of the analyte, high, the range's unit, the result's unit) → (the analyte, ULN, its note)
_ULN: dict[tuple[Any, ...], tuple[Analyte, Fraction, Deferred]] = {}


def _uln(
    a: Analyte, high: Decimal, range_unit: str | None, result_unit: str, where: str, problems: Problems
) -> tuple[Fraction, Deferred] | None:
    """The ULN of a reference range in the canonical unit and where it came from (made when first
    read); None with the problem recorded for a unit not of ``a`` or an implausible ULN."""
    key = (id(a), high, range_unit, result_unit)
    hit = _ULN.get(key)
    if hit is not None and hit[0] is a:
        return hit[1], hit[2]
    unit_text = range_unit or result_unit
    try:
        uln = Fraction(high) * a.canonical_unit(unit_text)[1]
    except UnitError:
        problems.add(f"{where}.reference_range.unit", f"{unit_text!r} is not a unit of {a.name}")
        return None
    if a.uln_band is not None and not a.uln_band[0] <= uln <= a.uln_band[1]:
        lo, hi = (a.show(x) for x in a.uln_band)
        shown = f"{format_number(high, 6)} {unit_text}"
        if range_unit is None:
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
    note = Deferred(_uln_note, high, unit_text)
    remember(_ULN, key, (a, uln, note))
    return uln, note


def _uln_note(high: Decimal, unit_text: str) -> str:
    return f"ULN {number_text(high, 6)} {unit_text} from the lab's reference range"
