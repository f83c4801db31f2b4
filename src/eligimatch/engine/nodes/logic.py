"""Logic: ``all``, ``any``, ``not`` — Kleene's strong logic, order-independent.

The value of each comes from :func:`..core.junction` / :func:`..core.negation`, in the explaining
runner (``evaluate``) and in the graph runner (``combine``) alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ...facts import Facts
from ..core import Outcome, Truth, join_texts, junction, merge_gaps, negation
from .base import EvalContext, Example, Node, NodeKind, Problems

__all__ = ["KINDS", "All", "Any_", "Not"]


def _fold(
    children: tuple[Node, ...], facts: Facts, ctx: EvalContext, any_: bool, *, data_first: bool = False
) -> Outcome:
    """Kleene OR (``any_``) or AND of the children, explained.

    Stops at the first child with the deciding value, since the rest cannot change the answer;
    the explanation then lists the children that decided it (evaluated again, only if read).
    Otherwise every part is shown, for context.
    """
    outs: list[Outcome] = []

    def values() -> Iterator[Truth]:
        for c in children:
            o = c.evaluate(facts, ctx)
            outs.append(o)
            yield o.value

    value = junction(values(), any_=any_)
    if value is any_:
        return Outcome(
            value,
            lambda: join_texts([x for x in (d.evaluate(facts, ctx) for d in children) if x.value is any_]),
        )
    if value is None:
        missing, review = merge_gaps(outs, data_first=data_first)
        return Outcome(None, lambda: join_texts(outs), missing, review)
    return Outcome(value, lambda: join_texts(outs))


@dataclass(frozen=True)
class All(Node):
    children: tuple[Node, ...]

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        return _fold(self.children, facts, ctx, False, data_first=True)

    def subnodes(self) -> tuple[Node, ...]:
        return self.children

    def combine(self, values: Iterable[Truth]) -> Truth:
        return junction(values, any_=False)


@dataclass(frozen=True)
class Any_(Node):
    children: tuple[Node, ...]

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        return _fold(self.children, facts, ctx, True)

    def subnodes(self) -> tuple[Node, ...]:
        return self.children

    def combine(self, values: Iterable[Truth]) -> Truth:
        return junction(values, any_=True)


@dataclass(frozen=True)
class Not(Node):
    child: Node

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        o = self.child.evaluate(facts, ctx)
        # the child's text already says what is (or is not) there; the status carries polarity
        return Outcome(negation(o.value), lambda: o.text, o.missing, o.review)

    def subnodes(self) -> tuple[Node, ...]:
        return (self.child,)

    def combine(self, values: Iterable[Truth]) -> Truth:
        return negation(next(iter(values)))


def build_all(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    return All(problems.children(raw["all"], where))


def build_any(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    return Any_(problems.children(raw["any"], where))


def build_not(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    return Not(problems.node(raw["not"], where))


# ---------------------------------------------------------------------------- docs and examples

_ANC = '{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L" }'
_PLT = '{ quantity = "platelets", op = ">=", value = 100, unit = "10^9/L" }'
_PREGNANT = '{ fact = "pregnant", is = true }'


def _labs(anc: float | None = None, platelets: float | None = None) -> dict[str, Any]:
    given = (("anc", anc), ("platelets", platelets))
    return {
        "labs": [
            {"test": t, "value": v, "unit": "10^9/L", "date": "2026-11-12"} for t, v in given if v is not None
        ]
    }


KINDS = (
    NodeKind(
        "all",
        build_all,
        summary="Every child holds: Kleene's three-valued AND.",
        syntax="`{ all = [ node, node, ... ] }`",
        unknown="False as soon as one child is false, whatever the others lack; otherwise "
        "unknown if any child is unknown (the explanation lists what each unknown child "
        "needs). The order of the children never changes the value.",
        examples=(
            Example(f"{{ all = [ {_ANC}, {_PLT} ] }}", "true", _labs(2.0, 150)),
            Example(
                f"{{ all = [ {_ANC}, {_PLT} ] }}",
                "false",
                _labs(1.2),
                note="a false child decides; the missing platelet count does not matter",
            ),
            Example(
                f"{{ all = [ {_ANC}, {_PLT} ] }}", "unknown", _labs(2.0), explains="platelets not recorded"
            ),
            Example("{ all = [] }", error="logic.all: expected a non-empty list of logic nodes"),
            Example(
                '{ all = [ { quantity = "ancc", op = ">=", value = 1 } ] }',
                error="logic.all[0].quantity: unknown quantity 'ancc'; did you mean 'anc'?",
                note="a child's problem is located inside the list",
            ),
        ),
    ),
    NodeKind(
        "any",
        build_any,
        summary="At least one child holds: Kleene's three-valued OR.",
        syntax="`{ any = [ node, node, ... ] }`",
        unknown='True as soon as one child is true, whatever the others lack ("creatinine ≤ 1.5 × '
        'ULN or CrCl ≥ 50 mL/min" passes on creatinine alone); false only when every child '
        "is false; otherwise unknown.",
        examples=(
            Example(f"{{ any = [ {_ANC}, {_PLT} ] }}", "true", _labs(1.2, 150)),
            Example(
                f"{{ any = [ {_ANC}, {_PLT} ] }}",
                "true",
                _labs(2.0),
                note="a true child decides; the missing platelet count does not matter",
            ),
            Example(f"{{ any = [ {_ANC}, {_PLT} ] }}", "false", _labs(1.2, 50)),
            Example(
                f"{{ any = [ {_ANC}, {_PLT} ] }}", "unknown", _labs(1.2), explains="platelets not recorded"
            ),
            Example(f"{{ any = {_PREGNANT} }}", error="logic.any: expected a non-empty list of logic nodes"),
        ),
    ),
    NodeKind(
        "not",
        build_not,
        summary="The child does not hold. An exclusion states the excluding condition itself, "
        "so `not` is for a negated part inside a criterion (a field value that must not "
        'be there is a `where` test: `status = { not = "resolved" }`).',
        syntax="`{ not = node }`",
        unknown="Unknown stays unknown: `not` turns true into false and false into true, never "
        "unknown into anything else.",
        examples=(
            Example(f"{{ not = {_PREGNANT} }}", "true", {"reproductive": {"pregnant": False}}),
            Example(f"{{ not = {_PREGNANT} }}", "false", {"reproductive": {"pregnant": True}}),
            Example(f"{{ not = {_PREGNANT} }}", "unknown", {}, explains="pregnancy status not recorded"),
            Example(f"{{ not = [ {_PREGNANT} ] }}", error="logic.not: a logic node must be a table"),
        ),
    ),
)
