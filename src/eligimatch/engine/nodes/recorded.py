"""``recorded`` and ``any_recorded``: is a result there, and one measurement in unconvertible units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...facts import Facts
from ...units import Analyte, analytes
from ...vocabulary import suggest
from ..core import Outcome, Truth, kleene_or, merge_gaps, stale, unknown
from .base import Aging, Bad, EvalContext, Example, Node, NodeKind, Problems, recency
from .quantity import Compare, Qualitative

if TYPE_CHECKING:
    from ..columns import Chunk, Codes


@dataclass(frozen=True)
class Recorded(Aging, Node):
    """``{recorded = "anc"}``: a result of the quantity is recorded (and recent enough).

    True when it is; unknown otherwise (never False: a result can still be obtained).  The window
    is ``within_days``, else the trial's ``lab_max_age_days`` for labs, unless recency = "none".
    """

    analyte: Analyte
    within_days: int | None = None
    default_recency: bool = True

    def symbols(self) -> set[str]:
        return {self.analyte.key}

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        q = facts.quantity(self.analyte.key)
        return None if q is None or stale(q.date, facts.as_of, self.limit(ctx)) else True

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        from ..columnar import recorded

        return recorded(chunk, self.analyte.key, self.limit(ctx))

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        a = self.analyte
        q = facts.quantity(a.key)
        limit = self.limit(ctx)
        span = f" within {limit} days" if limit is not None else ""
        if q is None:
            what, why = facts.gap(a.key)
            return unknown(f"{why} (needed: {a.short}{span})", missing=[f"{what}{span}"])
        if stale(q.date, facts.as_of, limit):
            if q.date is None:
                return unknown(f"{a.short} has no date (needed{span})", missing=[f"date of {a.short}"])
            age = (facts.as_of - q.date).days
            return unknown(
                f"{a.short} from {q.date} is {age} days old; a result{span} is needed",
                missing=[f"recent {a.short}{span}"],
            )
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

    def _present(self, facts: Facts) -> list[Compare | Qualitative]:
        """The comparisons whose quantity has a result, or a reason it has none."""
        return [
            c
            for c in self.children
            if c.analyte.key in facts.quantities or c.analyte.key in facts.quantity_gaps
        ]

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        present = self._present(facts)
        if not present:
            return None if self.otherwise is None else self.otherwise.status(facts, ctx)
        return kleene_or([c.status(facts, ctx) for c in present])

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        from ..columnar import any_recorded

        return any_recorded(self, chunk, ctx)

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        present = self._present(facts)
        if not present:
            names = " or ".join(
                dict.fromkeys(
                    f"{c.analyte.short} in {c.analyte.display_unit}"
                    if c.analyte.display_unit
                    else c.analyte.short
                    for c in self.children
                )
            )
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


# ---------------------------------------------------------------------------- docs and examples


def _lab(test: str, value: float, unit: str, day: str = "2026-11-12", **more: Any) -> dict[str, Any]:
    return {"test": test, "value": value, "unit": unit, "date": day, **more}


_HBV = (
    '{ any_recorded = [ { quantity = "hbv_dna_iu", op = ">", value = 2000, unit = "IU/mL" }, '
    '{ quantity = "hbv_dna_copies", op = ">", value = 10000, unit = "copies/mL" } ]'
)
_CARRIER = {"category": "infection", "type": "hepatitis_b", "status": "controlled"}

KINDS = (
    NodeKind(
        "recorded",
        build_recorded,
        frozenset({"within_days", "recency"}),
        summary="A result of the quantity is recorded, and recent enough. For a record that "
        "requires a test without giving its threshold (a criterion cut off in the "
        "registry), next to a `review` that judges the values.",
        syntax='`{ recorded = "anc" }`, optionally `within_days = N` (else the trial\'s '
        '`lab_max_age_days` for labs, else the analyte\'s window) or `recency = "none"`.',
        unknown="True or unknown, never false: a result not recorded can still be obtained. "
        "Unknown when not recorded, older than the window, undated where a window "
        "applies, or two different results on its newest date.",
        examples=(
            Example(
                '{ recorded = "anc" }',
                "true",
                {"labs": [_lab("anc", 0.1, "10^9/L")]},
                explains="recorded within 28 days",
                note="a value that fails every threshold is still recorded",
            ),
            Example('{ recorded = "anc" }', "unknown", {}, explains="ANC not recorded"),
            Example(
                '{ recorded = "anc" }',
                "unknown",
                {"labs": [_lab("anc", 3, "10^9/L", "2026-10-01")]},
                explains="46 days old",
            ),
            Example(
                '{ recorded = "anc", within_days = 60 }',
                "true",
                {"labs": [_lab("anc", 3, "10^9/L", "2026-10-01")]},
            ),
            Example('{ recorded = "ecog" }', "unknown", {"ecog": {"value": 1}}, explains="ECOG has no date"),
            Example('{ recorded = "ecog", recency = "none" }', "true", {"ecog": {"value": 1}}),
            Example(
                '{ recorded = "ancc" }', error="logic.recorded: unknown quantity 'ancc'; did you mean 'anc'?"
            ),
            Example(
                '{ recorded = "anc", within_days = -1 }',
                error="logic.within_days: expected a whole number of days",
            ),
            Example(
                '{ recorded = "anc", recency = "never" }', error="logic.recency: expected 'default' or 'none'"
            ),
            Example('{ recorded = "anc", op = ">" }', error="logic.op: unknown key for a 'recorded' node"),
        ),
    ),
    NodeKind(
        "any_recorded",
        build_any_recorded,
        frozenset({"otherwise"}),
        summary="One measurement that laboratories report in units that cannot be converted into "
        "each other, such as HBV DNA in IU/mL or in copies/mL (`hbv_dna_iu`, "
        "`hbv_dna_copies`: separate analytes of separate dimensions). Each result is "
        "compared with the threshold in its own unit, never the other's.",
        syntax="""`{ any_recorded = [ quantity comparisons ], otherwise = node }`: the comparisons
whose analyte has a result (or conflicting results) are combined by Kleene OR; the others are set
aside. `otherwise` (any logic node, optional) decides when none has a result; a `review` inside it
marks the criterion as needing review. Caution: an `otherwise` that can come out true or false
makes the answer rest on the *absence* of a result; prefer none (unknown) or a `review`, and put
the condition that makes the measurement necessary outside, in an `all`.""",
        unknown="A stale result counts as a result and makes its comparison unknown; it does not "
        "fall back on `otherwise`. Without any result and without `otherwise`: unknown, "
        "asking for either measurement.",
        examples=(
            Example(f"{_HBV} }}", "true", {"labs": [_lab("hbv_dna_copies", 25000, "copies/mL")]}),
            Example(
                f"{_HBV} }}",
                "false",
                {"labs": [_lab("hbv_dna_copies", 8000, "copies/mL")]},
                note="copies are compared with the copies threshold only",
            ),
            Example(
                f"{_HBV} }}", "unknown", {}, explains="no HBV DNA in IU/mL or HBV DNA in copies/mL recorded"
            ),
            Example(
                f"{_HBV} }}",
                "unknown",
                {"labs": [_lab("hbv_dna_iu", 20, "IU/mL", "2026-08-01", comparator="<")]},
                explains="107 days old",
            ),
            Example(f'{_HBV}, otherwise = {{ evidence = "hepatitis_b" }} }}', "false", {"conditions": []}),
            Example(
                f'{_HBV}, otherwise = {{ evidence = "hepatitis_b" }} }}',
                "true",
                {"conditions": [_CARRIER]},
                explains="hepatitis B on the problem list",
            ),
            Example(
                '{ any_recorded = [ { fact = "pregnant", is = true } ] }',
                error="logic.any_recorded[0]: any_recorded takes quantity comparisons only",
            ),
            Example(
                "{ any_recorded = [] }", error="logic.any_recorded: expected a non-empty list of logic nodes"
            ),
            Example(
                '{ any_recorded = [ { quantity = "hbv_dna_copies", op = ">", value = 2000, '
                'unit = "IU/mL" } ] }',
                error="logic.any_recorded[0].unit: unit 'IU/mL' for hbv_dna_copies: is not a "
                "unit of HBV DNA (copies) (expected a unit like copies/mL)",
            ),
            Example(
                '{ any_recorded = [ { quantity = "hbv_dna_iu", op = ">", value = 2000, '
                'unit = "IU/mL" } ], otherwise = { fact = "pregnantt", is = true } }',
                error="logic.otherwise.fact: unknown fact 'pregnantt'; did you mean 'pregnant'?",
            ),
        ),
    ),
)
