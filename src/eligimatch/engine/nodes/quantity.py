"""Quantities: ``{quantity = "anc", op, value, unit}``, ``uln = k``, graded and qualitative results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from ...errors import UnitError
from ...facts import Facts
from ...quantities import QuantityFact
from ...units import Analyte, analytes, format_number
from ...vocabulary import suggest
from ..core import Outcome, Truth, recency_limit, stale, unknown
from .base import (
    NEGATION,
    OPS,
    SYMBOL,
    Bad,
    EvalContext,
    Example,
    Node,
    NodeKind,
    Problems,
    censored,
    number,
)

if TYPE_CHECKING:
    from ..columns import Chunk, Codes

# floats closer than this (relative) are compared exactly instead
FLOAT_MARGIN = 1e-9


@dataclass(frozen=True)
class Compare(Node):
    """``quantity op value`` in the analyte's canonical unit, or ``quantity op k × ULN``."""

    analyte: Analyte
    op: str
    threshold: Fraction | None = None    # canonical unit, exact
    uln_multiple: Decimal | None = None
    ordinal: str | None = None           # for ordinal scales: the threshold grade
    within_days: int | None = None       # recency required of the value
    default_recency: bool = True         # apply the trial's lab_max_age_days

    def __post_init__(self) -> None:
        # the threshold (or ULN multiple) as a float, for the graph runner's fast comparison
        exact = (self.uln_multiple if self.uln_multiple is not None else
                 self.threshold if self.ordinal is None else None)
        try:
            bound = None if exact is None else float(exact)
        except OverflowError:
            bound = None
        object.__setattr__(self, "_bound", bound)

    def symbols(self) -> set[str]:
        return {self.analyte.key}

    def limit(self, ctx: EvalContext) -> int | None:
        """How old the result may be in this context (see :func:`..core.recency_limit`)."""
        return recency_limit(self.analyte, self.within_days, self.default_recency,
                             ctx.lab_max_age_days)

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        return (self, self.limit(ctx))

    def shared_reading(self, ctx: EvalContext) -> tuple[Any, Callable[[Facts], Any]]:
        """Comparisons of one quantity with the same window and mode share the reading: the
        result, whether it is recent enough, numeric, with a ULN — and its value and ULN as
        floats.  None when it cannot be compared (unknown)."""
        limit = self.limit(ctx)

        def read(facts: Facts) -> tuple[QuantityFact, float | None, float | None] | None:
            q = self.reading(facts, limit)
            if isinstance(q, Outcome):
                return None
            x = u = None
            if q.value is not None and q.comparator is None:
                try:
                    x = float(q.value)
                    u = None if q.uln is None else float(q.uln)
                except OverflowError:
                    x = u = None
            return (q, x, u)
        return ("reading", self.analyte.key, limit, self.mode()), read

    def decide(self, reading: Any) -> Truth:
        """The comparison on a shared reading: as floats when the two numbers are clearly apart
        (more than 1e-9 relative), otherwise exactly (:meth:`holds`)."""
        if reading is None:
            return None
        q, x, u = reading
        bound: float | None = self._bound  # type: ignore[attr-defined]
        if x is not None and bound is not None:
            y = bound if self.uln_multiple is None else None if u is None else bound * u
            if y is not None and abs(x - y) > FLOAT_MARGIN * max(abs(x), abs(y)):
                return bool(OPS[self.op](x, y))
        return self.holds(q)

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        return self.decide(self.shared_reading(ctx)[1](facts))

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        return self.shared_columns([self], chunk, [ctx])[0]

    @classmethod
    def shared_columns(cls, nodes: Sequence[Node], chunk: Chunk, ctxs: Sequence[EvalContext]
                       ) -> list[Codes]:
        """Comparisons of one reading, decided together (:func:`..columnar.compare`)."""
        from ..columnar import compare

        first = nodes[0]
        assert isinstance(first, Compare)
        return compare(nodes, chunk, first.limit(ctxs[0]))

    def _need(self) -> str:
        return f"{self.analyte.short} {SYMBOL[self.op]} {self._threshold_text()}"

    def _threshold_text(self) -> str:
        if self.uln_multiple is not None:
            return f"{format_number(self.uln_multiple)} × ULN"
        if self.ordinal is not None:
            return self.ordinal
        assert self.threshold is not None
        return self.analyte.show(self.threshold)

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        q = self.reading(facts, self.limit(ctx))
        if isinstance(q, Outcome):
            return q
        if self.ordinal is not None:
            return self._ordinal(q)
        if self.uln_multiple is not None:
            return self._uln(q)
        assert self.threshold is not None
        threshold = self.threshold
        return self._decide(q, q.shown, lambda: self.analyte.show(threshold))

    def mode(self) -> Literal["ordinal", "uln", "value"]:
        """What of the result the comparison reads: a grade, a value and its ULN, or a value."""
        return ("ordinal" if self.ordinal is not None else
                "uln" if self.uln_multiple is not None else "value")

    def reading(self, facts: Facts, limit: int | None) -> QuantityFact | Outcome:
        """The result to compare, or why there is none: not recorded, older than ``limit`` days
        (or undated), not numeric, no ULN.  Depends only on the analyte, the limit and
        :meth:`mode`, so comparisons that share them can share the reading."""
        a = self.analyte
        q = facts.quantity(a.key)
        # the texts are built only if read (many comparisons may share this reading)
        if q is None:
            what, why = facts.gap(a.key)
            return Outcome(None, lambda: f"{why} (needed: {self._need()})", (what,))
        if stale(q.date, facts.as_of, limit):
            if q.date is None:
                return Outcome(None, f"{a.short} has no date (needed within {limit} days)",
                               (f"date of {a.short}",))
            age = (facts.as_of - q.date).days
            return Outcome(None, lambda: (
                f"{a.short} from {q.date} is {age} days old; this criterion needs a "
                f"result within {limit} days"), (f"recent {a.short} (within {limit} days)",))
        if self.ordinal is not None:
            if q.result is None:
                return Outcome(None, lambda: (f"{a.short} has no graded result (needed: "
                                              f"{self._need()})"), (a.short,))
        elif q.value is None:
            return Outcome(None, lambda: f"{a.short} {q.shown()} is not numeric", (a.short,))
        elif self.uln_multiple is not None and (q.uln is None or q.uln <= 0) and (
                q.uln is not None or q.uln_band is None):
            return Outcome(None, lambda: (f"{a.short} {q.shown()}: no ULN to compare with "
                                          f"(needed: {self._need()})"),
                           (f"{a.short} reference range",))
        return q

    def holds(self, q: QuantityFact) -> Truth:
        """The comparison on a reading (exact): unknown only for a censored value that allows
        both answers."""
        if self.ordinal is not None:
            scale = self.analyte.scale or self.analyte.values
            assert q.result is not None
            return bool(OPS[self.op](scale.index(q.result), scale.index(self.ordinal)))
        assert q.value is not None
        if self.uln_multiple is not None:
            if q.uln is None:  # no range from the lab: only a verdict that every plausible ULN gives
                assert q.uln_band is not None
                low, high = (self._at(q, Fraction(self.uln_multiple) * u) for u in q.uln_band)
                return low if low == high else None
            bound = Fraction(self.uln_multiple) * q.uln
        else:
            assert self.threshold is not None
            bound = self.threshold
        return self._at(q, bound)

    def _at(self, q: QuantityFact, bound: Fraction) -> Truth:
        assert q.value is not None
        if q.comparator is not None:
            return censored(self.op, q.comparator, q.value, bound)
        return bool(OPS[self.op](q.value, bound))

    def _decide(self, q: QuantityFact, shown: Callable[[], str],
                limit_text: Callable[[], str]) -> Outcome:
        """Compare; the texts are functions, called only if the explanation is read."""
        v = self.holds(q)
        if v is None:
            text = (f"{self.analyte.short} {shown()} is a censored value that cannot decide "
                    f"{SYMBOL[self.op]} {limit_text()}")
            return unknown(text, missing=[f"exact {self.analyte.short}"])
        rel = SYMBOL[self.op] if v else SYMBOL[NEGATION[self.op]]
        return Outcome(v, lambda: f"{self.analyte.short} {shown()} {rel} {limit_text()}")

    def _uln(self, q: QuantityFact) -> Outcome:
        assert q.value is not None and self.uln_multiple is not None
        if q.uln is None:
            return self._uln_band(q)
        value, uln, k = q.value, q.uln, self.uln_multiple
        return self._decide(q, lambda: f"{q.shown()} = {format_number(value / uln, 3)} × ULN",
                            lambda: f"{format_number(k)} × ULN ({q.uln_note})")

    def _uln_band(self, q: QuantityFact) -> Outcome:
        """No reference range: decided only when every plausible ULN gives the same verdict."""
        assert q.uln_band is not None and self.uln_multiple is not None
        a, k = self.analyte, format_number(self.uln_multiple)
        lo, hi = (a.show(x) for x in q.uln_band)
        v = self.holds(q)
        if v is None:
            return unknown(
                f"{a.short} {q.shown()}: the lab reported no reference range, and whether it is "
                f"{SYMBOL[self.op]} {k} × ULN depends on the ULN (plausible ULNs {lo} to {hi}): "
                f"record the lab's reference range", missing=[f"{a.short} reference range"])
        rel = SYMBOL[self.op] if v else SYMBOL[NEGATION[self.op]]
        return Outcome(v, lambda: (f"{a.short} {q.shown()} {rel} {k} × ULN for every plausible "
                                   f"ULN ({lo} to {hi}; the lab reported no reference range)"))

    def _ordinal(self, q: QuantityFact) -> Outcome:
        v = self.holds(q)
        rel = SYMBOL[self.op] if v else SYMBOL[NEGATION[self.op]]
        return Outcome(v, lambda: f"{self.analyte.short} {q.shown()} {rel} {self.ordinal}")


@dataclass(frozen=True)
class Qualitative(Node):
    """A qualitative result equals one of the given values (e.g. HIV antibody positive)."""

    analyte: Analyte
    values: tuple[str, ...]
    within_days: int | None = None
    default_recency: bool = True

    def symbols(self) -> set[str]:
        return {self.analyte.key}

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        return (self, recency_limit(self.analyte, self.within_days, self.default_recency,
                                    ctx.lab_max_age_days))

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        q = facts.quantity(self.analyte.key)
        if q is None or stale(q.date, facts.as_of, recency_limit(
                self.analyte, self.within_days, self.default_recency, ctx.lab_max_age_days)):
            return None
        if q.result == "indeterminate" and "indeterminate" not in self.values:
            return None
        return q.result in self.values

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        a = self.analyte
        q = facts.quantity(a.key)
        want = " or ".join(self.values)
        if q is None:
            what, why = facts.gap(a.key)
            return unknown(f"{why} (needed: is it {want}?)", missing=[what])
        limit = recency_limit(a, self.within_days, self.default_recency,
                              ctx.lab_max_age_days)
        if stale(q.date, facts.as_of, limit):
            age = f"is {(facts.as_of - q.date).days} days old" if q.date else "has no date"
            return unknown(f"{a.short} {q.result} from {q.date} {age}; this criterion needs a "
                            f"result within {limit} days",
                            missing=[f"recent {a.short} (within {limit} days)"])
        if q.result == "indeterminate" and "indeterminate" not in self.values:
            return unknown(f"{a.short} indeterminate ({q.date})", missing=[f"{a.short} retest"])
        v = q.result in self.values
        return Outcome(v, lambda: f"{a.short} {q.shown()}")


def build_quantity(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    key = raw["quantity"]
    catalogue = analytes()
    if not isinstance(key, str) or key not in catalogue:
        problems.append((where, f"unknown quantity {key!r}{suggest(str(key), catalogue)}"))
        return Bad()
    a = catalogue[key]
    base = where.rsplit(".", 1)[0]
    within = raw.get("within_days")
    if within is not None and (isinstance(within, bool) or not isinstance(within, int)
                               or within < 0):
        problems.append((f"{base}.within_days", "expected a whole number of days"))
        return Bad()
    recency = raw.get("recency", "default")
    if recency not in ("default", "none"):
        problems.append((f"{base}.recency", "expected 'default' or 'none'"))
        return Bad()
    if a.kind == "qualitative":
        vals = raw.get("is")
        vals = [vals] if isinstance(vals, str) else vals
        if not vals or any(v not in a.values for v in vals) or set(raw) - {
                "quantity", "is", "within_days", "recency"}:
            problems.append((f"{base}.is", f"{a.name} is qualitative: give is = one of "
                                           f"{', '.join(a.values)}"))
            return Bad()
        return Qualitative(a, tuple(vals), within, recency == "default")
    op = raw.get("op")
    if op not in OPS:
        problems.append((f"{base}.op", f"expected one of {' '.join(OPS)}, got {op!r}"))
        return Bad()
    if "is" in raw:
        problems.append((f"{base}.is", f"'is' is for qualitative results; {a.name} is {a.kind}"))
        return Bad()
    if a.kind == "ordinal":
        v = raw.get("value")
        if v not in a.scale or "unit" in raw or "uln" in raw:
            problems.append((f"{base}.value", f"{a.name} is graded: value must be one of "
                                              f"{', '.join(a.scale)}"))
            return Bad()
        return Compare(a, op, ordinal=v, within_days=within,
                           default_recency=recency == "default")
    if "uln" in raw:
        if "value" in raw or "unit" in raw:
            problems.append((f"{base}.uln", "give either uln = k or value and unit, not both"))
            return Bad()
        k = number(raw["uln"], f"{base}.uln", problems)
        if k is None:
            return Bad()
        if a.uln_band is None and a.source != "lab":
            problems.append((f"{base}.uln", f"{a.name} has no upper limit of normal"))
            return Bad()
        return Compare(a, op, uln_multiple=k, within_days=within,
                           default_recency=recency == "default")
    if "value" not in raw:
        problems.append((base, "a quantity comparison needs value (and unit) or uln"))
        return Bad()
    value = number(raw["value"], f"{base}.value", problems)
    if value is None:
        return Bad()
    assert a.unit is not None
    unit_text = raw.get("unit")
    if unit_text is None:
        if a.unit.dimensionality != analytes()["ecog"].unit.dimensionality:  # type: ignore[union-attr]
            problems.append((f"{base}.unit", f"a threshold for {a.name} needs a unit "
                                             f"(e.g. {a.unit.text})"))
            return Bad()
        unit_text = a.unit.text
    try:
        threshold = a.to_canonical(value, a.unit_for(str(unit_text)))
    except UnitError as exc:
        problems.append((f"{base}.unit", str(exc)))
        return Bad()
    return Compare(a, op, threshold=threshold, within_days=within,
                       default_recency=recency == "default")


# ---------------------------------------------------------------------------- docs and examples

def _lab(test: str, value: float | str, unit: str | None = None, day: str = "2026-11-12",
         **more: Any) -> dict[str, Any]:
    reading = {"value": value, "unit": unit} if unit else {"result": value}
    return {"labs": [{"test": test, **reading, "date": day, **more}]}


_ANC = '{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L" }'
_BILI = '{ quantity = "bilirubin", op = "<=", uln = 1.5 }'
_DIP = '{ quantity = "urine_protein_dipstick", op = ">=", value = "2+" }'
_HIV = '{ quantity = "hiv_antibody", is = "positive" }'

KINDS = (NodeKind(
    "quantity", build_quantity,
    frozenset({"op", "value", "unit", "uln", "is", "within_days", "recency"}),
    summary="A quantity — a lab result or a measurement of the profile (age, weight, ECOG, life "
            "expectancy, ...), a key of `data/analytes.toml` — against a threshold, a multiple of "
            "the upper limit of normal, a grade, or a qualitative value.",
    syntax="""```toml
{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L" }    # a threshold with its unit
{ quantity = "bilirubin", op = "<=", uln = 1.5 }                 # k × the lab's upper limit of normal
{ quantity = "urine_protein_dipstick", op = ">=", value = "2+" } # a graded scale
{ quantity = "hiv_antibody", is = "positive" }                   # a qualitative result (or a list)
```

`op` is one of `<` `<=` `>` `>=` `==` `!=`. The threshold's unit may be any unit of the analyte's
dimension (checked at load) and is converted once into the canonical unit, exactly: 1500 /µL passes
`>= 1.5 ×10⁹/L`. Scores (ECOG) take no unit. `within_days = N` says how old the result may be;
`recency = "none"` turns the window off.""",
    unknown="Unknown when there is no result; when the newest one is older than `within_days`, "
            "else the trial's `lab_max_age_days` (labs), else the analyte's `max_age_days`, else 28 "
            "days, or undated; when two different results share the newest date; when a censored "
            "value (`<20`) allows both answers; for × ULN without the lab's reference range, unless "
            "every plausible ULN of the analyte (its `uln_band`) gives the same answer; and for an "
            "indeterminate qualitative result. The explanation names what to record.",
    examples=(
        Example(_ANC, "true", _lab("anc", 1500, "/uL"), explains="(reported 1500 /uL, 2026-11-12)",
                note="exactly on the threshold, in another unit"),
        Example(_ANC, "false", _lab("anc", 1200, "/uL")),
        Example(_ANC, "unknown", {}, explains="ANC not recorded"),
        Example(_ANC, "unknown", _lab("anc", 2.0, "10^9/L", "2026-10-01"),
                explains="46 days old"),
        Example(_ANC, "unknown", _lab("anc", 1.0, "10^9/L", comparator=">"),
                explains="censored value"),
        Example('{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L", recency = "none" }',
                "true", _lab("anc", 2.0, "10^9/L", "2020-01-01")),
        Example(_BILI, "true", _lab("bilirubin", 1.8, "mg/dL", reference_range={"high": 1.2}),
                explains="= 1.5 × ULN ≤ 1.5 × ULN"),
        Example(_BILI, "false", _lab("bilirubin", 1.9, "mg/dL", reference_range={"high": 1.2})),
        Example(_BILI, "true", _lab("bilirubin", 0.5, "mg/dL"), explains="every plausible ULN",
                note="no reference range, but below 1.5 × every plausible ULN"),
        Example(_BILI, "unknown", _lab("bilirubin", 1.5, "mg/dL"),
                explains="record the lab's reference range"),
        Example(_DIP, "true", _lab("urine_protein_dipstick", "3+")),
        Example(_DIP, "false", _lab("urine_protein_dipstick", "1+")),
        Example(_HIV, "true", _lab("hiv_antibody", "positive")),
        Example(_HIV, "false", _lab("hiv_antibody", "negative")),
        Example(_HIV, "unknown", _lab("hiv_antibody", "indeterminate")),
        Example('{ quantity = "age", op = ">=", value = 18, unit = "year" }', "true",
                {"birth_date": "2008-11-16"}, note="the 18th birthday on the evaluation date"),
        Example('{ quantity = "ecog", op = "<=", value = 1 }', "false",
                {"ecog": {"value": 2, "date": "2026-11-10"}}),
        Example('{ quantity = "ancc", op = ">=", value = 1.5, unit = "10^9/L" }',
                error="logic.quantity: unknown quantity 'ancc'; did you mean 'anc'?"),
        Example('{ quantity = "anc", op = ">=", value = 1.5, unit = "g/L" }',
                error="logic.unit: unit 'g/L' for anc: is not a unit of absolute neutrophil count "
                      "(expected a unit like 10^9/L)"),
        Example('{ quantity = "anc", op = ">=", value = 1.5 }',
                error="logic.unit: a threshold for absolute neutrophil count needs a unit "
                      "(e.g. 10^9/L)"),
        Example('{ quantity = "anc", op = "=>", value = 1.5, unit = "10^9/L" }',
                error="logic.op: expected one of < <= > >= == !=, got '=>'"),
        Example('{ quantity = "anc", op = ">=" }',
                error="logic: a quantity comparison needs value (and unit) or uln"),
        Example('{ quantity = "alt", op = "<=", uln = 2.5, unit = "U/L" }',
                error="logic.uln: give either uln = k or value and unit, not both"),
        Example('{ quantity = "age", op = "<=", uln = 2.5 }',
                error="logic.uln: age has no upper limit of normal"),
        Example('{ quantity = "hiv_antibody", is = "pos" }',
                error="logic.is: HIV-1/2 antibody is qualitative: give is = one of negative, "
                      "positive, indeterminate"),
        Example('{ quantity = "urine_protein_dipstick", op = ">=", value = "2" }',
                error="logic.value: urine protein (dipstick) is graded: value must be one of "
                      "negative, trace, 1+, 2+, 3+, 4+"),
        Example('{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L", recency = "never" }',
                error="logic.recency: expected 'default' or 'none'"),
        Example('{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L", when = 3 }',
                error="logic.when: unknown key for a 'quantity' node"),
    )),)
