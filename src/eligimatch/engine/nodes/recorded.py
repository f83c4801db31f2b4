"""``recorded`` and ``any_recorded``: is a result there, and one measurement in unconvertible units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...facts import Facts
from ...units import Analyte, analytes
from ...vocabulary import suggest
from ..core import Outcome, kleene_or, merge_gaps, recency_limit, stale, unknown
from .base import Bad, EvalContext, Node, NodeKind, Problems, recency
from .quantity import Compare, Qualitative


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

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        return (self, recency_limit(self.analyte, self.within_days, self.default_recency,
                                    ctx.lab_max_age_days))

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        a = self.analyte
        q = facts.quantity(a.key)
        limit = recency_limit(a, self.within_days, self.default_recency,
                              ctx.lab_max_age_days)
        span = f" within {limit} days" if limit is not None else ""
        if q is None:
            what, why = facts.gap(a.key)
            return unknown(f"{why} (needed: {a.short}{span})",
                            missing=[f"{what}{span}"])
        if stale(q.date, facts.as_of, limit):
            if q.date is None:
                return unknown(f"{a.short} has no date (needed{span})",
                               missing=[f"date of {a.short}"])
            age = (facts.as_of - q.date).days
            return unknown(f"{a.short} from {q.date} is {age} days old; a result{span} "
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

    def subnodes(self) -> tuple[Node, ...]:
        return (*self.children, *(() if self.otherwise is None else (self.otherwise,)))

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        otherwise = None if self.otherwise is None else self.otherwise.share_key(ctx, attested)
        return (type(self), tuple(c.share_key(ctx, attested) for c in self.children), otherwise)

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        present = [c for c in self.children if c.analyte.key in facts.quantities
                   or c.analyte.key in facts.quantity_gaps]
        if not present:
            names = " or ".join(dict.fromkeys(
                f"{c.analyte.short} in {c.analyte.display_unit}" if c.analyte.display_unit
                else c.analyte.short for c in self.children))
            if self.otherwise is None:
                return unknown(f"no {names} recorded", missing=[names])
            o = self.otherwise.evaluate(facts, ctx)
            return Outcome(o.value, f"no {names} recorded; {o.text}", o.missing, o.review)
        outs = [c.evaluate(facts, ctx) for c in present]
        value = kleene_or([o.value for o in outs])
        shown = [o for o in outs if o.value is value] if value is not False else outs
        missing, review = merge_gaps(outs) if value is None else ((), ())
        return Outcome(value, "; ".join(o.text for o in shown), missing, review)



def build_recorded(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    key = raw["recorded"]
    catalogue = analytes()
    if not isinstance(key, str) or key not in catalogue:
        problems.append((where, f"unknown quantity {key!r}{suggest(str(key), catalogue)}"))
        return Bad()
    window = recency(raw, where.rsplit(".", 1)[0], problems)
    if window is None:
        return Bad()
    return Recorded(catalogue[key], *window)


def build_any_recorded(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    children = problems.children(raw["any_recorded"], where)
    if not children or any(isinstance(c, Bad) for c in children):
        return Bad()
    comparisons: list[Compare | Qualitative] = []
    for i, c in enumerate(children):
        if not isinstance(c, Compare | Qualitative):
            problems.append((f"{where}[{i}]", "any_recorded takes quantity comparisons only"))
            return Bad()
        comparisons.append(c)
    otherwise = None
    if "otherwise" in raw:
        otherwise = problems.node(raw["otherwise"], f"{where.rsplit('.', 1)[0]}.otherwise")
    return AnyRecorded(tuple(comparisons), otherwise)


KINDS = (
    NodeKind("recorded", build_recorded, frozenset({"within_days", "recency"})),
    NodeKind("any_recorded", build_any_recorded, frozenset({"otherwise"})),
)
