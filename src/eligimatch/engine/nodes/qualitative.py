"""The qualitative-result node: a result is one of the given values (built by the ``quantity``
kind, :mod:`.quantity`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...facts import Facts
from ...units import Analyte
from ..core import Outcome, Truth, stale, unknown
from .base import (
    Aging,
    EvalContext,
    Node,
)

if TYPE_CHECKING:
    from ..columns import Chunk, Codes


@dataclass(frozen=True)
class Qualitative(Aging, Node):
    """A qualitative result equals one of the given values (e.g. HIV antibody positive)."""

    analyte: Analyte
    values: tuple[str, ...]
    within_days: int | None = None
    default_recency: bool = True

    def symbols(self) -> set[str]:
        return {self.analyte.key}

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        q = facts.quantity(self.analyte.key)
        if q is None or stale(q.date, facts.as_of, self.limit(ctx)):
            return None
        if q.result == "indeterminate" and "indeterminate" not in self.values:
            return None
        return q.result in self.values

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        from ..columnar import qualitative

        return qualitative(self, chunk, self.limit(ctx))

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        a = self.analyte
        q = facts.quantity(a.key)
        want = " or ".join(self.values)
        if q is None:
            what, why = facts.gap(a.key)
            return unknown(f"{why} (needed: is it {want}?)", missing=[what])
        limit = self.limit(ctx)
        if stale(q.date, facts.as_of, limit):
            age = f"is {(facts.as_of - q.date).days} days old" if q.date else "has no date"
            return unknown(
                f"{a.short} {q.result} from {q.date} {age}; this criterion needs a "
                f"result within {limit} days",
                missing=[f"recent {a.short} (within {limit} days)"],
            )
        if q.result == "indeterminate" and "indeterminate" not in self.values:
            return unknown(f"{a.short} indeterminate ({q.date})", missing=[f"{a.short} retest"])
        v = q.result in self.values
        return Outcome(v, lambda: f"{a.short} {q.shown()}")
