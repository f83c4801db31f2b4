"""Status-only screening of many trials at once: the engine of ``screen-batch``.

Screening a population needs, for each patient × trial, every criterion's status and the verdict,
not the explanations.  :class:`Program` compiles the trials of a batch into one graph in which
identical parts of criteria are one node, evaluated at most once per patient, whatever the trials
that share it.  (Trials repeat each other a lot: most trials of one disease ask for the same blood
counts, histologies and washout periods; the 250 trials of the benchmark catalogue, 7,500
criteria, compile to about 1,700 distinct nodes.)

* Two nodes are the same when they are equal (dataclass equality: the same kind, facts,
  thresholds, windows...) and read the same context: a comparison or ``recorded`` node its
  effective recency window (its own, else the trial's ``lab_max_age_days``); a clinician-review
  node its trial and criterion (attestations are per criterion).  A node kind this module does
  not know is never shared beyond its criterion.
* Comparisons of one quantity with the same window and the same mode (value, × ULN, grade) share
  the *reading*: the result, whether it is recent enough, numeric, with a ULN
  (:meth:`Compare.reading`).  Each then decides on its own threshold: as floats when the two
  numbers are clearly apart (more than 1e-9 relative; a Fraction converted to float is within
  about 1e-16 relative of itself), otherwise exactly, by :meth:`Compare.holds` with Fractions.
  Censored values and grades are always decided exactly.
* ``all`` / ``any`` stop at the first deciding child, as :meth:`Trial.evaluate` does; every other
  node kind is decided by its own ``evaluate``.

:meth:`Trial.evaluate` stays the reference: ``tests/test_program.py`` checks that both give the
same status to every criterion of every example patient, of property-generated profiles and of
synthetic cohorts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .compile import Trial
from .evaluate import (
    OPS,
    All,
    Any_,
    AnyRecorded,
    Compare,
    Constant,
    EvalContext,
    Evidence,
    Exists,
    Expr,
    FactIs,
    Histology,
    Node,
    Not,
    Outcome,
    Qualitative,
    Recorded,
    Review,
    Truth,
    Verdict,
    _recency_limit,
)
from .facts import Facts

__all__ = ["Program", "TrialStatus"]

# (verdict, positions of the failing criteria, positions of the unknown ones), in rule-file order
TrialStatus = tuple[Verdict, list[int], list[int]]
Slot = Callable[[Facts, list[Any]], Any]

_UNSET: Any = object()
# node kinds whose value depends on the facts alone (not on the trial or the criterion)
_CONTEXT_FREE = (FactIs, Exists, Histology, Constant)
# floats closer than this (relative) are compared exactly instead
_FLOAT_MARGIN = 1e-9


class Program:
    """The trials of a batch compiled together; :meth:`run` screens one patient's facts.

    Two graphs: one for patients without clinician attestations, in which every review node is
    unknown whatever its criterion, so review nodes of the same question are one node (and the
    criteria holding them can be shared); and one, compiled when first needed, in which each
    review node looks up its own criterion's attestation.
    """

    def __init__(self, trials: Sequence[Trial]) -> None:
        self.trials = tuple(trials)
        self._plain = _Graph(self.trials, attested=False)
        self._attested: _Graph | None = None

    @property
    def size(self) -> int:
        """Distinct nodes (and shared readings) of the graph for patients without attestations."""
        return len(self._plain.slots)

    def run(self, facts: Facts) -> list[TrialStatus]:
        """Verdict, failing and unknown criteria (positions) of every trial, in trial order."""
        if not facts.attestations:
            return self._plain.run(facts)
        if self._attested is None:
            self._attested = _Graph(self.trials, attested=True)
        return self._attested.run(facts)


class _Graph:
    def __init__(self, trials: Sequence[Trial], *, attested: bool) -> None:
        self.attested = attested
        self.slots: list[Slot] = []
        self._index: dict[Any, int] = {}
        # Each distinct (condition, kind) of a criterion gets a place in a per-patient status
        # list: True pass, False fail, None unknown; a trial's row lists its criteria's places.
        places: dict[tuple[int, bool], int] = {}
        self.rows: list[tuple[int, ...]] = [
            tuple(places.setdefault((self._node(c.node, ctx), c.spec.kind == "exclusion"),
                                    len(places))
                  for c, ctx in zip(t.criteria, t.contexts, strict=True))
            for t in trials]
        self.criteria = tuple(places)

    def run(self, facts: Facts) -> list[TrialStatus]:
        slots = self.slots
        vals = [_UNSET] * len(slots)
        status: list[Truth] = []
        for i, exclusion in self.criteria:      # each distinct criterion once
            v = vals[i]
            if v is _UNSET:
                v = vals[i] = slots[i](facts, vals)
            status.append(v if v is None or not exclusion else not v)
        out: list[TrialStatus] = []
        for row in self.rows:
            got = [status[k] for k in row]
            fail_at = [k for k, v in enumerate(got) if v is False] if False in got else []
            unknown_at = [k for k, v in enumerate(got) if v is None] if None in got else []
            verdict: Verdict = ("ineligible" if fail_at else
                                "undetermined" if unknown_at else "eligible")
            out.append((verdict, fail_at, unknown_at))
        return out

    def _add(self, key: Any, make: Callable[[], Slot]) -> int:
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self.slots)
            self.slots.append(make())
        return i

    def _node(self, node: Node, ctx: EvalContext) -> int:
        key = _key(node, ctx, self.attested)
        try:
            hash(key)
        except TypeError:           # a field this module did not expect: keep it unshared
            key = (id(node), ctx)
        if key in self._index:
            return self._index[key]
        kind = type(node)
        if kind is All or kind is Any_:
            children = tuple(self._node(c, ctx) for c in node.children)  # type: ignore[attr-defined]
            return self._add(key, lambda: _junction(self.slots, children, kind is Any_))
        if kind is Not:
            child = self._node(node.child, ctx)  # type: ignore[attr-defined]
            return self._add(key, lambda: _negation(self.slots, child))
        if isinstance(node, Compare):
            limit = _recency_limit(node.analyte, node.within_days, node.default_recency, ctx)
            reading = self._add(("reading", node.analyte.key, limit, node.mode()),
                                lambda: _reader(node, limit))
            return self._add(key, lambda: _comparison(self.slots, node, reading))
        return self._add(key, lambda: _evaluated(node, ctx))


def _key(node: Node, ctx: EvalContext, attested: bool) -> Any:
    """What makes two nodes the same for the program: see the module docstring."""
    kind = type(node)
    if isinstance(node, All | Any_):
        return (kind, tuple(_key(c, ctx, attested) for c in node.children))
    if isinstance(node, Not):
        return (kind, _key(node.child, ctx, attested))
    if isinstance(node, Compare | Recorded | Qualitative):
        return (node, _recency_limit(node.analyte, node.within_days, node.default_recency, ctx))
    if isinstance(node, Evidence):  # negative tests count within the trial's lab window
        return (node, ctx.lab_max_age_days)
    if isinstance(node, AnyRecorded):
        otherwise = None if node.otherwise is None else _key(node.otherwise, ctx, attested)
        return (kind, tuple(_key(c, ctx, attested) for c in node.children), otherwise)
    if isinstance(node, Expr):      # the compiled rule object compares by identity
        return (kind, node.source, node.names)
    if kind in _CONTEXT_FREE or (kind is Review and not attested):
        return (node,)
    return (node, ctx)


def _junction(slots: list[Slot], children: tuple[int, ...], is_any: bool) -> Slot:
    """Kleene AND (``all``) or OR (``any``), stopping at the first deciding child."""
    decisive = is_any

    def junction(facts: Facts, vals: list[Any]) -> Truth:
        unsure = False
        for i in children:
            v = vals[i]
            if v is _UNSET:
                v = vals[i] = slots[i](facts, vals)
            if v is decisive:
                return is_any
            if v is None:
                unsure = True
        return None if unsure else not decisive
    return junction


def _negation(slots: list[Slot], child: int) -> Slot:
    def negation(facts: Facts, vals: list[Any]) -> Truth:
        v = vals[child]
        if v is _UNSET:
            v = vals[child] = slots[child](facts, vals)
        return None if v is None else not v
    return negation


def _evaluated(node: Node, ctx: EvalContext) -> Slot:
    def evaluated(facts: Facts, vals: list[Any]) -> Truth:
        return node.evaluate(facts, ctx).value
    return evaluated


Reading = tuple[Any, float | None, float | None] | None   # (QuantityFact, value, ULN as floats)


def _reader(node: Compare, limit: int | None) -> Slot:
    """The shared reading of a quantity: None when it cannot be compared (unknown)."""
    def reader(facts: Facts, vals: list[Any]) -> Reading:
        q = node.reading(facts, limit)
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
    return reader


def _comparison(slots: list[Slot], node: Compare, reading: int) -> Slot:
    """One comparison on a shared reading: floats when clearly apart, else exact."""
    op = OPS[node.op]
    mode = node.mode()
    per_uln = mode == "uln"
    exact = node.uln_multiple if per_uln else node.threshold if mode == "value" else None
    try:
        bound = None if exact is None else float(exact)
    except OverflowError:
        bound = None

    def comparison(facts: Facts, vals: list[Any]) -> Truth:
        r = vals[reading]
        if r is _UNSET:
            r = vals[reading] = slots[reading](facts, vals)
        if r is None:
            return None
        q, x, u = r
        if x is not None and bound is not None:
            y = bound if not per_uln else None if u is None else bound * u
            if y is not None and abs(x - y) > _FLOAT_MARGIN * max(abs(x), abs(y)):
                return bool(op(x, y))
        return node.holds(q)
    return comparison
