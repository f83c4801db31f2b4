"""Hypothesis strategies for eligimatch, and the profile surgery the properties need.

Everything here is generic over the rule files: :func:`vocabulary` walks every compiled criterion
of every ``rules/*.toml`` and collects what the rules look at (thresholds, ×ULN multiples, the
values ``where`` tables test, windows, histology codes, criteria that need review), so that the
generated profiles land on and around every boundary of every trial, including trials added after
these strategies were written.

Conventions (as in :mod:`eligimatch.patient`): an absent field is "not recorded"; an explicit
empty list is "none".  Every generated profile is valid: dates never after ``as_of``, items
internally consistent (an item with an end date is not also marked ongoing; a resolved condition
has no resolved date on or after ``as_of``), values inside the analyte's possible range.

Units: :data:`UNIT_FACTORS` is an oracle written out by hand (exact rationals from the unit
definitions: 1 lb = 0.45359237 kg, 1 mmHg = 133.322387415 Pa, 1 U = 1 µmol/min, molar masses from
the catalogue; for a life expectancy, an estimate, a month is 30 days and a year 360 days, while
age keeps the calendar's 365.25-day year), independent of pint, so that a property comparing the
engine against it cannot be fooled by a conversion bug shared with the engine.  Values are
re-expressed exactly: a value moves to another unit only when its exact value there is a finite
decimal.

Evidence: drug items are generated with and without ``classes`` (treatments with and
without ``agents``), named by the drug catalogue's own names, aliases, brand and regimen names
(with doses and routes, in any case) or by words it cannot read; stated classes agree with what
the catalogue derives for the drugs it knows; conditions with and without ``category`` (one the
type allows); labs with and without the lab's reference range (upper limits at the ends and in
the middle of the analyte's band of plausible ULNs: one outside is an error); profile quantities (ECOG,
weight, height, life expectancy) dated near their window or undated.  :func:`removals` lists
every way of forgetting one fact, :func:`additions` ways of adding one piece of evidence.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from eligimatch.dates import Duration
from eligimatch.drugs import catalogue
from eligimatch.engine import Trial, default_rules_dir, load_rule_file, rule_files
from eligimatch.engine.nodes import Compare, Exists, Histology, Node, Review
from eligimatch.evidence import condition_types
from eligimatch.items import DRUG_TREATMENTS
from eligimatch.ontology import oncotree
from eligimatch.patient import (
    Administrative,
    Allergy,
    Attestation,
    BloodPressure,
    Condition,
    Diagnosis,
    Lab,
    Lesion,
    Medication,
    Metastasis,
    OtherMalignancy,
    Patient,
    Quantity,
    ReferenceRange,
    Reproductive,
    Score,
    Stage,
    Toxicity,
    Treatment,
)
from eligimatch.units import Analyte, analytes

F = Fraction

# ---------------------------------------------------------------------------- the rules


@functools.cache
def load_trials() -> tuple[Trial, ...]:
    """Every rule file in rules/, compiled (read when the tests run, never hard-coded)."""
    return tuple(load_rule_file(p) for p in rule_files(default_rules_dir()))


def children(node: Any) -> list[Any]:
    """The logic nodes directly below ``node`` (generic: any node with children / child /
    otherwise attributes, so node types added later are walked too)."""
    out: list[Any] = []
    kids = getattr(node, "children", None)
    if isinstance(kids, tuple):
        out.extend(k for k in kids if isinstance(k, Node))
    for attr in ("child", "otherwise"):
        k = getattr(node, attr, None)
        if isinstance(k, Node):
            out.append(k)
    return out


def walk(node: Any) -> Iterator[Any]:
    yield node
    for c in children(node):
        yield from walk(c)


# ---------------------------------------------------------------------------- unit oracle


def _d(text: str) -> Fraction:
    return Fraction(Decimal(text))


_COUNT = {  # base: 10^9 /L
    "10^9/L": F(1),
    "x10^9/L": F(1),
    "×10⁹/L": F(1),
    "10*9/L": F(1),
    "10^3/uL": F(1),
    "10*3/uL": F(1),
    "10^3/µL": F(1),
    "10^3/mm3": F(1),
    "10^6/mL": F(1),
    "/uL": F(1, 1000),
    "/µL": F(1, 1000),
    "/mm3": F(1, 1000),
    "/mm³": F(1, 1000),
    "cells/uL": F(1, 1000),
    "10^6/L": F(1, 1000),
    "/L": F(1, 10**9),
}
_MASS = {  # base: g/L
    "g/L": F(1),
    "g/dL": F(10),
    "g/dl": F(10),
    "mg/dL": F(1, 100),
    "mg/L": F(1, 1000),
    "mg/mL": F(1),
    "ug/mL": F(1, 1000),
    "µg/mL": F(1, 1000),
    "g/100mL": F(10),
    "ng/mL": F(1, 10**6),
}
_MOLAR = {  # base: mol/L
    "mol/L": F(1),
    "mmol/L": F(1, 1000),
    "umol/L": F(1, 10**6),
    "µmol/L": F(1, 10**6),
    "nmol/L": F(1, 10**9),
}
# Looked up in order: the first group holding the analyte's canonical spelling wins (so the WHO
# international units come before the enzyme units, where "IU/L" is an alias of U/L).
_GROUPS: tuple[dict[str, Fraction], ...] = (
    _COUNT,
    _MASS,
    _MOLAR,
    {"IU/mL": F(1), "[IU]/mL": F(1), "IU/L": F(1, 1000), "kIU/L": F(1)},
    {
        "U/L": F(1),
        "IU/L": F(1),
        "U/mL": F(1000),
        "IU/mL": F(1000),
        "ukat/L": F(60),
        "µkat/L": F(60),
        "nkat/L": _d("0.06"),
    },  # 1 U = 1 µmol/min
    {"mL/min": F(1), "ml/min": F(1), "mL/s": F(60), "L/h": F(50, 3), "L/day": F(25, 36)},
    {"s": F(1), "sec": F(1), "min": F(60), "ms": F(1, 1000)},
    {
        "year": F(1),
        "a": F(1),
        "month": F(1, 12),
        "day": F(4, 1461),
        "d": F(4, 1461),
        "week": F(28, 1461),
    },  # age: 1 year = 365.25 days
    {"kg": F(1), "g": F(1, 1000), "lb": _d("0.45359237")},
    {"cm": F(1), "mm": F(1, 10), "m": F(100), "in": _d("2.54")},
    {"mmHg": F(1), "mm[Hg]": F(1), "kPa": 1000 / _d("133.322387415")},
    {"copies/mL": F(1), "{copies}/mL": F(1), "copies/L": F(1, 1000)},
    {"g/day": F(1), "g/24h": F(1), "g/(24.h)": F(1), "mg/24h": F(1, 1000), "mg/day": F(1, 1000)},
    {"%": F(1), "percent": F(1)},
)


# A life expectancy is an estimate: a month of it is 30 days, a year 12 such months (analytes.toml;
# 90 days and 13 weeks are "at least 3 months", 12 weeks is not).  Date windows stay calendar ones.
_ESTIMATE = {
    "day": F(1),
    "d": F(1),
    "days": F(1),
    "week": F(7),
    "weeks": F(7),
    "month": F(30),
    "months": F(30),
    "mo": F(30),
    "year": F(360),
    "years": F(360),
    "a": F(360),
}
_BY_ANALYTE: dict[str, dict[str, Fraction]] = {"life_expectancy": _ESTIMATE}


@functools.cache
def unit_factors(key: str) -> dict[str, Fraction]:
    """Spellings of ``key``'s unit → exact factor into its canonical unit (value × factor).

    Molar analytes also get every mass-concentration spelling (divided by the molar mass).  An
    analyte whose canonical unit is not in the oracle gets only its canonical spelling.
    """
    a = analytes()[key]
    if a.unit is None:
        return {}
    canonical = a.unit.text
    if key in _BY_ANALYTE:
        own = _BY_ANALYTE[key]
        return {u: f / own[canonical] for u, f in own.items()}
    for group in _GROUPS:
        if canonical in group:
            base = group[canonical]
            out = {u: f / base for u, f in group.items()}
            if group is _MOLAR and a.molar_mass is not None:
                m = Fraction(a.molar_mass)
                out.update({u: f / m / base for u, f in _MASS.items()})
            return out
    return {canonical: F(1)}


def exact_decimal(f: Fraction, max_digits: int = 30) -> Decimal | None:
    """``f`` as a finite decimal, or None when it has none (or needs more digits)."""
    d = f.denominator
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return None
    k = max(twos, fives)
    with localcontext() as ctx:  # no rounding anywhere (the default context keeps 28 digits)
        ctx.prec = 200
        out = Decimal(f.numerator * (10**k // f.denominator)).scaleb(-k)
        if len(out.normalize().as_tuple().digits) > max_digits:
            return None
        return plain(out)


def plain(d: Decimal) -> Decimal:
    """Trailing zeros off, no exponent notation (``1.50`` → ``1.5``, ``1E+3`` → ``1000``)."""
    with localcontext() as ctx:
        ctx.prec = 200
        n = d.normalize()
        return n.quantize(Decimal(1)) if n.as_tuple().exponent > 0 else n  # type: ignore[operator]


def canonical(key: str, value: Decimal, unit: str) -> Fraction:
    """The oracle's exact canonical value of ``value unit``."""
    return Fraction(value) * unit_factors(key)[unit]


def exact_units(key: str, value: Fraction) -> list[tuple[str, Decimal]]:
    """Every oracle spelling in which the canonical ``value`` is a finite decimal."""
    out = []
    for u, f in unit_factors(key).items():
        v = exact_decimal(value / f)
        if v is not None:
            out.append((u, v))
    return out


# ---------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Vocabulary:
    """What the rule files look at."""

    anchors: Mapping[str, tuple[Fraction, ...]]  # analyte → canonical thresholds
    uln: Mapping[str, tuple[Fraction, ...]]  # analyte → ×ULN multiples
    values: Mapping[tuple[str, str], tuple[Any, ...]]  # (collection, field) → tested values
    windows: tuple[Duration, ...]
    max_ages: tuple[int, ...]  # lab_max_age_days, within_days
    histology: tuple[str, ...]
    reviews: tuple[tuple[str, str], ...]  # (trial id, criterion id)
    trial_ids: tuple[str, ...] = field(default=())
    # collection → the `where` tables of the rules, as field → values that satisfy it
    templates: Mapping[str, tuple[tuple[tuple[str, tuple[Any, ...]], ...], ...]] = field(default_factory=dict)


def _satisfying(m: Any) -> tuple[Any, ...]:
    """Values of one `where` entry that make it true (none for negations and item tests)."""
    kind = getattr(m, "kind", None)
    if kind == "in":
        return tuple(m.values)
    if kind == "compare" and m.number is not None:
        step = {">": 1, "<": -1}.get(m.op, 0)
        return (int(m.number) + step,) if m.op != "!=" else ()
    codes = getattr(m, "codes", None)
    if codes and not getattr(m, "negate", False):
        return tuple(codes)
    return ()


def _match_values(m: Any) -> list[Any]:
    vals = list(getattr(m, "values", ()) or ())
    number = getattr(m, "number", None)
    if number is not None:
        vals += [number - 1, number, number + 1]
    codes = getattr(m, "codes", None)
    if codes:
        vals += list(codes)
    return vals


@functools.cache
def vocabulary() -> Vocabulary:
    anchors: dict[str, set[Fraction]] = {}
    uln: dict[str, set[Fraction]] = {}
    values: dict[tuple[str, str], set[Any]] = {}
    windows: set[Duration] = set()
    ages: set[int] = set()
    codes: set[str] = set()
    reviews: set[tuple[str, str]] = set()
    templates: dict[str, set[tuple[tuple[str, tuple[Any, ...]], ...]]] = {}
    for t in load_trials():
        if t.meta.lab_max_age_days:
            ages.add(t.meta.lab_max_age_days)
        for c in t.criteria:
            for n in walk(c.node):
                if isinstance(n, Compare):
                    if n.threshold is not None:
                        anchors.setdefault(n.analyte.key, set()).add(n.threshold)
                    if n.uln_multiple is not None:
                        uln.setdefault(n.analyte.key, set()).add(Fraction(n.uln_multiple))
                    if n.within_days:
                        ages.add(n.within_days)
                elif isinstance(n, Exists):
                    if n.window is not None:
                        windows.add(n.window)
                    table = tuple(
                        (m.name, vals)
                        for m in n.where
                        if (vals := _satisfying(m)) and getattr(m, "name", None)
                    )
                    if table:
                        templates.setdefault(n.collection, set()).add(table)
                    stack = list(n.where)
                    while stack:
                        m = stack.pop()
                        stack.extend(x for alt in getattr(m, "alternatives", ()) for x in alt)
                        name = getattr(m, "name", None)
                        if name:
                            values.setdefault((n.collection, name), set()).update(
                                v for v in _match_values(m) if isinstance(v, str | bool | int | Decimal)
                            )
                elif isinstance(n, Histology):
                    codes.update(n.listed)
                elif isinstance(n, Review):
                    reviews.add((t.id, c.id))
    return Vocabulary(
        anchors={k: tuple(sorted(v)) for k, v in anchors.items()},
        uln={k: tuple(sorted(v)) for k, v in uln.items()},
        values={k: tuple(sorted(v, key=repr)) for k, v in values.items()},
        windows=tuple(sorted(windows, key=lambda w: w.text)),
        max_ages=tuple(sorted(ages)),
        histology=tuple(sorted(codes)),
        reviews=tuple(sorted(reviews)),
        trial_ids=tuple(t.id for t in load_trials()),
        templates={k: tuple(sorted(v, key=repr)) for k, v in templates.items()},
    )


def _is_list(ann: Any) -> bool:
    """``list[X]`` or ``list[X] | None``."""
    return typing.get_origin(ann) is list or any(typing.get_origin(a) is list for a in typing.get_args(ann))


def _matching(
    draw: st.DrawFn, collection: str, model: type[BaseModel], fields: dict[str, Any]
) -> dict[str, Any]:
    """Two times in three, ``fields`` overridden to satisfy one of the rules' `where` tables for
    ``collection`` (so that items the rules look for do turn up)."""
    tables = vocabulary().templates.get(collection, ())
    if not tables or draw(st.integers(0, 2)) == 0:
        return fields
    out = dict(fields)
    for name, values in draw(st.sampled_from(tables)):
        if name not in model.model_fields:
            continue  # a derived field (a treatment's `anticancer`)
        v = draw(st.sampled_from(values))
        out[name] = [v] if _is_list(model.model_fields[name].annotation) else v
    return out


# ---------------------------------------------------------------------------- small pieces

AS_OF = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2040, 12, 31))

# Dates are drawn as offsets before as_of by the helpers below (``_event_date(draw, as_of)``):
# the strategies they draw from do not depend on as_of, so they are built and validated once.
_OFFSET = st.one_of(st.integers(0, 3650), st.integers(0, 60))
_FRESH = st.integers(0, 14)
_SHIFT = st.sampled_from((-1, 0, 1))
_COIN = st.booleans()


def _before(as_of: dt.date, days: int) -> dt.date:
    return as_of - dt.timedelta(days=min(days, (as_of - dt.date.min).days))


def _add(d: dt.date, days: int) -> dt.date:
    """``d`` moved by ``days``, kept inside the calendar (for dates at its very ends)."""
    return dt.date.fromordinal(min(max(d.toordinal() + days, 1), dt.date.max.toordinal()))


def _event_date(draw: st.DrawFn, as_of: dt.date) -> dt.date:
    """On or before ``as_of``: anywhere in ten years, or next to a rule's window edge."""
    windows = vocabulary().windows
    if windows and draw(st.integers(0, 2)) == 0:
        w = windows[draw(st.integers(0, len(windows) - 1))]
        edge = w.before(as_of)
        if edge > dt.date.min:
            return min(as_of, _add(edge, draw(_SHIFT)))
    return _before(as_of, draw(_OFFSET))


def _lab_date(draw: st.DrawFn, as_of: dt.date) -> dt.date:
    """Fresh, stale, or right at a recency limit the rules use."""
    ages = vocabulary().max_ages
    kind = draw(st.integers(0, 2))
    if kind == 0 and ages:
        n = ages[draw(st.integers(0, len(ages) - 1))] + draw(_SHIFT)
        return _before(as_of, max(n, 0))
    return _before(as_of, draw(_FRESH if kind else st.integers(0, 400)))


def _maybe(draw: st.DrawFn, make: Callable[[], Any]) -> Any:
    """Absent (not recorded) or present, with equal chance."""
    return make() if draw(_COIN) else None


@st.composite
def event_dates(draw: st.DrawFn, as_of: dt.date) -> dt.date:
    return _event_date(draw, as_of)


@st.composite
def lab_dates(draw: st.DrawFn, as_of: dt.date) -> dt.date:
    return _lab_date(draw, as_of)


@functools.cache
def optional(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s)


def _literal_choices(model: type[BaseModel], name: str) -> tuple[Any, ...] | None:
    ann = model.model_fields[name].annotation
    for _ in range(3):  # unwrap Optional[...] and list[...]
        if typing.get_origin(ann) is typing.Literal:
            return typing.get_args(ann)
        if ann is bool:
            return (True, False)
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(args) != 1:
            return None
        ann = args[0]
    return None


@functools.cache
def choice(collection: str, model: type[BaseModel], name: str) -> st.SearchStrategy[Any]:
    """A value of a Literal / bool field, biased towards the values the rules test."""
    allowed = _literal_choices(model, name)
    assert allowed is not None, (model, name)
    named = tuple(v for v in vocabulary().values.get((collection, name), ()) if v in allowed)
    base = st.sampled_from(allowed)
    return st.one_of(st.sampled_from(named), base) if named else base


@functools.cache
def listed(collection: str, model: type[BaseModel], name: str) -> st.SearchStrategy[list[Any]]:
    return st.lists(choice(collection, model, name), max_size=3, unique=True)


@functools.cache
def auto(
    model: type[BaseModel], collection: str = "", skip: tuple[str, ...] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """The model's Literal / bool fields (but ``skip``): each drawn, or (when optional) absent."""
    kwargs: dict[str, st.SearchStrategy[Any]] = {}
    for name, f in model.model_fields.items():
        if name in skip or _literal_choices(model, name) is None or _is_list(f.annotation):
            continue
        s = choice(collection, model, name)
        kwargs[name] = s if f.is_required() else optional(s)
    return st.fixed_dictionaries(kwargs)


@functools.cache
def free_text(collection: str, name: str, common: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Free text: what the rules name (in any letter case), common values, or anything."""
    named = [v for v in vocabulary().values.get((collection, name), ()) if isinstance(v, str)]
    pool = tuple(sorted(set(named) | set(common)))
    cased = st.tuples(st.sampled_from(pool), st.sampled_from((str, str.upper, str.title))).map(
        lambda t: t[1](t[0])
    )
    return st.one_of(
        cased, st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=1, max_size=8)
    )


@functools.cache
def histology_codes(collection: str = "", name: str = "") -> st.SearchStrategy[str]:
    """OncoTree codes the rules list, codes just below them, any code, or no code at all."""
    tree = oncotree()
    named = set(vocabulary().histology)
    named |= {v.upper() for v in vocabulary().values.get((collection, name), ()) if isinstance(v, str)}
    below = sorted(c for c, n in tree.nodes.items() if n.parent in named)
    parts = [st.sampled_from(sorted(tree.nodes)), st.just("NOT_A_CODE")]
    if named:
        parts.insert(0, st.sampled_from(sorted(named)))
    if below:
        parts.insert(1, st.sampled_from(below))
    return st.one_of(*parts)


# ---------------------------------------------------------------------------- quantities


def _range(a: Analyte) -> tuple[Fraction, Fraction]:
    lo = Fraction(a.min) if a.min is not None else F(0)
    hi = Fraction(a.max) if a.max is not None else F(10**6)
    return lo, hi


def _default_points(a: Analyte) -> tuple[Fraction, ...]:
    """Where to put values of an analyte no rule compares with a number: around its band of
    ULNs, or its lowest value (0: an undetectable viral load) and a quarter of the way up."""
    if a.uln_band is not None:
        return a.uln_band
    lo, hi = _range(a)
    return (lo, lo + (min(hi, lo + 1000) - lo) / 4)


_NEAR_MODE = st.sampled_from(("exact", "hair", "hair", "around"))
_HAIR = st.one_of(st.integers(0, 4), st.integers(5, 20))
_SIGN = st.sampled_from((1, -1))
_INT_STEP = st.sampled_from((0, 0, 1, -1, 2, -2))
_CENTS = st.integers(0, 300)


def _near(draw: st.DrawFn, point: Fraction, integer: bool = False) -> Fraction:
    """``point`` itself, a hair either side of it (down to 1e-20 of it), or around it."""
    if integer:
        return Fraction(round(point) + draw(_INT_STEP))
    mode = draw(_NEAR_MODE)
    if mode == "exact":
        return point
    if mode == "hair":
        scale = exact_decimal(point) or Decimal(point.numerator) / Decimal(point.denominator)
        k = draw(_HAIR)
        step = Decimal(1).scaleb(scale.adjusted() - k) if point else Decimal(1).scaleb(-k)
        return point + draw(_SIGN) * Fraction(step)
    return Fraction(draw(_CENTS), 100) * max(point, F(1))


def _quantity_value(draw: st.DrawFn, key: str, ulns: Sequence[Fraction] = ()) -> tuple[Decimal, str]:
    """(value, unit) of analyte ``key``: near a threshold the rules use (or k × a given ULN),
    in any unit in which it is exact, inside the analyte's possible range."""
    a = analytes()[key]
    v = vocabulary()
    points = v.anchors.get(key, ()) + tuple(k * u for k in v.uln.get(key, ()) for u in ulns)
    points = points or _default_points(a)
    lo, hi = _range(a)
    target = _near(draw, draw(st.sampled_from(points)), integer=a.integer)
    target = min(max(target, lo), hi)
    options = exact_units(key, target)
    if not options:  # no finite decimal in any unit: take a rounded target (a new value)
        approx = Fraction(Decimal(target.numerator) / Decimal(target.denominator))
        options = exact_units(key, min(max(approx, lo), hi))
    unit, value = draw(st.sampled_from(tuple(options)))
    return value, unit


@st.composite
def quantity_values(draw: st.DrawFn, key: str, ulns: tuple[Fraction, ...] = ()) -> tuple[Decimal, str]:
    return _quantity_value(draw, key, ulns)


_COMPARATOR = st.sampled_from((None,) * 8 + ("<", "<=", ">", ">="))
_EXTRA = st.sampled_from(("none", "none", "older", "same_other_unit", "conflict"))


def uln_points(key: str) -> tuple[Fraction, ...]:
    """Upper limits of normal a lab may report for ``key`` (canonical unit): the ends and the
    middle of the analyte's band of plausible ULNs (a ULN outside it is an input error)."""
    a = analytes()[key]
    if a.uln_band is None:
        return tuple(F(10) * f for f in (F(1, 2), F(3, 4), F(1), F(6, 5), F(3, 2), F(2)))
    lo, hi = a.uln_band
    return tuple(sorted({lo, hi, (lo + hi) / 2}))


def in_band(key: str, uln: Fraction) -> bool:
    """Is ``uln`` one of the analyte's adult ULNs (inside its band)?"""
    band = analytes()[key].uln_band
    return band is None or band[0] <= uln <= band[1]


def _reference_range(draw: st.DrawFn, key: str, unit: str) -> ReferenceRange | None:
    """A lab's reference range: absent, in the lab's unit, or in another unit (given)."""
    a = analytes()[key]
    if a.uln_band is None and key not in vocabulary().uln:
        return None
    opts = exact_units(key, draw(st.sampled_from(uln_points(key))))
    if not opts or draw(_COIN):
        return None
    u, h = draw(st.sampled_from(tuple(opts)))
    low = plain(h / 4) if draw(_COIN) else None
    return ReferenceRange(low=low, high=h, unit=None if u == unit else u)


def uln_of(key: str, unit: str, rr: ReferenceRange | None) -> Fraction | None:
    """The lab's ULN in the canonical unit (None without a range: no default is assumed)."""
    if rr is not None and rr.high is not None:
        return canonical(key, rr.high, rr.unit or unit)
    return None


def _in_unit(rr: ReferenceRange | None, unit: str) -> ReferenceRange | None:
    """The same reference range for a result written in ``unit`` (the unit made explicit)."""
    if rr is None or rr.unit is not None:
        return rr
    return ReferenceRange(low=rr.low, high=rr.high, unit=unit)


def _labs_of(draw: st.DrawFn, key: str, as_of: dt.date) -> list[Lab]:
    """One to three results of one test: a repeat on an older date, a duplicate in another unit
    on the same date, or a conflicting result on the same date."""
    a = analytes()[key]
    when = _lab_date(draw, as_of)
    if a.kind != "quantity":
        allowed = tuple(a.scale or a.values)
        out = [Lab(test=key, result=draw(st.sampled_from(allowed)), date=when)]
        if draw(_COIN):
            out.append(
                Lab(
                    test=key,
                    result=draw(st.sampled_from(allowed)),
                    date=when if draw(_COIN) else _lab_date(draw, as_of),
                )
            )
        return out
    unit = draw(st.sampled_from(tuple(sorted(unit_factors(key)))))
    rr = _reference_range(draw, key, unit)
    uln = uln_of(key, unit, rr)
    # near k × the lab's ULN, or (no range) near k × either end of the band, where it flips
    ulns = (uln,) if uln else (a.uln_band or ())
    value, unit2 = _quantity_value(draw, key, ulns)
    if unit2 != unit:
        rr = _in_unit(rr, unit)
    comparator = draw(_COMPARATOR)
    out = [Lab(test=key, value=value, unit=unit2, comparator=comparator, date=when, reference_range=rr)]
    extra = draw(_EXTRA)
    if extra == "older":
        v, u = _quantity_value(draw, key, ulns)
        out.append(
            Lab(test=key, value=v, unit=u, date=_lab_date(draw, when), reference_range=_in_unit(rr, unit2))
        )
    elif extra == "same_other_unit":
        u, v = draw(st.sampled_from(tuple(exact_units(key, canonical(key, value, unit2)))))
        out.append(
            Lab(
                test=key,
                value=v,
                unit=u,
                comparator=comparator,
                date=when,
                reference_range=_in_unit(rr, unit2),
            )
        )
    elif extra == "conflict":
        v, u = _quantity_value(draw, key, ulns)
        out.append(Lab(test=key, value=v, unit=u, date=when))
    return out


@functools.cache
def lab_keys() -> tuple[str, ...]:
    """Lab tests, those the rules look at first."""
    used = set(vocabulary().anchors) | set(vocabulary().uln)
    for t in load_trials():
        for c in t.criteria:
            for n in walk(c.node):
                a = getattr(n, "analyte", None)
                if isinstance(a, Analyte):
                    used.add(a.key)
    keys = [k for k, a in analytes().items() if a.source == "lab"]
    return tuple(sorted(keys, key=lambda k: (k not in used, k)))


@st.composite
def labs(draw: st.DrawFn, as_of: dt.date) -> list[Lab]:
    keys = lab_keys()
    chosen = [k for k in keys if draw(_COIN)]  # each test recorded or not, independently
    out = [lab for k in chosen for lab in _labs_of(draw, k, as_of)]
    return draw(st.permutations(out))


def profile_date(draw: st.DrawFn, key: str, as_of: dt.date) -> dt.date | None:
    """The date of a profile value (ECOG, weight, life expectancy ...): none (undated), fresh,
    a day either side of the analyte's own window or a rule's, or anywhere in two years."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return None
    ages = tuple(x for x in (analytes()[key].max_age_days,) if x) + vocabulary().max_ages
    if kind == 1 and ages:
        return _before(as_of, max(draw(st.sampled_from(ages)) + draw(_SHIFT), 0))
    return _before(as_of, draw(_FRESH if kind == 2 else st.integers(0, 730)))


def _profile_quantity(draw: st.DrawFn, key: str, as_of: dt.date, comparators: bool = False) -> Quantity:
    value, unit = _quantity_value(draw, key)
    return Quantity(
        value=value,
        unit=unit,
        comparator=draw(_COMPARATOR) if comparators else None,
        date=profile_date(draw, key, as_of),
    )


def shift_years(d: dt.date, years: int) -> dt.date:
    """``d`` moved by whole years (29 February → 28 February in a common year)."""
    y = d.year + years
    if not 1 <= y <= 9999:
        return dt.date.min if y < 1 else dt.date.max
    try:
        return d.replace(year=y)
    except ValueError:
        return dt.date(y, 2, 28)


def _birth_date(draw: st.DrawFn, as_of: dt.date) -> dt.date:
    """Birthdays around every age threshold (the day before, on, and after the birthday)."""
    ages = tuple(int(x) for x in vocabulary().anchors.get("age", ())) or (18, 65)
    years = draw(st.sampled_from(ages)) + draw(_SHIFT) if draw(_COIN) else draw(st.integers(0, 100))
    born = _add(shift_years(as_of, -max(0, years)), draw(st.integers(-2, 2)))
    return min(born, as_of)


def _blood_pressure(draw: st.DrawFn, as_of: dt.date) -> BloodPressure:
    cs = canonical("bp_systolic", *_quantity_value(draw, "bp_systolic"))
    cd = canonical("bp_diastolic", *_quantity_value(draw, "bp_diastolic"))
    both = sorted(
        {u for u, _ in exact_units("bp_systolic", cs)} & {u for u, _ in exact_units("bp_diastolic", cd)}
    )
    if not both:  # no unit in which both are exact: round both in mmHg (new values)
        cs, cd, both = F(round(cs)), F(round(cd)), ["mmHg"]
    unit = draw(st.sampled_from(tuple(both)))
    sv = exact_decimal(cs / unit_factors("bp_systolic")[unit])
    dv = exact_decimal(cd / unit_factors("bp_diastolic")[unit])
    assert sv is not None and dv is not None
    return BloodPressure(
        systolic=sv,
        diastolic=dv,
        unit=unit,
        date=as_of if draw(_COIN) else _lab_date(draw, as_of),
        on_antihypertensive_treatment=draw(optional(_COIN)),
    )


# ---------------------------------------------------------------------------- items


def _period(draw: st.DrawFn, as_of: dt.date, single_day: bool = False) -> dict[str, Any]:
    """start / end / ongoing (or a single-day date), consistent and never after as_of."""
    if single_day and draw(_COIN):
        return {"date": _maybe(draw, lambda: _event_date(draw, as_of))}
    start = _maybe(draw, lambda: _event_date(draw, as_of))
    end = _maybe(draw, lambda: _event_date(draw, as_of))
    if start is not None and end is not None and end < start:
        start, end = end, start
    ongoing = draw(optional(_COIN)) if end is None else None
    return {"start": start, "end": end, "ongoing": ongoing}


@functools.cache
def drug_names() -> tuple[str, ...]:
    """Every name the drug catalogue reads: agents, aliases and brands, regimen names."""
    c = catalogue()
    return tuple(
        sorted(
            {n for a in c.agents.values() for n in a.names}
            | {n for r in c.regimens.values() for n in r.names}
        )
    )


_DOSES = st.sampled_from(
    ("", " 5 mg daily", " 300 mg qd", " 4 mg oral", " iv infusion", " cream", " 75 mg/m2 q3w")
)
# words no catalogue knows: a trial code, a misspelling, a brand from elsewhere
_UNREAD = st.sampled_from(("XY-101", "doxorubicine", "study drug", "Zentriva"))


@st.composite
def drug_texts(draw: st.DrawFn) -> str:
    """A drug as a chart writes it: a catalogue name (any case, with a dose, a route, another
    drug), a word the catalogue cannot read, or any text."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(_UNREAD)
    if kind == 1:
        return draw(st.text(st.characters(codec="utf-8", categories=("L", "N")), min_size=1, max_size=8))
    case = draw(st.sampled_from((str, str.upper, str.title)))
    text = case(draw(st.sampled_from(drug_names()))) + draw(_DOSES)
    if kind == 2:
        text += " + " + draw(st.one_of(st.sampled_from(drug_names()), _UNREAD))
    return text


_UNSET: Any = object()


def _classes(
    draw: st.DrawFn, fields: dict[str, Any], collection: str, model: type[BaseModel], drug: bool
) -> dict[str, Any]:
    """``fields`` with stated classes: not recorded (None), recorded as none ([]), or some.

    Stated classes agree with the catalogue: for an item the catalogue reads completely (every
    agent and word of its name known, the route where it matters), they are some of the classes
    it derives; otherwise any (the rules' first).  A rule's `where` template that asks for a
    class the named drug does not have gets a drug the catalogue cannot read instead (or, for an
    operation, which names no drug, no stated classes).
    """
    out = dict(fields)
    r = catalogue().read(
        name=out.get("name"), agents=out.get("agents"), classes=None, route=out.get("route"), drug=drug
    )
    stated = out.get("classes", _UNSET)
    if stated is _UNSET:
        kind = draw(st.integers(0, 3))
        if kind == 0:
            out["classes"] = None
        elif kind == 1:
            out["classes"] = []
        elif r.classes_known:
            out["classes"] = (
                draw(st.lists(st.sampled_from(r.classes), max_size=3, unique=True)) if r.classes else []
            )
        else:
            out["classes"] = draw(listed(collection, model, "classes"))
    elif stated and r.classes_known and not set(stated) <= set(r.classes):
        if not drug:
            out["classes"] = None
        else:
            out["name"] = draw(_UNREAD)
            if "agents" in out:
                out["agents"] = None
    return out


def _treatment(draw: st.DrawFn, as_of: dt.date) -> Treatment:
    fields = draw(auto(Treatment, "treatments", ("ongoing",)))
    fields |= {
        "agents": draw(
            optional(
                st.lists(
                    st.one_of(free_text("treatments", "agents", ("doxorubicin", "ifosfamide")), drug_texts()),
                    max_size=2,
                )
            )
        ),
        "name": draw(optional(st.one_of(free_text("treatments", "name", ("wide excision",)), drug_texts()))),
        "dose_gy": draw(optional(st.integers(0, 80).map(Decimal))),
        "progression_date": _maybe(draw, lambda: _event_date(draw, as_of)),
    }
    fields = _matching(draw, "treatments", Treatment, fields)
    if fields["type"] is None and not fields.get("name") and not fields.get("agents"):
        fields["name"] = draw(drug_texts())  # unclassified: named
    fields = _classes(draw, fields, "treatments", Treatment, fields["type"] in DRUG_TREATMENTS)
    if fields["type"] not in ("surgery", "procedure", None):
        fields["amputation"] = None  # only an operation or procedure can be one (else an error)
    single = fields["type"] in ("surgery", "vaccine", "transfusion", "procedure")
    return Treatment(**fields, **_period(draw, as_of, single_day=single))


@functools.cache
def condition_names() -> tuple[str, ...]:
    """Names by which a condition of type "other" is recognised (condition_types.toml)."""
    return tuple(sorted({n.strip() for t in condition_types().values() for n in t.names}))


def _category(draw: st.DrawFn, ctype: str | None) -> str | None:
    """Not recorded, or a category the type allows (any one, for type "other" and for an
    unclassified condition, which has no type)."""
    allowed = (
        _literal_choices(Condition, "category")
        if ctype in ("other", None)
        else sorted(condition_types()[ctype].allows)
    )
    return draw(optional(st.sampled_from(tuple(allowed or ("other",)))))


def _condition(draw: st.DrawFn, as_of: dt.date) -> Condition:
    fields = draw(auto(Condition, "conditions", ("category",)))
    fields |= {
        "nyha_class": draw(optional(st.integers(1, 4))),
        "name": draw(
            optional(
                st.one_of(
                    free_text("conditions", "name", ("hypertension",)), st.sampled_from(condition_names())
                )
            )
        ),
    }
    fields["category"] = _category(draw, fields["type"])
    fields = _matching(draw, "conditions", Condition, fields)
    if (
        fields.get("category") is not None
        and fields["type"] not in ("other", None)
        and (fields["category"] not in condition_types()[fields["type"]].allows)
    ):
        fields["category"] = _category(draw, fields["type"])  # a template's category: re-drawn
    if fields["type"] is None and not fields.get("name"):  # unclassified: named
        fields["name"] = draw(st.sampled_from(condition_names()))
    status = fields.pop("status")
    onset = _maybe(draw, lambda: _event_date(draw, as_of))
    resolved = None
    if status in (None, "resolved") and draw(_COIN):
        resolved = _event_date(draw, as_of)
        if onset is not None and resolved < onset:
            onset, resolved = resolved, onset
        if status == "resolved" and resolved >= as_of:  # resolved: before the evaluation date
            resolved = _before(as_of, 1)
            onset = min(onset, resolved) if onset is not None else None
    return Condition(**fields, status=status, onset=onset, resolved=resolved)


def _medication(draw: st.DrawFn, as_of: dt.date) -> Medication:
    name = draw(st.one_of(free_text("medications", "name", ("prednisone", "amlodipine")), drug_texts()))
    fields = draw(auto(Medication, "medications", ("ongoing",))) | {"name": name}
    fields = _matching(draw, "medications", Medication, fields)
    fields = _classes(draw, fields, "medications", Medication, True)
    return Medication(**fields, **_period(draw, as_of))


def _toxicity(draw: st.DrawFn, as_of: dt.date) -> Toxicity:
    when = _maybe(draw, lambda: _event_date(draw, as_of))
    resolved = _maybe(draw, lambda: _event_date(draw, as_of))
    if when is not None and resolved is not None and resolved < when:
        when, resolved = resolved, when
    fields = _matching(
        draw,
        "toxicities",
        Toxicity,
        {
            "term": draw(free_text("toxicities", "term", ("alopecia", "fatigue"))),
            "grade": draw(st.integers(0, 5)),
        },
    )
    return Toxicity(
        **fields, date=when, resolved=resolved, ongoing=draw(optional(_COIN)) if resolved is None else None
    )


def _other_malignancy(draw: st.DrawFn, as_of: dt.date) -> OtherMalignancy:
    fields = draw(auto(OtherMalignancy, "other_malignancies"))
    fields["histology"] = draw(optional(histology_codes("other_malignancies", "histology")))
    fields = _matching(draw, "other_malignancies", OtherMalignancy, fields)
    when = _maybe(draw, lambda: _event_date(draw, as_of))
    resolved = None
    if fields["status"] != "active" and draw(_COIN):
        resolved = _event_date(draw, as_of)
        if when is not None and resolved < when:
            when, resolved = resolved, when
    return OtherMalignancy(**fields, date=when, resolved=resolved)


def _metastasis(draw: st.DrawFn, as_of: dt.date) -> Metastasis:
    fields = _matching(draw, "metastases", Metastasis, draw(auto(Metastasis, "metastases")))
    return Metastasis(
        **fields,
        lesion_count=draw(optional(st.integers(1, 12))),
        date=_maybe(draw, lambda: _event_date(draw, as_of)),
    )


def _lesion(draw: st.DrawFn, as_of: dt.date) -> Lesion:
    fields = _matching(draw, "lesions", Lesion, draw(auto(Lesion, "lesions")))
    return Lesion(**fields, date=_maybe(draw, lambda: _event_date(draw, as_of)))


def _allergy(draw: st.DrawFn, as_of: dt.date) -> Allergy:
    a = typing.cast(Allergy, draw(ALLERGIES))
    return Allergy(**_matching(draw, "allergies", Allergy, a.model_dump()))


def _attestation(draw: st.DrawFn, as_of: dt.date) -> Attestation:
    pairs = vocabulary().reviews or (("T", "I1"),)
    trial, criterion = draw(st.sampled_from(pairs))
    return Attestation(
        trial=trial,
        criterion=criterion,
        by="Dr Q. Reviewer",
        answer=draw(st.sampled_from(("yes", "no"))),
        date=_before(as_of, draw(st.integers(0, 30))),
    )


def _diagnosis(draw: st.DrawFn, as_of: dt.date) -> Diagnosis:
    return Diagnosis(
        **draw(auto(Diagnosis, "diagnosis")),
        histology=draw(optional(histology_codes())),
        size=_maybe(draw, lambda: _profile_quantity(draw, "tumour_size", as_of)),
        stage=draw(optional(STAGES)),
        date=_maybe(draw, lambda: _event_date(draw, as_of)),
    )


STAGES = st.builds(
    Stage,
    t=optional(st.sampled_from(("T1", "T2", "T3", "T4", "TX"))),
    n=optional(choice("stage", Stage, "n")),
    m=optional(choice("stage", Stage, "m")),
)
ALLERGIES = st.builds(
    Allergy,
    substance=free_text("allergies", "substance", ("penicillin", "peanuts")),
    kind=optional(choice("allergies", Allergy, "kind")),
    severity=optional(choice("allergies", Allergy, "severity")),
)
REPRODUCTIVE = st.builds(Reproductive, **{n: optional(_COIN) for n in Reproductive.model_fields})
ADMINISTRATIVE = st.builds(Administrative, **{n: optional(_COIN) for n in Administrative.model_fields})
SCORES = st.builds(Score, value=st.integers(0, 5))
_ITEMS = st.integers(0, 3)


def _items(
    draw: st.DrawFn, make: Callable[[st.DrawFn, dt.date], Any], as_of: dt.date, most: int = 3
) -> list[Any] | None:
    """Not recorded, recorded as none (an empty list), or a few items."""
    if not draw(_COIN):
        return None
    return [make(draw, as_of) for _ in range(min(draw(_ITEMS), most))]


@st.composite
def patients(draw: st.DrawFn, as_of: dt.date | None = None) -> Patient:
    """A valid patient profile whose facts are present or absent independently."""
    when = as_of or draw(AS_OF)
    ecog = draw(optional(SCORES))
    if ecog is not None:
        ecog = Score(value=ecog.value, date=profile_date(draw, "ecog", when))
    sex = draw(optional(st.sampled_from(("female", "male"))))
    reproductive = draw(optional(REPRODUCTIVE))
    if sex == "male" and reproductive is not None:  # a pregnancy of a male is an error
        reproductive = reproductive.model_copy(
            update={k: None for k in ("pregnant", "breastfeeding") if getattr(reproductive, k)}
        )
    return Patient(
        id=draw(st.sampled_from(("p", "patient-1", "Ünïcode"))),
        as_of=when,
        sex=sex,
        birth_date=_maybe(draw, lambda: _birth_date(draw, when)),
        weight=_maybe(draw, lambda: _profile_quantity(draw, "weight", when)),
        height=_maybe(draw, lambda: _profile_quantity(draw, "height", when)),
        ecog=ecog,
        life_expectancy=_maybe(
            draw, lambda: _profile_quantity(draw, "life_expectancy", when, comparators=True)
        ),
        diagnosis=_maybe(draw, lambda: _diagnosis(draw, when)),
        metastases=_items(draw, _metastasis, when),
        measurable_disease=draw(optional(_COIN)),
        lesions=_items(draw, _lesion, when, 2),
        labs=draw(optional(labs(when))),
        blood_pressure=_items(draw, _blood_pressure, when, 2),
        conditions=_items(draw, _condition, when),
        medications=_items(draw, _medication, when),
        treatments=_items(draw, _treatment, when),
        toxicities=_items(draw, _toxicity, when, 2),
        allergies=_items(draw, _allergy, when, 2),
        other_malignancies=_items(draw, _other_malignancy, when, 2),
        reproductive=reproductive,
        administrative=draw(optional(ADMINISTRATIVE)),
        attestations=[
            a for a in {(x.trial, x.criterion): x for x in _items(draw, _attestation, when) or []}.values()
        ],
    )


def to_dict(p: Patient) -> dict[str, Any]:
    """The profile as plain data (absent fields left out), for surgery on it."""
    return p.model_dump(exclude_none=True)


# ---------------------------------------------------------------------------- surgery

QUANTITY_FIELDS = {"weight": "weight", "height": "height", "life_expectancy": "life_expectancy"}


def re_express(d: dict[str, Any], pick: Callable[[list[Any]], Any]) -> dict[str, Any]:
    """The same profile with every quantity in another unit (exactly), ``pick`` choosing."""
    out = dict(d)

    def move(key: str, value: Decimal, unit: str) -> tuple[Decimal, str]:
        if unit not in unit_factors(key):
            return value, unit
        u, v = pick(exact_units(key, canonical(key, value, unit)))
        return v, u

    for fname, key in QUANTITY_FIELDS.items():
        if fname in out:
            q = dict(out[fname])
            q["value"], q["unit"] = move(key, q["value"], q["unit"])
            out[fname] = q
    if "diagnosis" in out and "size" in out["diagnosis"]:
        q = dict(out["diagnosis"]["size"])
        q["value"], q["unit"] = move("tumour_size", q["value"], q["unit"])
        out["diagnosis"] = {**out["diagnosis"], "size": q}
    if "labs" in out:
        new = []
        for lab in out["labs"]:
            lab = dict(lab)
            if "value" in lab:
                old_unit = lab["unit"]
                lab["value"], lab["unit"] = move(lab["test"], lab["value"], old_unit)
                rr = lab.get("reference_range")
                if rr is not None and "unit" not in rr and lab["unit"] != old_unit:
                    rr = dict(rr)
                    moved = {
                        k: exact_decimal(
                            canonical(lab["test"], rr[k], old_unit) / unit_factors(lab["test"])[lab["unit"]]
                        )
                        for k in ("low", "high")
                        if k in rr
                    }
                    if all(v is not None for v in moved.values()) and pick([True, False]):
                        rr.update(moved)
                    else:
                        rr["unit"] = old_unit
                    lab["reference_range"] = rr
            new.append(lab)
        out["labs"] = new
    if "blood_pressure" in out:
        new = []
        for bp in out["blood_pressure"]:
            bp = dict(bp)
            cs = canonical("bp_systolic", bp["systolic"], bp["unit"])
            cd = canonical("bp_diastolic", bp["diastolic"], bp["unit"])
            both = sorted(
                {u for u, _ in exact_units("bp_systolic", cs)}
                & {u for u, _ in exact_units("bp_diastolic", cd)}
            )
            u = pick(both)
            bp["systolic"] = exact_decimal(cs / unit_factors("bp_systolic")[u])
            bp["diastolic"] = exact_decimal(cd / unit_factors("bp_diastolic")[u])
            bp["unit"] = u
            new.append(bp)
        out["blood_pressure"] = new
    return out


# Keys whose absence is not "not recorded": required fields and changes of meaning (a censored
# value's comparator).  A lab's reference range is a removal of its own kind (see below).  An
# item's `classes` and `agents` left out are "not recorded", so they are removals.
_KEEP = {"id", "as_of", "value", "unit", "comparator", "reference_range"}
_ITEM_MODELS: dict[str, type[BaseModel]] = {
    "metastases": Metastasis,
    "lesions": Lesion,
    "conditions": Condition,
    "medications": Medication,
    "treatments": Treatment,
    "toxicities": Toxicity,
    "allergies": Allergy,
    "other_malignancies": OtherMalignancy,
}


def _required(model: type[BaseModel]) -> set[str]:
    return {n for n, f in model.model_fields.items() if f.is_required()}


def _valid_without(collection: str, item: dict[str, Any], name: str) -> bool:
    """Is the item still valid without field ``name``?  (An unclassified item, without `type`,
    needs a name, a code or agents: those are then required.)"""
    try:
        _ITEM_MODELS[collection].model_validate({k: v for k, v in item.items() if k != name})
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Removal:
    label: str
    profile: dict[str, Any]
    substitute: str = ""  # text an explanation must show when a documented fallback decides


def _drop(d: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    """A copy of ``d`` without the key at ``path`` (dict keys and list indexes)."""
    head, *rest = path
    if not rest:
        return {k: v for k, v in d.items() if k != head}
    out = dict(d)
    if isinstance(d[head], list):
        idx, *tail = rest
        lst = list(d[head])
        lst[idx] = _drop(lst[idx], tuple(tail))
        out[head] = lst
    else:
        out[head] = _drop(d[head], tuple(rest))
    return out


def removals(d: dict[str, Any]) -> list[Removal]:
    """Every way of forgetting one recorded fact of profile ``d``.

    A field (top level, nested, or of one item), a whole list, every result of one lab test, one
    attestation.  Not "removals": deleting an item from a recorded list (a recorded list is
    complete, so that changes what it says), a censored value's comparator, a required field.
    Removing a measured CrCl lets a documented fallback decide (Cockcroft–Gault):
    ``substitute`` names it.  Removing a lab's reference range leaves × ULN to the analyte's
    band of plausible ULNs, which decides only where every ULN in it agrees.
    """
    out: list[Removal] = []
    for k, v in d.items():
        if k in _KEEP or k == "attestations":
            continue
        out.append(Removal(k, _drop(d, (k,))))
        if isinstance(v, dict):
            for sub, w in v.items():
                if sub not in _KEEP:
                    out.append(Removal(f"{k}.{sub}", _drop(d, (k, sub))))
                if isinstance(w, dict):
                    out.extend(
                        Removal(f"{k}.{sub}.{s2}", _drop(d, (k, sub, s2))) for s2 in w if s2 not in _KEEP
                    )
        if k in _ITEM_MODELS:
            keep = _KEEP | _required(_ITEM_MODELS[k])
            for i, item in enumerate(v):
                out.extend(
                    Removal(f"{k}[{i}].{f}", _drop(d, (k, i, f)))
                    for f in item
                    if f not in keep and _valid_without(k, item, f)
                )
    for i in range(len(d.get("attestations", []))):
        out.append(
            Removal(
                f"attestations[{i}]",
                {**d, "attestations": [a for j, a in enumerate(d["attestations"]) if j != i]},
            )
        )
    for test in sorted({lab["test"] for lab in d.get("labs", [])}):
        out.append(
            Removal(
                f"labs[test={test}]",
                {**d, "labs": [lab for lab in d["labs"] if lab["test"] != test]},
                substitute="Cockcroft–Gault" if test == "crcl" else "",
            )
        )
    for i, lab in enumerate(d.get("labs", [])):
        if lab.get("reference_range") is not None:
            out.append(Removal(f"labs[{i}].reference_range", _drop(d, ("labs", i, "reference_range"))))
    return out


# ---------------------------------------------------------------------------- added evidence

# (test, qualitative result) and (test, canonical value well above every threshold of the rules)
# that establish or raise HIV, hepatitis B or hepatitis C (data/evidence.toml)
EVIDENCE_RESULTS = ("hiv_antibody", "hiv_ag_ab", "hbsag", "anti_hbc", "anti_hcv")
EVIDENCE_LOADS = ("hiv_rna", "hbv_dna_iu", "hbv_dna_copies", "hcv_rna_iu", "hcv_rna_copies")
# drug classes whose medications the rules exclude or send to review
EVIDENCE_CLASSES = ("antiretroviral", "hbv_antiviral", "immunosuppressant", "systemic_corticosteroid")


@functools.cache
def evidence_drugs() -> tuple[str, ...]:
    """Catalogue agents that are evidence: antiretrovirals, HBV antivirals, immunosuppressants,
    systemic corticosteroids, and every anticancer drug."""
    return tuple(
        sorted(
            a.name
            for a in catalogue().agents.values()
            if a.treatment is not None or set(a.classes) & set(EVIDENCE_CLASSES)
        )
    )


@dataclass(frozen=True)
class Addition:
    label: str
    profile: dict[str, Any]


def _high_load(key: str) -> tuple[Decimal, str]:
    a = analytes()[key]
    top = max(vocabulary().anchors.get(key, (F(1000),)))
    value = exact_decimal(max(top * 100, F(10**6)))
    assert value is not None and a.unit is not None
    return value, a.unit.text


@st.composite
def additions(draw: st.DrawFn, d: dict[str, Any]) -> Addition:
    """One more piece of evidence in profile ``d``: a positive HIV / HBsAg / anti-HBc / anti-HCV
    result or a high viral load (dated the evaluation date, the newest result, for a test with
    no result on that day: one there would make a conflict, not evidence), a medication from the
    catalogue (an antiretroviral, an immunosuppressant, a corticosteroid, an anticancer drug), or
    a condition."""
    as_of = d["as_of"]
    kind = draw(st.sampled_from(("result", "load", "medication", "condition")))
    if kind in ("result", "load"):
        busy = {lab["test"] for lab in d.get("labs", []) if lab["date"] == as_of}
        tests = [t for t in (EVIDENCE_RESULTS if kind == "result" else EVIDENCE_LOADS) if t not in busy]
        if tests:
            test = draw(st.sampled_from(tests))
            lab: dict[str, Any] = {"test": test, "date": as_of}
            if kind == "result":
                lab["result"] = "positive"
            else:
                lab["value"], lab["unit"] = _high_load(test)
            return Addition(
                f"labs += {test} {lab.get('result') or lab['value']}",
                {**d, "labs": [*d.get("labs", []), lab]},
            )
        kind = "condition"
    if kind == "medication":
        fields: dict[str, Any] = {
            "name": draw(st.sampled_from(evidence_drugs())) + draw(_DOSES),
            "route": draw(optional(st.sampled_from(("oral", "intravenous", "subcutaneous")))),
        }
        fields = _classes(draw, fields, "medications", Medication, True)
        med = Medication(**fields, **_period(draw, as_of))
        return Addition(
            f"medications += {med.name}",
            {**d, "medications": [*d.get("medications", []), med.model_dump(exclude_none=True)]},
        )
    cond = _condition(draw, as_of)
    return Addition(
        f"conditions += {cond.type} {cond.name or ''}",
        {**d, "conditions": [*d.get("conditions", []), cond.model_dump(exclude_none=True)]},
    )


def place(
    d: dict[str, Any],
    key: str,
    value: Decimal,
    unit: str | None,
    when: dt.date,
    rr: ReferenceRange | None = None,
) -> dict[str, Any]:
    """Profile ``d`` with ``key`` set to ``value unit`` (replacing what was there).

    Labs replace every result of the test; age sets the birth date (``value`` whole years on
    ``when``); ECOG is a score; blood pressure keeps the other number of the reading.  Every
    value is dated ``when`` (an undated ECOG, weight or life expectancy is unknown).
    """
    out = dict(d)
    a = analytes()[key]
    if key == "age":
        out["birth_date"] = shift_years(when, -int(value))
    elif key == "ecog":
        out["ecog"] = {"value": int(value), "date": when}
    elif key in QUANTITY_FIELDS:
        out[key] = {"value": value, "unit": unit, "date": when}
    elif key == "tumour_size":
        out["diagnosis"] = {**out.get("diagnosis", {}), "size": {"value": value, "unit": unit}}
    elif key in ("bp_systolic", "bp_diastolic"):
        other = {"bp_systolic": "diastolic", "bp_diastolic": "systolic"}[key]
        mine = {"bp_systolic": "systolic", "bp_diastolic": "diastolic"}[key]
        other_value = canonical(
            "bp_systolic" if other == "systolic" else "bp_diastolic",
            Decimal(120 if other == "systolic" else 80),
            "mmHg",
        )
        ov = exact_decimal(other_value / unit_factors(key)[unit or "mmHg"])
        out["blood_pressure"] = [
            {mine: value, other: ov if ov is not None else Decimal(80), "unit": unit, "date": when}
        ]
    elif a.source == "lab":
        lab: dict[str, Any] = {"test": key, "value": value, "unit": unit, "date": when}
        if rr is not None:
            lab["reference_range"] = rr.model_dump(exclude_none=True)
        out["labs"] = [x for x in out.get("labs", []) if x["test"] != key] + [lab]
    else:
        raise ValueError(f"cannot place {key}")
    return out


PLACEABLE = {"age", "ecog", "tumour_size", "bp_systolic", "bp_diastolic", *QUANTITY_FIELDS}


def placeable(key: str) -> bool:
    return key in PLACEABLE or analytes()[key].source == "lab"


# ---------------------------------------------------------------------------- rule logic


def leaf_logic() -> list[dict[str, Any]]:
    """The leaves of every rule file's logic, as written (raw TOML tables)."""
    out: list[dict[str, Any]] = []

    def visit(raw: Any) -> None:
        if isinstance(raw, dict):
            for k in ("all", "any"):
                if k in raw:
                    for c in raw[k]:
                        visit(c)
                    return
            if "not" in raw:
                visit(raw["not"])
                return
            out.append(raw)

    for t in load_trials():
        for c in t.criteria:
            visit(c.spec.logic)
    return out


SCALAR_NAMES = (
    "sex",
    "pregnant",
    "measurable_disease",
    "consent_signed",
    "disease_status",
    "grade",
    "amputee",
)
QUANTITY_NAMES = ("anc", "age", "ecog", "creatinine", "crcl", "weight", "alt")
_EXPR_ATOMS = st.one_of(
    st.sampled_from(SCALAR_NAMES + QUANTITY_NAMES),
    st.integers(-3, 1000).map(str),
    st.sampled_from(
        ['"female"', '"G3"', "true", "false", "null", "0", "0.0", "1.5", "1e400", '"("', "[1, 2]", "{}"]
    ),
)


def _expr_combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(
        inner,
        st.sampled_from(
            [
                "+",
                "-",
                "*",
                "/",
                "//",
                "%",
                "**",
                "==",
                "!=",
                "<",
                ">",
                "<=",
                ">=",
                "and",
                "or",
                "=~",
                "=~~",
                "in",
                "&",
                "|",
                ">>",
            ]
        ),
        inner,
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
    attr = st.tuples(
        inner,
        st.sampled_from(["length", "to_flt", "to_int", "as_lower", "ceiling", "is_nan", "to_str", "decode"]),
    ).map(lambda t: f"({t[0]}).{t[1]}")
    return st.one_of(
        binary,
        attr,
        inner.map(lambda s: f"not {s}"),
        inner.map(lambda s: f"({s})"),
        inner.map(lambda s: f"-{s}"),
        st.tuples(inner, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(inner, inner, inner).map(lambda t: f"{t[0]} ? {t[1]} : {t[2]}"),
    )


EXPRESSIONS = st.recursive(_EXPR_ATOMS, _expr_combine, max_leaves=6)

_TOML_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(max_size=12),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.sampled_from(
        [
            "anc",
            "age",
            "histology",
            "treatments",
            "P4W",
            "P6M",
            "P",
            "G3",
            "10^9/L",
            ">=",
            "=>",
            "female",
            "SOFT_TISSUE",
            "LMS",
            "1e-999999999",
        ]
    ),
    st.dates(),
)
_LOGIC_KEYS = (
    "all",
    "any",
    "not",
    "quantity",
    "fact",
    "expr",
    "histology",
    "exists",
    "review",
    "op",
    "value",
    "unit",
    "uln",
    "is",
    "in",
    "where",
    "within",
    "current",
    "within_days",
    "recency",
    "include",
    "exclude",
    "otherwise",
    "recorded",
)


def _logic_combine(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_LOGIC_KEYS), inner, max_size=3)
    )


MALFORMED_LOGIC = st.recursive(st.one_of(_TOML_SCALARS, EXPRESSIONS), _logic_combine, max_leaves=8)


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value (NaN and infinities included: Python's json reads them)."""
    return st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=12,
    )


_FHIR_KEYS = (
    "resourceType",
    "status",
    "code",
    "valueQuantity",
    "valueCodeableConcept",
    "subject",
    "effectiveDateTime",
    "birthDate",
    "gender",
    "onsetDateTime",
    "category",
)
FHIR_ISH = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(("Bundle", "Patient", "Observation", "")),
        "type": st.sampled_from(("collection", "batch", "searchset", 3)),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "resource": st.dictionaries(
                        st.sampled_from(_FHIR_KEYS),
                        st.one_of(
                            st.sampled_from(
                                (
                                    "Patient",
                                    "Observation",
                                    "Condition",
                                    "final",
                                    "female",
                                    "2026-01-01",
                                    "2026-13-45",
                                    "1e-999999999",
                                )
                            ),
                            st.fixed_dictionaries(
                                {
                                    "value": st.one_of(st.floats(), st.integers(), st.text(max_size=5)),
                                    "unit": st.sampled_from(
                                        ("g/L", "10*9/L", "{copies}/mL", "", "[IU]/mL", "%")
                                    ),
                                    "code": st.sampled_from(("g/L", "10*9/L", "x")),
                                }
                            ),
                        ),
                        max_size=5,
                    )
                }
            ),
            max_size=4,
        ),
    }
)
"""A FHIR-shaped JSON object (``resourceType`` and friends) with arbitrary contents."""

UNIT_TEXT = st.one_of(
    st.text(max_size=20),
    st.text(st.sampled_from(list("0123456789^*/.()x×⁹³²µuLmgdlIU[]{}%eE- kKsSmolhcp")), max_size=16),
    st.sampled_from(sorted({u for g in (*_GROUPS, _ESTIMATE) for u in g})),
)
