"""Quantity facts: every measurement of the profile in its analyte's canonical unit.

* Every measurement is converted once into its analyte's canonical unit (Fraction, exact); labs,
  with the newest result and the ULN, are read by :mod:`.labfacts`.
* Age is calendar-exact; the other derived quantities (metastatic lesion and organ counts,
  creatinine clearance by Cockcroft–Gault) are made by :mod:`.derived`.
* What depends only on a value, its unit and the analyte (the canonical value, the texts) is
  remembered for the values met most (:func:`canonical`, :func:`number_text`; bounded memos):
  clinical values repeat, and a remembered reading is the one computed afresh.  A fact met again
  is built from the fields it made before (:func:`measured`); only its date is its own.
* The texts only explanations read (as reported, the ULN's source, how a value was derived) may
  be made when first read (:class:`Deferred`); reading the field gives the text.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .dates import age_in_years
from .errors import Problems, UnitError
from .memo import remember as bounded
from .patient import Patient
from .units import Analyte, analytes, format_number
from .units.conversion import Number

if TYPE_CHECKING:
    from .facts import Facts

__all__ = [
    "LAB_MAX_AGE_DAYS",
    "Deferred",
    "QuantityFact",
    "canonical",
    "check_date",
    "fact",
    "made",
    "measured",
    "number_text",
    "profile_quantities",
    "reading",
    "remember",
]

# How many days old a lab result may be when neither the criterion, the trial nor the analyte
# says (a usual screening window).
LAB_MAX_AGE_DAYS = 28


class Deferred:
    """A text made when first read: ``make(*args)``, once (what explanations say: how a value was
    reported or derived, where its ULN came from; status-only evaluation reads none of them)."""

    __slots__ = ("args", "made", "make")

    def __init__(self, make: Callable[..., str], *args: Any) -> None:
        self.make = make
        self.args = args
        self.made: str | None = None

    def text(self) -> str:
        if self.made is None:
            self.made = self.make(*self.args)
        return self.made


class _Text:
    """A text field of :class:`QuantityFact` that may hold a :class:`Deferred`: reading it gives
    the text (made once, then kept), as if it had been given."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, qf: Any, owner: type | None = None) -> str:
        if qf is None:  # the field's default
            return ""
        values = qf.__dict__
        text = values[self.name]
        if type(text) is Deferred:
            text = values[self.name] = text.text()
        return text  # type: ignore[no-any-return]

    def __set__(self, qf: Any, text: str) -> None:
        qf.__dict__[self.name] = text


@dataclass(frozen=True)
class QuantityFact:
    """One quantity as evaluated: canonical value (or ordinal / qualitative result)."""

    analyte: Analyte
    value: Fraction | None = None  # canonical unit, exact
    comparator: str | None = None  # censored value: '<' 20 means somewhere below 20
    result: str | None = None  # ordinal / qualitative result
    date: date | None = None
    reported: str = _Text()  # type: ignore[assignment]  # as written in the patient file
    uln: Fraction | None = None  # canonical unit, exact
    uln_note: str = _Text()  # type: ignore[assignment]  # where the ULN came from
    uln_band: tuple[Fraction, Fraction] | None = None  # plausible ULNs when the lab gave none
    derived: str = _Text()  # type: ignore[assignment]  # how a derived value was computed

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


def made(values: dict[str, Any]) -> QuantityFact:
    """The fact whose fields are ``values`` (every one of them), built as :func:`fact` does."""
    qf = object.__new__(QuantityFact)
    qf.__dict__.update(values)
    return qf


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
    key = (id(a), str(number), unit, comparator)
    hit = _MEASURED.get(key)
    if hit is None or hit[0] is not a:
        got = reading(a, number, unit, comparator, where, problems)
        if got is None:
            return None
        values = _DEFAULTS.copy()
        values["analyte"], values["comparator"] = a, comparator
        values["value"], values["reported"] = got
        hit = (a, values)
        remember(_MEASURED, key, hit)
    qf = object.__new__(QuantityFact)
    fields = qf.__dict__
    fields.update(hit[1])
    fields["date"] = when
    return qf


# as _CANONICAL → (the analyte, the fact's fields but its date)
_MEASURED: dict[tuple[Any, ...], tuple[Analyte, dict[str, Any]]] = {}


# (id of the analyte, number as text, unit, comparator) → (the analyte, canonical value, as
# reported): a pure function of the key, remembered for the values met most (bounded: the input
# chooses); the number's text is the Decimal (see labfacts._LABS)
_CANONICAL: dict[tuple[Any, ...], tuple[Analyte, Fraction, str | Deferred]] = {}
_MEMO_MAX = 8192


def canonical(
    a: Analyte, number: Decimal, unit: str, comparator: str | None, where: str, problems: Problems
) -> tuple[Fraction, str] | None:
    """(``number`` ``unit`` in the canonical unit of ``a``, as reported: "" in that unit), or None
    with the problem recorded (a unit not of ``a``, an impossible value)."""
    got = reading(a, number, unit, comparator, where, problems)
    if got is None:
        return None
    value, reported = got
    return value, reported if type(reported) is str else reported.text()  # type: ignore[union-attr]


def reading(
    a: Analyte, number: Decimal, unit: str, comparator: str | None, where: str, problems: Problems
) -> tuple[Fraction, str | Deferred] | None:
    """:func:`canonical`, the text as reported made when first read (a :class:`Deferred`)."""
    key = (id(a), str(number), unit, comparator)
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
    n, d = number.as_integer_ratio()  # exact; one normalisation, as Fraction(number) * factor gives it
    value = Fraction(n * factor.numerator, d * factor.denominator)
    if not _in_range(a, value, f"{where}.value", problems):
        return None
    same_unit = a.unit is not None and spec.key == a.unit.key
    reported: str | Deferred = "" if same_unit else Deferred(_reported, comparator, number, unit)
    remember(_CANONICAL, key, (a, value, reported))
    return value, reported


def _reported(comparator: str | None, number: Decimal, unit: str) -> str:
    return f"{comparator or ''}{number_text(number, 6)} {unit}"


def remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    """``memo[key] = value``, the memo emptied first when it holds ``_MEMO_MAX`` entries."""
    bounded(memo, key, value, _MEMO_MAX)


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
    """Age, the measurements of the profile (weight, height, life expectancy, ECOG, tumour size,
    the newest blood pressure)."""
    as_of = facts.as_of
    catalogue = analytes()
    out = facts.quantities
    born = p.birth_date
    if born is not None:
        if born > as_of:
            check_date(born, as_of, "birth_date", problems)
        else:
            a = catalogue["age"]
            age = _whole(age_in_years(born, as_of))
            if _whole_in_range(a, age) or _in_range(a, age, "birth_date", problems):
                values = _DEFAULTS.copy()
                values["analyte"], values["value"], values["derived"] = a, age, f"born {born}"
                out["age"] = made(values)
    for key, q in (("weight", p.weight), ("height", p.height), ("life_expectancy", p.life_expectancy)):
        if q is not None:
            if q.date is not None and q.date > as_of:
                check_date(q.date, as_of, f"{key}.date", problems)
            qf = measured(catalogue[key], q.value, q.unit, q.comparator, q.date, key, problems)
            if qf is not None:
                out[key] = qf
    ecog = p.ecog
    if ecog is not None:
        if ecog.date is not None and ecog.date > as_of:
            check_date(ecog.date, as_of, "ecog.date", problems)
        values = _DEFAULTS.copy()
        values["analyte"], values["value"], values["date"] = catalogue["ecog"], _whole(ecog.value), ecog.date
        out["ecog"] = made(values)
    size = p.diagnosis.size if p.diagnosis is not None else None
    if size is not None:
        a = catalogue["tumour_size"]
        qf = measured(a, size.value, size.unit, size.comparator, size.date, "diagnosis.size", problems)
        if qf is not None:
            out["tumour_size"] = qf
    bps = p.blood_pressure
    if bps is not None:
        for i, bp in enumerate(bps):
            if bp.date > as_of:
                check_date(bp.date, as_of, f"blood_pressure[{i}].date", problems)
        if bps:
            latest = bps[0] if len(bps) == 1 else max(bps, key=_bp_order)
            for key, v in (("bp_systolic", latest.systolic), ("bp_diastolic", latest.diastolic)):
                qf = measured(catalogue[key], v, latest.unit, None, latest.date, "blood_pressure", problems)
                if qf is not None:
                    out[key] = qf


_WHOLE = tuple(Fraction(n) for n in range(200))


def _whole(n: int) -> Fraction:
    """``Fraction(n)``, one shared (immutable) object for the small ones (ages, scores)."""
    return _WHOLE[n] if 0 <= n < len(_WHOLE) else Fraction(n)


# id of an analyte → (it, the least and the greatest whole number within its bounds; None: unbounded)
_WHOLE_BOUNDS: dict[int, tuple[Analyte, int | None, int | None]] = {}


def _whole_in_range(a: Analyte, n: Fraction) -> bool:
    """A whole ``n`` is within ``a``'s bounds (False: :func:`_in_range` says, and why)."""
    hit = _WHOLE_BOUNDS.get(id(a))
    if hit is None or hit[0] is not a:
        low, high = a.bounds()
        least = None if low is None else math.ceil(low)
        hit = _WHOLE_BOUNDS[id(a)] = (a, least, None if high is None else math.floor(high))
    v = n.numerator
    return (hit[1] is None or v >= hit[1]) and (hit[2] is None or v <= hit[2])


def _bp_order(b: Any) -> tuple[Any, ...]:
    """Newest reading first, then the highest, compared in mmHg whatever unit each is in."""
    a = analytes()["bp_systolic"]
    try:
        factor = a.canonical_unit(b.unit)[1]
        values = (Fraction(b.systolic) * factor, Fraction(b.diastolic) * factor)
    except UnitError:  # reported when the reading is used
        values = (Fraction(b.systolic), Fraction(b.diastolic))
    return (b.date, *values, b.unit)
