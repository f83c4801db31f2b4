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
from .base import EvalContext, Node, NodeKind, Problems

__all__ = ["KINDS", "All", "Any_", "Not"]


def _fold(children: tuple[Node, ...], facts: Facts, ctx: EvalContext, any_: bool,
          *, data_first: bool = False) -> Outcome:
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
        return Outcome(value, lambda: join_texts(
            [x for x in (d.evaluate(facts, ctx) for d in children) if x.value is any_]))
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


KINDS = (
    NodeKind("all", build_all),
    NodeKind("any", build_any),
    NodeKind("not", build_not),
)
