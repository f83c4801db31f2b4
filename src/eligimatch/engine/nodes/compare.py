"""The comparison node: a quantity against a threshold in its canonical unit, against k × its ULN,
or a grade against a grade (built by the ``quantity`` kind, :mod:`.quantity`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from ...facts import Facts
from ...quantities import QuantityFact
from ...units import Analyte, format_number
from ..core import Outcome, Truth, stale, unknown
from .base import (
    NEGATION,
    OPS,
    SYMBOL,
    Aging,
    EvalContext,
    Node,
    censored,
)

if TYPE_CHECKING:
    from ..columns import Chunk, Codes, Columns


# floats closer than this (relative) are compared exactly instead
FLOAT_MARGIN = 1e-9


@dataclass(frozen=True)
class Compare(Aging, Node):
    """``quantity op value`` in the analyte's canonical unit, or ``quantity op k × ULN``."""

    analyte: Analyte
    op: str
    threshold: Fraction | None = None  # canonical unit, exact
    uln_multiple: Decimal | None = None
    ordinal: str | None = None  # for ordinal scales: the threshold grade
    within_days: int | None = None  # recency required of the value
    default_recency: bool = True  # apply the trial's lab_max_age_days

    def __post_init__(self) -> None:
        # the threshold (or ULN multiple) as a float, for the graph runner's fast comparison
        exact = (
            self.uln_multiple
            if self.uln_multiple is not None
            else self.threshold
            if self.ordinal is None
            else None
        )
        try:
            bound = None if exact is None else float(exact)
        except OverflowError:
            bound = None
        object.__setattr__(self, "_bound", bound)

    def symbols(self) -> set[str]:
        return {self.analyte.key}

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
    def shared_columns(cls, nodes: Sequence[Node], chunk: Chunk, ctxs: Sequence[EvalContext]) -> Columns:
        """Comparisons decided together (:func:`..comparisons.compare`), each in its context's
        recency window."""
        from ..comparisons import compare

        return compare(nodes, chunk, ctxs)

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
        return "ordinal" if self.ordinal is not None else "uln" if self.uln_multiple is not None else "value"

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
                return Outcome(
                    None, f"{a.short} has no date (needed within {limit} days)", (f"date of {a.short}",)
                )
            age = (facts.as_of - q.date).days
            return Outcome(
                None,
                lambda: (
                    f"{a.short} from {q.date} is {age} days old; this criterion needs a "
                    f"result within {limit} days"
                ),
                (f"recent {a.short} (within {limit} days)",),
            )
        if self.ordinal is not None:
            if q.result is None:
                return Outcome(
                    None, lambda: f"{a.short} has no graded result (needed: {self._need()})", (a.short,)
                )
        elif q.value is None:
            return Outcome(None, lambda: f"{a.short} {q.shown()} is not numeric", (a.short,))
        elif (
            self.uln_multiple is not None
            and (q.uln is None or q.uln <= 0)
            and (q.uln is not None or q.uln_band is None)
        ):
            return Outcome(
                None,
                lambda: f"{a.short} {q.shown()}: no ULN to compare with (needed: {self._need()})",
                (f"{a.short} reference range",),
            )
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
                ends = [Fraction(self.uln_multiple) * u for u in q.uln_band]
                if self.op in ("==", "!=") and ends[0] != ends[1]:
                    # equal to k × ULN at one plausible ULN, not at the others: the two ends of
                    # the band agreeing says nothing about the ULNs between them
                    if q.comparator is not None or min(ends) <= q.value <= max(ends):
                        return None
                    return self.op == "!="
                low, high = (self._at(q, bound) for bound in ends)
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

    def _decide(self, q: QuantityFact, shown: Callable[[], str], limit_text: Callable[[], str]) -> Outcome:
        """Compare; the texts are functions, called only if the explanation is read."""
        v = self.holds(q)
        if v is None:
            text = (
                f"{self.analyte.short} {shown()} is a censored value that cannot decide "
                f"{SYMBOL[self.op]} {limit_text()}"
            )
            return unknown(text, missing=[f"exact {self.analyte.short}"])
        rel = SYMBOL[self.op] if v else SYMBOL[NEGATION[self.op]]
        return Outcome(v, lambda: f"{self.analyte.short} {shown()} {rel} {limit_text()}")

    def _uln(self, q: QuantityFact) -> Outcome:
        assert q.value is not None and self.uln_multiple is not None
        if q.uln is None:
            return self._uln_band(q)
        value, uln, k = q.value, q.uln, self.uln_multiple
        return self._decide(
            q,
            lambda: f"{q.shown()} = {format_number(value / uln, 3)} × ULN",
            lambda: f"{format_number(k)} × ULN ({q.uln_note})",
        )

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
                f"record the lab's reference range",
                missing=[f"{a.short} reference range"],
            )
        rel = SYMBOL[self.op] if v else SYMBOL[NEGATION[self.op]]
        return Outcome(
            v,
            lambda: (
                f"{a.short} {q.shown()} {rel} {k} × ULN for every plausible "
                f"ULN ({lo} to {hi}; the lab reported no reference range)"
            ),
        )

    def _ordinal(self, q: QuantityFact) -> Outcome:
        v = self.holds(q)
        rel = SYMBOL[self.op] if v else SYMBOL[NEGATION[self.op]]
        return Outcome(v, lambda: f"{self.analyte.short} {q.shown()} {rel} {self.ordinal}")
