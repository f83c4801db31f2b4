"""Three-valued (Kleene) evaluation of compiled criteria.

Each logic node answers True, False or None (unknown) together with an explanation, the facts
that were missing or stale, and the items that need a clinician's review.  ``all`` / ``any`` /
``not`` follow Kleene's strong logic, order-independently: ``any`` is True as soon as one child
is True, whatever the others are, so "creatinine ≤ 1.5 × ULN or CrCl ≥ 50 mL/min" passes on
creatinine alone when CrCl is unknown.

A criterion's logic states its condition as written.  For an inclusion, condition True → pass;
for an exclusion, condition True → fail (the exclusion applies) and False → pass.  Unknown stays
unknown.  The trial verdict: any fail → ineligible; otherwise any unknown → undetermined;
otherwise eligible.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from .dates import Duration
from .drugs import Open
from .errors import UnitError
from .facts import DERIVED_FROM, LAB_MAX_AGE_DAYS, Facts, Item, QuantityFact
from .units import Analyte, UnitSpec, convert, format_number, parse_unit

__all__ = ["ATTESTATION_MAX_AGE_DAYS", "CriterionResult", "Node", "Outcome", "TrialResult",
           "kleene_and", "kleene_not", "kleene_or"]

# How many days a clinician's attestation answers for, unless the trial says otherwise: older
# ones are shown but do not answer (a judgement on "recent tests" does not outlive them).
ATTESTATION_MAX_AGE_DAYS = 28

Truth = bool | None
Status = Literal["pass", "fail", "unknown"]
Verdict = Literal["eligible", "ineligible", "undetermined"]


# ---------------------------------------------------------------------------- Kleene logic

def kleene_not(a: Truth) -> Truth:
    return None if a is None else not a


def kleene_and(values: Sequence[Truth]) -> Truth:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def kleene_or(values: Sequence[Truth]) -> Truth:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


class Outcome:
    """A node's answer: True / False / None (unknown), why, and what is missing or needs review.

    The explanation may be given as a function that builds it: it is called only when ``text``
    is read, so screening many patients does not pay for explanations nobody reads.
    """

    __slots__ = ("_text", "missing", "review", "value")

    def __init__(self, value: Truth, text: str | Callable[[], str],
                 missing: tuple[str, ...] = (), review: tuple[str, ...] = ()) -> None:
        self.value = value
        self._text = text
        self.missing = missing
        self.review = review

    @property
    def text(self) -> str:
        if not isinstance(self._text, str):
            self._text = self._text()
        return self._text

    def __repr__(self) -> str:
        return f"Outcome({self.value!r}, {self.text!r}, {self.missing!r}, {self.review!r})"


def _unknown(text: str, *, missing: Sequence[str] = (), review: Sequence[str] = ()) -> Outcome:
    return Outcome(None, text, tuple(missing), tuple(review))


def _merge(children: Sequence[Outcome], *, data_first: bool = False
           ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Missing facts and review items of the unknown children.

    With ``data_first`` (an ``all``), review items are asked for only when no sibling is still
    waiting for data: a clinician is not asked a question the record may make moot.
    """
    missing: dict[str, None] = {}
    review: dict[str, None] = {}
    for c in children:
        if c.value is None:
            missing.update(dict.fromkeys(c.missing))
            review.update(dict.fromkeys(c.review))
    if data_first and missing:
        review.clear()
    return tuple(missing), tuple(review)


def _join(outs: Sequence[Outcome]) -> str:
    return "; ".join(dict.fromkeys(o.text for o in outs if o.text))


class Node:
    """A compiled logic node."""

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        raise NotImplementedError

    def symbols(self) -> set[str]:
        """Names of the facts this node reads (for 'what to record' listings)."""
        return set()


@dataclass(frozen=True)
class EvalContext:
    trial_id: str
    criterion_id: str
    lab_max_age_days: int | None
    attestation_max_age_days: int = ATTESTATION_MAX_AGE_DAYS


def _fold(children: Sequence[Node], facts: Facts, ctx: EvalContext, decisive: bool,
          *, data_first: bool = False) -> Outcome:
    """Kleene AND (``decisive`` False) or OR (``decisive`` True) of the children.

    Stops at the first child with the decisive value, since the rest cannot change the answer;
    its explanation then lists the children that decided it (evaluated again, only if read).
    Otherwise every part is shown, for context.
    """
    outs = []
    for c in children:
        o = c.evaluate(facts, ctx)
        if o.value is decisive:
            return Outcome(decisive, lambda: _join(
                [x for x in (d.evaluate(facts, ctx) for d in children) if x.value is decisive]))
        outs.append(o)
    if any(o.value is None for o in outs):
        missing, review = _merge(outs, data_first=data_first)
        return Outcome(None, lambda: _join(outs), missing, review)
    return Outcome(not decisive, lambda: _join(outs))


@dataclass(frozen=True)
class All(Node):
    children: tuple[Node, ...]

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        return _fold(self.children, facts, ctx, False, data_first=True)

    def symbols(self) -> set[str]:
        return set().union(*(c.symbols() for c in self.children))


@dataclass(frozen=True)
class Any_(Node):
    children: tuple[Node, ...]

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        return _fold(self.children, facts, ctx, True)

    def symbols(self) -> set[str]:
        return set().union(*(c.symbols() for c in self.children))


@dataclass(frozen=True)
class Not(Node):
    child: Node

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        o = self.child.evaluate(facts, ctx)
        # the child's text already says what is (or is not) there; the status carries polarity
        return Outcome(kleene_not(o.value), lambda: o.text, o.missing, o.review)

    def symbols(self) -> set[str]:
        return self.child.symbols()


# ---------------------------------------------------------------------------- quantities

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}
SYMBOL = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
NEGATION = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def _recency_limit(a: Analyte, within_days: int | None, default_recency: bool,
                   ctx: EvalContext) -> int | None:
    """How many days old a value may be: the node's own ``within_days``; else, unless the node
    opts out with recency = "none", for a lab the trial's ``lab_max_age_days``, then the
    analyte's ``max_age_days``, then :data:`LAB_MAX_AGE_DAYS`; for a profile value (ECOG,
    weight, blood pressure, life expectancy) the analyte's ``max_age_days``.  Values that do
    not age (age from the birth date, counts of metastases) have no limit."""
    if within_days is not None or not default_recency:
        return within_days
    if a.source == "lab":
        return ctx.lab_max_age_days or a.max_age_days or LAB_MAX_AGE_DAYS
    return a.max_age_days


def _censored(op: str, comparator: str, bound: Fraction, threshold: Fraction) -> Truth:
    """Decide ``x op threshold`` for an x known only as ``x comparator bound``."""
    upper = comparator in ("<", "<=")       # x lies below the bound, else above it
    closed = comparator in ("<=", ">=")     # the bound itself is possible

    def holds_everywhere(o: str) -> bool:
        if o in ("<", "<=") and upper:
            return bound < threshold or (bound == threshold and (o == "<=" or not closed))
        if o in (">", ">=") and not upper:
            return bound > threshold or (bound == threshold and (o == ">=" or not closed))
        return False

    if holds_everywhere(op):
        return True
    if op in NEGATION and holds_everywhere(NEGATION[op]):
        return False
    return None


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

    def symbols(self) -> set[str]:
        return {self.analyte.key}

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
        q = self.reading(facts, _recency_limit(self.analyte, self.within_days,
                                               self.default_recency, ctx))
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
        if limit is not None:
            if q.date is None:
                return Outcome(None, f"{a.short} has no date (needed within {limit} days)",
                               (f"date of {a.short}",))
            age = (facts.as_of - q.date).days
            if age > limit:
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
            return _censored(self.op, q.comparator, q.value, bound)
        return bool(OPS[self.op](q.value, bound))

    def _decide(self, q: QuantityFact, shown: Callable[[], str],
                limit_text: Callable[[], str]) -> Outcome:
        """Compare; the texts are functions, called only if the explanation is read."""
        v = self.holds(q)
        if v is None:
            text = (f"{self.analyte.short} {shown()} is a censored value that cannot decide "
                    f"{SYMBOL[self.op]} {limit_text()}")
            return _unknown(text, missing=[f"exact {self.analyte.short}"])
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
            return _unknown(
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

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        a = self.analyte
        q = facts.quantity(a.key)
        want = " or ".join(self.values)
        if q is None:
            what, why = facts.gap(a.key)
            return _unknown(f"{why} (needed: is it {want}?)", missing=[what])
        limit = _recency_limit(a, self.within_days, self.default_recency, ctx)
        if limit is not None and (q.date is None or (facts.as_of - q.date).days > limit):
            age = f"is {(facts.as_of - q.date).days} days old" if q.date else "has no date"
            return _unknown(f"{a.short} {q.result} from {q.date} {age}; this criterion needs a "
                            f"result within {limit} days",
                            missing=[f"recent {a.short} (within {limit} days)"])
        if q.result == "indeterminate" and "indeterminate" not in self.values:
            return _unknown(f"{a.short} indeterminate ({q.date})", missing=[f"{a.short} retest"])
        v = q.result in self.values
        return Outcome(v, lambda: f"{a.short} {q.shown()}")


# ---------------------------------------------------------------------------- scalar facts

@dataclass(frozen=True)
class FactIs(Node):
    """A recorded scalar fact is one of the given values."""

    name: str
    description: str
    values: tuple[Any, ...]

    def symbols(self) -> set[str]:
        return {self.name}

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        v = facts.scalars.get(self.name)
        if v is None:
            return _unknown(f"{self.description} not recorded", missing=[self.description])
        shown = {True: "yes", False: "no"}.get(v, v) if isinstance(v, bool) else v
        return Outcome(v in self.values, lambda: f"{self.description}: {shown}")


@dataclass(frozen=True)
class Constant(Node):
    """``{ expr = "true" }`` / ``{ expr = "false" }``: a fixed answer (e.g. the ``otherwise`` of
    an ``any_recorded`` whose absence of a result should decide nothing)."""

    value: bool

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        return Outcome(self.value, "")


@dataclass(frozen=True)
class Expr(Node):
    """A rule-engine expression over scalar facts and quantities (canonical units).

    Unknown when any symbol it reads is not recorded; rule-engine itself has no unknown.
    """

    source: str
    rule: Any
    names: tuple[str, ...]

    def symbols(self) -> set[str]:
        return set(self.names)

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        values: dict[str, Any] = {}
        missing = []
        for n in self.names:
            if n in facts.scalars:
                v = facts.scalars[n]
            else:
                q = facts.quantity(n)
                v = None if q is None or q.comparator is not None else q.value
                if v is not None:  # rule-engine numbers are Decimals
                    v = Decimal(v.numerator) / Decimal(v.denominator)
            if v is None:
                missing.append(n)
            values[n] = v
        if missing:
            return _unknown(f"`{self.source}` needs {', '.join(missing)}", missing=missing)
        import rule_engine  # already loaded: the rule was compiled with it

        try:
            v = bool(self.rule.matches(values))
        except (rule_engine.EngineError, ArithmeticError) as exc:  # e.g. x / 0, "a".to_flt
            why = f"`{self.source}` cannot be evaluated for these values ({exc})"
            return _unknown(why, review=[why])
        shown = ", ".join(f"{k}={format_number(x) if isinstance(x, Decimal) else x}"
                          for k, x in values.items())
        return Outcome(v, f"`{self.source}` is {'true' if v else 'false'} ({shown})")


# ---------------------------------------------------------------------------- histology

@dataclass(frozen=True)
class Histology(Node):
    """The index diagnosis's OncoTree code against include / exclude / review lists."""

    listed: dict[str, str]   # code → include / exclude / review
    notes: str = ""
    # codes that go to review only when they ARE the patient's code (an organ or family code that
    # does not say the histological type); their descendants are classified by `listed`
    review_exact: frozenset[str] = frozenset()

    def __hash__(self) -> int:   # equal lists, equal hash (`listed` is a dict)
        return hash((tuple(sorted(self.listed.items())), self.notes, self.review_exact))

    def symbols(self) -> set[str]:
        return {"histology"}

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        from .ontology import oncotree

        code = facts.histology
        if code is None:
            return _unknown("histology (OncoTree code) not recorded",
                            missing=["histology (OncoTree code)"])
        tree = oncotree()
        if code not in tree:
            gap = f"histology code {code!r} is not an OncoTree code"
            return _unknown(gap, missing=["a recognised OncoTree histology code"])
        def name() -> str:
            return f"{tree.name(code)} ({code})"

        if code in self.review_exact:
            reason = f"whether histology {name()} counts for this criterion"
            return _unknown(f"histology {name()} does not say the histological type: needs "
                            f"clinician review", review=[reason])
        verdict, via = tree.classify(code, self.listed)  # type: ignore[arg-type]
        if verdict is None:
            return Outcome(False, lambda: f"histology {name()} is not among the listed types")

        def subject() -> str:
            return (f"histology {name()} is" if via == code else
                    f"histology {name()} is under {tree.name(via or '')} ({via}), which is")

        if verdict == "review":
            reason = f"whether histology {name()} counts for this criterion"
            return _unknown(f"{subject()} listed for review: needs clinician review",
                            review=[reason])
        if verdict == "include":
            return Outcome(True, lambda: f"{subject()} listed")
        return Outcome(False, lambda: f"{subject()} listed as an exception")


# ---------------------------------------------------------------------------- collections

@dataclass(frozen=True)
class Match:
    """One field test inside ``where``: equality, membership, negation or a comparison."""

    name: str
    kind: Literal["in", "not_in", "compare"]
    values: tuple[Any, ...] = ()
    op: str = ""
    number: Decimal | None = None
    casefold: bool = False   # free-text fields compare case-insensitively

    def test(self, value: Any) -> Truth:
        if value is None:
            return None
        if isinstance(value, Open):  # partly known: a hit decides, no hit only if impossible
            hit = any((v.lower() if self.casefold else v) in self.values for v in value)
            if hit:
                return self.kind == "in"
            return None if value.may_have(self.values) else self.kind != "in"
        if self.casefold:
            value = [v.lower() for v in value] if isinstance(value, list) else str(value).lower()
        if self.kind == "compare":
            try:
                return bool(OPS[self.op](Decimal(value), self.number))
            except (TypeError, ArithmeticError):
                return None
        hit = (any(v in self.values for v in value) if isinstance(value, list)
               else value in self.values)
        return hit if self.kind == "in" else not hit

    def describe(self) -> str:
        if self.kind == "compare":
            return f"{self.name} {SYMBOL[self.op]} {format_number(self.number or Decimal(0))}"
        vals = "/".join(str(v).lower() if isinstance(v, bool) else str(v) for v in self.values)
        return f"{self.name} {'not ' if self.kind == 'not_in' else ''}{vals}"


@dataclass(frozen=True)
class Exists(Node):
    """Some item of a collection matches ``where`` (and falls in the window, if any).

    Kleene: True if an item surely matches; False if the collection is recorded and every item
    surely does not; otherwise unknown (not recorded, a field or a date missing).
    """

    collection: str
    where: tuple[Match | FieldTest, ...]
    window: Duration | None
    description: str
    current: bool = False    # only items still going on at as_of

    def symbols(self) -> set[str]:
        return {self.collection}

    def _in_window(self, item: Item, facts: Facts, start_of_window: date | None = None) -> Truth:
        """Does the item's period reach into the window (as_of − window, as_of]?"""
        if self.current:
            if item.end is not None:
                return item.end >= facts.as_of
            return item.ongoing
        if self.window is None:
            return True
        if start_of_window is None:
            start_of_window = self.window.before(facts.as_of)
        end = item.end
        if end is None and item.ongoing:
            return True
        if end is not None:
            return end > start_of_window
        if item.start is not None and item.start > start_of_window:
            return True
        return None

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        items = facts.collections.get(self.collection)
        what = self.description

        def span() -> str:
            return (f" within {self.window.describe()} before {facts.as_of}" if self.window
                    else f" current on {facts.as_of}" if self.current else "")

        if items is None:
            noun = self.collection.replace("_", " ")
            return _unknown(f"{noun} not recorded (needed: {what}{span()})", missing=[noun])
        hits, unsure = [], []
        start_of_window = self.window.before(facts.as_of) if self.window else None
        for item in items:
            v = self._match(item, facts, start_of_window)
            if v is True:
                hits.append(item)
            elif v is None:
                unsure.append(item)
        # items are listed in a fixed order, whatever the order of the patient's list
        if hits:
            return Outcome(True, lambda: f"{what}{span()}: " + ", ".join(sorted(dict.fromkeys(
                _show_item(i) + _match_details(self.where, i, facts) for i in hits))))
        if unsure:
            gaps = sorted(dict.fromkeys(
                f"{_show_item(i)}: {self._unknown_fields(i, facts)}" for i in unsure))
            # a gap is a field to record, or a question ("whether ...") to answer
            text = "; ".join(g if ": whether " in g else f"{g} not recorded" for g in gaps)
            return _unknown(f"{what}{span()}: cannot tell, {text}", missing=gaps)
        return Outcome(False, lambda: f"no {what}{span()} ({len(items)} recorded)")

    def _match(self, item: Item, facts: Facts, start_of_window: date | None) -> Truth:
        """Kleene AND of the item's field tests and its window, stopping at the first False."""
        value: Truth = True
        for m in self.where:
            v = m.test(item.fields.get(m.name)) if type(m) is Match else _match_value(m, item, facts)
            if v is False:
                return False
            if v is None:
                value = None
        w = self._in_window(item, facts, start_of_window)
        return False if w is False else None if w is None else value

    def _unknown_fields(self, item: Item, facts: Facts) -> str:
        names = list(dict.fromkeys(g for m in self.where for g in _match_gaps(m, item, facts)))
        if (self.window is not None or self.current) and self._in_window(item, facts) is None:
            names.append("end date (or ongoing)" if item.start else "dates")
        return ", ".join(names)


def _show_item(item: Item) -> str:
    if item.start and item.end and item.start != item.end:
        when = f"{item.start} to {item.end}"
    elif item.start:
        when = str(item.start) + (" onwards" if item.ongoing else "")
    elif item.end:
        when = f"until {item.end}"
    else:
        when = "date not recorded"
    return f"{item.label} ({when})"


# ---------------------------------------------------------------------------- review

@dataclass(frozen=True)
class Review(Node):
    """A judgement only a clinician can make; unknown unless an attestation answers it.

    An answer counts for ``within_days`` days, else the trial's ``attestation_max_age_days``,
    else :data:`ATTESTATION_MAX_AGE_DAYS`; an older one is shown but does not answer."""

    reason: str
    within_days: int | None = None

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        att = facts.attestations.get((ctx.trial_id, ctx.criterion_id))
        if att is None:
            return _unknown(f"needs clinician review: {self.reason}", review=[self.reason])
        age = (facts.as_of - att.date).days
        limit = ctx.attestation_max_age_days if self.within_days is None else self.within_days
        if age > limit:
            return _unknown(f"needs clinician review: {self.reason} (the attestation by {att.by} "
                            f"on {att.date}, '{att.answer}', is {age} days old; answers older "
                            f"than {limit} days do not count)", review=[self.reason])
        v = att.answer == "yes"
        note = f": {att.note}" if att.note else ""
        return Outcome(v, f"clinician attestation by {att.by} on {att.date}: "
                          f"'{att.answer}' to {self.reason}{note}")


# ---------------------------------------------------------------------------- results

@dataclass(slots=True)
class CriterionResult:
    id: str
    kind: Literal["inclusion", "exclusion"]
    status: Status
    text: str
    explanation: str
    missing: tuple[str, ...] = ()
    review: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrialResult:
    trial_id: str
    title: str
    verdict: Verdict
    criteria: tuple[CriterionResult, ...]
    reason: str
    missing: tuple[str, ...] = field(default=())
    review: tuple[str, ...] = field(default=())


def status_of(kind: str, value: Truth) -> Status:
    if value is None:
        return "unknown"
    holds = value if kind == "inclusion" else not value
    return "pass" if holds else "fail"


# ============================================================================ vocabulary additions
# Additions for issue 3 (documented in docs/rule-vocabulary.md, tested in
# tests/test_engine_additions.py): item-aware `where` tests (a Quantity field with a unit, a date
# field relative to the item's own period or the evaluation date, OncoTree ancestry, `any` of
# alternative field tables) and the `recorded` / `any_recorded` nodes.

def _match_value(m: Match | FieldTest, item: Item, facts: Facts) -> Truth:
    """Test one `where` entry against an item."""
    if isinstance(m, FieldTest):
        return m.test_item(item, facts)
    return m.test(item.fields.get(m.name))


def _match_gaps(m: Match | FieldTest, item: Item, facts: Facts) -> list[str]:
    """What would have to be recorded for ``m`` to decide on ``item``."""
    if isinstance(m, FieldTest):
        return m.gaps(item, facts) if m.test_item(item, facts) is None else []
    value = item.fields.get(m.name)
    if value is not None and not (isinstance(value, Open) and m.test(value) is None):
        return []
    # a drug item the catalogue could not read says which words it could not
    unread = next((v.unread for v in item.fields.values() if isinstance(v, Open) and v.unread), ())
    if unread:
        shown = ", ".join(repr(u) for u in unread)
        what = "its classes" if m.name in ("classes", "anticancer") else f"its {m.name}"
        return [f"{m.name} (the drug catalogue cannot read {shown}: classify it or record {what})"]
    if isinstance(value, Open) and value.possible is not None:  # a category the type may have
        from .wording import display

        asked = " or ".join(display(v) for v in m.values)
        return [f"whether its {m.name} includes {asked} (it is {', '.join(value) or 'none'})"]
    sources = [f for f in DERIVED_FROM.get(m.name, ()) if f in item.fields
               and item.fields[f] is None]
    if value is None and sources:  # a derived field: what it is computed from
        return [f"{m.name} ({' or '.join(sources)})"]
    return [m.name]


def _match_details(where: Sequence[Match | FieldTest], item: Item, facts: Facts) -> str:
    """The values an item-aware test looked at, shown after a matching item."""
    parts = [d for m in where if isinstance(m, FieldTest) and (d := m.detail(item, facts))]
    return f" [{'; '.join(parts)}]" if parts else ""


class FieldTest:
    """A `where` entry that needs the whole item (or the evaluation date), not one value."""

    name: str

    def test_item(self, item: Item, facts: Facts) -> Truth:
        raise NotImplementedError

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        return [self.name]

    def describe(self) -> str:
        raise NotImplementedError

    def detail(self, item: Item, facts: Facts) -> str:
        return ""


@dataclass(frozen=True)
class QuantityFieldTest(FieldTest):
    """``field = {op, value, unit}``: a Quantity field of the item against a threshold.

    The item's value is converted into the threshold's unit with :func:`units.convert` (exact);
    a censored value (``comparator``) decides only when every value it allows does; a unit that
    cannot be read or has another dimension leaves the item unknown.
    """

    name: str
    op: str
    value: Decimal
    unit: UnitSpec

    def _converted(self, raw: Any) -> Fraction | None:
        try:
            return convert(raw["value"], parse_unit(str(raw["unit"])), self.unit)
        except UnitError:
            return None

    def test_item(self, item: Item, facts: Facts) -> Truth:
        raw = item.fields.get(self.name)
        if raw is None:
            return None
        v = self._converted(raw)
        if v is None:
            return None
        limit = Fraction(self.value)
        if raw.get("comparator"):
            return _censored(self.op, raw["comparator"], v, limit)
        return bool(OPS[self.op](v, limit))

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        raw = item.fields.get(self.name)
        if raw is None:
            return [self.name]
        if self._converted(raw) is None:
            return [f"{self.name} in a unit like {self.unit.text} (the unit {raw['unit']!r} "
                    f"cannot be read as one)"]
        return [f"exact {self.name} (a censored {raw['comparator']}"
                f"{format_number(raw['value'])} {raw['unit']} cannot decide)"]

    def describe(self) -> str:
        return f"{self.name} {SYMBOL[self.op]} {format_number(self.value)} {self.unit.text}"

    def detail(self, item: Item, facts: Facts) -> str:
        raw = item.fields.get(self.name)
        if raw is None:
            return ""
        shown = f"{raw.get('comparator') or ''}{format_number(raw['value'], 6)} {raw['unit']}"
        v = self._converted(raw)
        if v is not None and parse_unit(str(raw["unit"])).key != self.unit.key:
            shown += f" = {format_number(v, 6)} {self.unit.text}"
        return f"{self.name} {shown}"


DateRef = Literal["start", "end", "as_of"]
_REF_TEXT = {"start": "start", "end": "end", "as_of": "the evaluation date"}


@dataclass(frozen=True)
class DateFieldTest(FieldTest):
    """``field = {op, ref, plus | minus}``: a date field against a date of the item's own period
    (``start``, ``end``) or the evaluation date (``as_of``), shifted by a calendar duration.

    An item still going on (no end, ``ongoing`` true) has an open end, later than any date.
    """

    name: str
    op: str
    ref: DateRef
    offset: Duration | None = None
    sign: int = 1     # +1: plus, -1: minus

    def _reference(self, item: Item, facts: Facts) -> date | Literal["open"] | None:
        if self.ref == "as_of":
            base: date | None = facts.as_of
        elif self.ref == "start":
            base = item.start
        else:
            if item.end is None and item.ongoing:
                return "open"
            base = item.end
        if base is None or self.offset is None:
            return base
        return self.offset.after(base) if self.sign > 0 else self.offset.before(base)

    def test_item(self, item: Item, facts: Facts) -> Truth:
        d = item.fields.get(self.name)
        ref = self._reference(item, facts)
        if not isinstance(d, date) or ref is None:
            return None
        if ref == "open":
            return self.op in ("<", "<=", "!=")
        return bool(OPS[self.op](d, ref))

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        out = [] if isinstance(item.fields.get(self.name), date) else [self.name]
        if self._reference(item, facts) is None:
            out.append("start date" if self.ref == "start" else "end date (or ongoing)")
        return out

    def describe(self) -> str:
        shift = ""
        if self.offset is not None:
            shift = f" {'+' if self.sign > 0 else '−'} {self.offset.describe()}"
        return f"{self.name} {SYMBOL[self.op]} {_REF_TEXT[self.ref]}{shift}"

    def detail(self, item: Item, facts: Facts) -> str:
        d = item.fields.get(self.name)
        if self.ref == "as_of":
            return f"{self.name} {d}"
        base = item.start if self.ref == "start" else item.end
        shown = "ongoing" if base is None and item.ongoing else str(base)
        return f"{self.name} {d}, {self.ref} {shown}"


@dataclass(frozen=True)
class OncoTreeFieldTest(FieldTest):
    """``field = {under = [codes]}`` / ``{not_under = [codes]}``: an OncoTree code field is (not)
    one of the codes or below one of them; a code OncoTree does not know leaves the item unknown."""

    name: str
    codes: tuple[str, ...]
    negate: bool = False

    def test_item(self, item: Item, facts: Facts) -> Truth:
        from .ontology import oncotree

        code = item.fields.get(self.name)
        tree = oncotree()
        if code is None or code not in tree:
            return None
        hit = any(tree.is_a(code, c) for c in self.codes)
        return not hit if self.negate else hit

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        code = item.fields.get(self.name)
        if code is None:
            return [f"{self.name} (OncoTree code)"]
        return [f"{self.name} as an OncoTree code ({code!r} is not one)"]

    def describe(self) -> str:
        return f"{self.name} {'not ' if self.negate else ''}under {'/'.join(self.codes)}"

    def detail(self, item: Item, facts: Facts) -> str:
        return f"{self.name} {item.fields.get(self.name)}"


@dataclass(frozen=True)
class AnyOfFieldTest(FieldTest):
    """``any = [{...}, {...}]`` inside ``where``: the item matches at least one of the tables
    (each table: all of its field tests).  Kleene OR of Kleene ANDs."""

    alternatives: tuple[tuple[Match | FieldTest, ...], ...]
    name: str = "any"

    def _values(self, item: Item, facts: Facts) -> list[Truth]:
        return [kleene_and([_match_value(m, item, facts) for m in alt])
                for alt in self.alternatives]

    def test_item(self, item: Item, facts: Facts) -> Truth:
        return kleene_or(self._values(item, facts))

    def gaps(self, item: Item, facts: Facts) -> list[str]:
        out: list[str] = []
        for alt, v in zip(self.alternatives, self._values(item, facts), strict=True):
            if v is None:
                out.extend(g for m in alt for g in _match_gaps(m, item, facts))
        return list(dict.fromkeys(out))

    def describe(self) -> str:
        from .wording import phrase

        parts = [" and ".join(phrase(m) for m in alt) for alt in self.alternatives]
        shown = [f"({p})" if len(alt) > 1 else p for p, alt in zip(parts, self.alternatives,
                                                                  strict=True)]
        return "either " + " or ".join(shown) if len(shown) > 1 else shown[0]

    def detail(self, item: Item, facts: Facts) -> str:
        for alt, v in zip(self.alternatives, self._values(item, facts), strict=True):
            if v is True:
                return _match_details(alt, item, facts).strip(" []")
        return ""


@dataclass(frozen=True)
class Recorded(Node):
    """``{recorded = "anc"}``: a result of the quantity is recorded (and recent enough).

    True when it is; unknown otherwise (never False: a result can still be obtained).  The window
    is ``within_days``, else the trial's ``lab_max_age_days`` for labs, unless recency = "none".
    """

    analyte: Analyte
    within_days: int | None = None
    default_recency: bool = True

    def symbols(self) -> set[str]:
        return {self.analyte.key}

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        a = self.analyte
        q = facts.quantity(a.key)
        limit = _recency_limit(a, self.within_days, self.default_recency, ctx)
        span = f" within {limit} days" if limit is not None else ""
        if q is None:
            what, why = facts.gap(a.key)
            return _unknown(f"{why} (needed: {a.short}{span})",
                            missing=[f"{what}{span}"])
        if limit is not None:
            if q.date is None:
                return _unknown(f"{a.short} has no date (needed{span})",
                                missing=[f"date of {a.short}"])
            age = (facts.as_of - q.date).days
            if age > limit:
                return _unknown(f"{a.short} from {q.date} is {age} days old; a result{span} "
                                f"is needed", missing=[f"recent {a.short}{span}"])
        return Outcome(True, f"{a.short} {q.shown()} recorded{span}")


@dataclass(frozen=True)
class AnyRecorded(Node):
    """``{any_recorded = [comparisons], otherwise = node}``: one measurement reported in units
    that cannot be converted into each other (HBV DNA in IU/mL or in copies/mL).

    The comparisons whose quantity has no result at all are set aside; the others combine by
    Kleene OR.  When none has a result: ``otherwise`` decides, or the node is unknown.
    """

    children: tuple[Compare | Qualitative, ...]
    otherwise: Node | None = None

    def symbols(self) -> set[str]:
        out = {c.analyte.key for c in self.children}
        return out | (self.otherwise.symbols() if self.otherwise is not None else set())

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        present = [c for c in self.children if c.analyte.key in facts.quantities
                   or c.analyte.key in facts.quantity_gaps]
        if not present:
            names = " or ".join(dict.fromkeys(
                f"{c.analyte.short} in {c.analyte.display_unit}" if c.analyte.display_unit
                else c.analyte.short for c in self.children))
            if self.otherwise is None:
                return _unknown(f"no {names} recorded", missing=[names])
            o = self.otherwise.evaluate(facts, ctx)
            return Outcome(o.value, f"no {names} recorded; {o.text}", o.missing, o.review)
        outs = [c.evaluate(facts, ctx) for c in present]
        value = kleene_or([o.value for o in outs])
        shown = [o for o in outs if o.value is value] if value is not False else outs
        missing, review = _merge(outs) if value is None else ((), ())
        return Outcome(value, "; ".join(o.text for o in shown), missing, review)


@dataclass(frozen=True)
class Evidence(Node):
    """``{evidence = "hiv"}``: the patient has the condition, judged from every kind of evidence
    (problem list, lab results, medications; see ``data/evidence.toml`` and
    :func:`eligimatch.evidence.assess`).  Negative tests must lie within the trial's lab window.
    ``rule_out = "test"``: only a recent negative test rules the condition out."""

    concept: Any      # eligimatch.evidence.Concept
    rule_out: str = "record"

    def symbols(self) -> set[str]:
        return {"conditions", "medications", *self.concept.tests()}

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        from .evidence import assess

        limit = ctx.lab_max_age_days or LAB_MAX_AGE_DAYS
        f = assess(self.concept, facts, limit, rule_out=self.rule_out)
        return Outcome(f.value, f.text, f.missing, f.review)
