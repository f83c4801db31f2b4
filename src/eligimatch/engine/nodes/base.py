"""What every node kind shares: the node interface, the evaluation context, how a builder reports
problems and compiles the nodes inside it, and the entry a node kind gives the registry.

A node kind lives in one module of this package: its builder (rule-file table → node, every
problem collected with the field it concerns), its node class (``evaluate`` explains; ``status``
gives the value alone), its documentation and its examples, all in a :class:`NodeKind` that
:mod:`eligimatch.engine.registry` lists.  Runners never branch on node types: they use the
interface below.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ... import errors
from ..core import ATTESTATION_MAX_AGE_DAYS, Outcome, Truth, recency_limit

if TYPE_CHECKING:
    from ...facts import Facts
    from ...units import Analyte
    from ..columns import Chunk, Codes, Columns

__all__ = [
    "NEGATION",
    "OPS",
    "SYMBOL",
    "Aging",
    "Bad",
    "EvalContext",
    "Example",
    "Node",
    "NodeKind",
    "Problems",
    "censored",
    "number",
    "recency",
]


@dataclass(frozen=True)
class EvalContext:
    """Where a node is evaluated: its trial and criterion (attestations are per criterion) and
    the trial's windows."""

    trial_id: str
    criterion_id: str
    lab_max_age_days: int | None
    attestation_max_age_days: int = ATTESTATION_MAX_AGE_DAYS


class Node:
    """A compiled logic node.

    ``evaluate`` gives the value with its explanation; ``status`` the value alone (the graph
    runner's fast path; by default the value of ``evaluate``, whose texts are built lazily).
    ``subnodes`` are the nodes inside this one; ``share_key`` says when two nodes are the same for
    the graph runner (equal nodes reading the same context); ``combine`` is defined by nodes whose
    value is a function of their subnodes' values alone.
    """

    # nodes whose value depends on the facts alone, not on the trial or criterion they are in
    context_free = False
    # defined (not None) by nodes whose value is their subnodes' values combined (all/any/not)
    combine: Callable[..., Truth] | None = None

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        raise NotImplementedError

    def status(self, facts: Facts, ctx: EvalContext) -> Truth:
        if self.combine is not None:  # the subnodes' statuses, read lazily
            return self.combine(c.status(facts, ctx) for c in self.subnodes())
        return self.evaluate(facts, ctx).value

    def columns(self, chunk: Chunk, ctx: EvalContext) -> Codes:
        """The value for every patient of a chunk at once, as truth codes (the graph runner's
        columnar path, :mod:`..columns`): by default ``combine`` of the subnodes' columns, or
        ``status`` patient by patient."""
        if self.combine is not None:
            from ..columnar import combined

            return combined(self, [c.columns(chunk, ctx) for c in self.subnodes()], chunk.n)
        return chunk.rows(lambda facts: self.status(facts, ctx))

    def subnodes(self) -> tuple[Node, ...]:
        return ()

    def symbols(self) -> set[str]:
        """Names of the facts this node reads (for 'what to record' listings)."""
        return set().union(*(c.symbols() for c in self.subnodes()))

    def asks_review(self) -> bool:
        """Can this node need a clinician's review (it or a node inside it)?"""
        return any(c.asks_review() for c in self.subnodes())

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        """What makes two nodes the same for the graph runner: see :mod:`..graph`."""
        if self.combine is not None:
            return (type(self), tuple(c.share_key(ctx, attested) for c in self.subnodes()))
        return (self,) if self.context_free else (self, ctx)

    @classmethod
    def shared_columns(cls, nodes: Sequence[Node], chunk: Chunk, ctxs: Sequence[EvalContext]) -> Columns:
        """The columns of nodes of this kind that decide on a shared reading (all those of a
        graph, whatever their reading), at once (the columnar runner): one row per node; by
        default one by one."""
        return [n.columns(chunk, c) for n, c in zip(nodes, ctxs, strict=True)]

    def shared_reading(self, ctx: EvalContext) -> tuple[Any, Callable[[Facts], Any]] | None:
        """For nodes that decide on a reading other nodes can share (comparisons of one
        quantity): the reading's key and how to read it.  ``decide`` then decides on it."""
        return None

    def decide(self, reading: Any) -> Truth:
        raise NotImplementedError


class Aging:
    """For nodes that read one quantity within a recency window (comparisons, qualitative
    results, ``recorded``): the window in a context, and sharing by it."""

    analyte: Analyte
    within_days: int | None
    default_recency: bool

    def limit(self, ctx: EvalContext) -> int | None:
        """How old the result may be in this context (see :func:`..core.recency_limit`)."""
        return recency_limit(self.analyte, self.within_days, self.default_recency, ctx.lab_max_age_days)

    def share_key(self, ctx: EvalContext, attested: bool) -> Any:
        return (self, self.limit(ctx))


class Bad(Node):
    """Placeholder for a node that failed to compile (only seen while collecting problems)."""


class Problems(errors.Problems):
    """The one problems collector (:class:`eligimatch.errors.Problems`), as a rule file's
    compilation uses it: builders also compile the nodes inside their own through it, so every
    problem of a file is found at once."""

    def __init__(self, build: Callable[[Any, str, Problems], Node] | None = None) -> None:
        super().__init__()
        self._build = build

    def node(self, raw: Any, where: str) -> Node:
        assert self._build is not None, "a Problems without a builder compiles no nodes"
        return self._build(raw, where, self)

    def children(self, raw: Any, where: str) -> tuple[Node, ...]:
        if not isinstance(raw, list) or not raw:
            self.add(where, "expected a non-empty list of logic nodes")
            return ()
        return tuple(self.node(r, f"{where}[{i}]") for i, r in enumerate(raw))


@dataclass(frozen=True)
class Example:
    """One documented example of a node kind: ``logic`` (TOML text of the node) on ``patient``
    (profile fields) as of ``as_of`` gives ``value`` ("true" / "false" / "unknown") with
    ``explains`` in its explanation, or fails to load with exactly ``error`` (``field: message``,
    as ``eligimatch check`` prints it after ``<file>: criteria[<id>].``).  The node is run as
    criterion ``I1`` (an inclusion) of a trial ``EXAMPLE`` without windows of its own, in both
    runners (tests/test_node_examples.py); docs/rule-language.md shows every example."""

    logic: str
    value: str | None = None
    patient: dict[str, Any] = field(default_factory=dict)
    as_of: str = "2026-11-16"
    error: str | None = None
    note: str = ""
    explains: str = ""


@dataclass(frozen=True)
class NodeKind:
    """A node kind as the registry lists it: the key naming it in a rule file, the other keys its
    table may have, its builder, and its documentation and examples."""

    key: str
    build: Callable[[dict[str, Any], str, Problems], Node]
    keys: frozenset[str] = frozenset()
    summary: str = ""
    syntax: str = ""
    unknown: str = ""
    examples: tuple[Example, ...] = ()


# ---------------------------------------------------------------------------- shared pieces

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
SYMBOL = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
NEGATION = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def censored(op: str, comparator: str, bound: Fraction, threshold: Fraction) -> Truth:
    """Decide ``x op threshold`` for an x known only as ``x comparator bound``."""
    upper = comparator in ("<", "<=")  # x lies below the bound, else above it
    closed = comparator in ("<=", ">=")  # the bound itself is possible

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


def number(raw: Any, where: str, problems: Problems) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | str):
        problems.append((where, f"expected a number, got {raw!r}"))
        return None
    try:
        d = Decimal(str(raw))
    except ArithmeticError:
        problems.append((where, f"expected a number, got {raw!r}"))
        return None
    if not d.is_finite():
        problems.append((where, "must be a finite number"))
        return None
    if d and not -30 <= d.adjusted() <= 30:  # exact arithmetic on 1e-999999999 never ends
        problems.append((where, f"{raw!r} is out of range (10⁻³⁰ to 10³⁰)"))
        return None
    return d


def recency(raw: dict[str, Any], base: str, problems: Problems) -> tuple[int | None, bool] | None:
    within = raw.get("within_days")
    if within is not None and (isinstance(within, bool) or not isinstance(within, int) or within < 0):
        problems.append((f"{base}.within_days", "expected a whole number of days"))
        return None
    recency = raw.get("recency", "default")
    if recency not in ("default", "none"):
        problems.append((f"{base}.recency", "expected 'default' or 'none'"))
        return None
    return within, recency == "default"
