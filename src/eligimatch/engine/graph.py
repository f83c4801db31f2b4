"""The status-only graph runner: many trials at once, the engine of ``screen-batch``.

Screening a population needs, for each patient × trial, every criterion's status and the verdict,
not the explanations.  :class:`Program` compiles the trials of a batch into one graph in which
identical parts of criteria are one node, evaluated at most once per patient, whatever the trials
that share it.  (Trials repeat each other a lot: most trials of one disease ask for the same blood
counts, histologies and washout periods; the 250 trials of the benchmark's varied catalogue,
7,500 criteria, compile to about 1,800 distinct nodes.)

The graph knows no node kinds; it uses the interface of :class:`~.nodes.base.Node`:

* two nodes are one graph node when their ``share_key`` is equal (equal nodes that read the same
  context: a comparison its effective recency window, a clinician-review node its trial and
  criterion when the patient has attestations);
* a node with ``combine`` (``all`` / ``any`` / ``not``) combines its subnodes' values, read lazily
  so that it stops at the first deciding one, by the same :func:`.core.junction` /
  :func:`.core.negation` as the explaining runner;
* a node with a ``shared_reading`` (comparisons) shares the reading of its quantity with the
  other comparisons of the same quantity, window and mode, and ``decide``\\s on it;
* every other node gives its ``status`` (its value alone: no explanation is built).

Criterion polarity and the verdict come from :func:`.core.polarity` and :func:`.core.verdict`.

Two ways to run it: :meth:`Program.run` screens one patient, node by node; :meth:`Program.run_chunk`
screens a chunk of patients at once, each node giving its values over the whole chunk as an
array (:mod:`.chunked`, :mod:`.columns`; numpy is imported only then).  The explaining runner
stays the reference: ``tests/test_graph.py`` checks that all three give the same status to every
criterion of one shared corpus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..facts import Facts
from .compile import Trial
from .core import Truth, Verdict, polarity, verdict
from .nodes.base import EvalContext, Node

if TYPE_CHECKING:
    from .chunked import ChunkStatuses

__all__ = ["Program", "TrialStatus"]

# (verdict, positions of the failing criteria, positions of the unknown ones), in rule-file order
TrialStatus = tuple[Verdict, list[int], list[int]]
Run = Callable[[Facts, list[Any]], Any]

_UNSET: Any = object()


class Program:
    """The trials of a batch compiled together; :meth:`run` screens one patient's facts,
    :meth:`run_chunk` a chunk of patients.

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

    def attested(self) -> _Graph:
        if self._attested is None:
            self._attested = _Graph(self.trials, attested=True)
        return self._attested

    def run(self, facts: Facts) -> list[TrialStatus]:
        """Verdict, failing and unknown criteria (positions) of every trial, in trial order."""
        return (self.attested() if facts.attestations else self._plain).run(facts)

    def run_chunk(self, facts: Sequence[Facts]) -> ChunkStatuses:
        """The same for many patients at once, as distinct status patterns per trial."""
        from .chunked import run_chunk

        return run_chunk(self._plain, self.attested, facts)


class Slot:
    """One node of the graph: the node and the context it was first met in, its children's
    slots (a node that combines them) or its reading's slot (a node that decides on a shared
    reading; a reading's own slot has no node), and how to run it for one patient."""

    __slots__ = ("children", "ctx", "node", "reading", "run", "table")

    def __init__(
        self,
        node: Node | None,
        ctx: EvalContext | None,
        run: Run,
        *,
        children: tuple[int, ...] | None = None,
        reading: int | None = None,
    ) -> None:
        self.node = node
        self.ctx = ctx
        self.run = run
        self.children = children
        self.reading = reading
        self.table: Any = None  # the columnar runner's combine table, made on first use


class _Graph:
    def __init__(self, trials: Sequence[Trial], *, attested: bool) -> None:
        self.attested = attested
        self.slots: list[Slot] = []
        self._index: dict[Any, int] = {}
        # Each distinct (condition, kind) of a criterion gets a place in a per-patient status
        # list: True pass, False fail, None unknown; a trial's row lists its criteria's places.
        places: dict[tuple[int, bool], int] = {}
        self.rows: list[tuple[int, ...]] = [
            tuple(
                places.setdefault((self._node(c.node, ctx), c.spec.kind == "exclusion"), len(places))
                for c, ctx in zip(t.criteria, t.contexts, strict=True)
            )
            for t in trials
        ]
        self.criteria = tuple(places)
        self.layout: Any = None  # the columnar runner's arrays, made on first use

    def run(self, facts: Facts) -> list[TrialStatus]:
        slots = self.slots
        vals = [_UNSET] * len(slots)
        status: list[Truth] = []
        for i, exclusion in self.criteria:  # each distinct criterion once
            v = vals[i]
            if v is _UNSET:
                v = vals[i] = slots[i].run(facts, vals)
            status.append(polarity(exclusion, v))
        out: list[TrialStatus] = []
        for row in self.rows:
            got = [status[k] for k in row]
            fail_at = [k for k, v in enumerate(got) if v is False] if False in got else []
            unknown_at = [k for k, v in enumerate(got) if v is None] if None in got else []
            out.append((verdict(got), fail_at, unknown_at))
        return out

    def _add(self, key: Any, make: Callable[[], Slot]) -> int:
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self.slots)
            self.slots.append(make())
        return i

    def _node(self, node: Node, ctx: EvalContext) -> int:
        key = node.share_key(ctx, self.attested)
        try:
            hash(key)
        except TypeError:  # a field that cannot be hashed: keep the node unshared
            key = (id(node), ctx)
        if key in self._index:
            return self._index[key]
        slots = self.slots
        combine = node.combine
        if combine is not None:
            children = tuple(self._node(c, ctx) for c in node.subnodes())
            return self._add(
                key, lambda: Slot(node, ctx, _combined(slots, combine, children), children=children)
            )
        shared = node.shared_reading(ctx)
        if shared is not None:
            reading_key, read = shared
            reading = self._add(reading_key, lambda: Slot(None, None, _reader(read)))
            return self._add(key, lambda: Slot(node, ctx, _decided(slots, node, reading), reading=reading))
        return self._add(key, lambda: Slot(node, ctx, _status(node, ctx)))


def _value(slots: list[Slot], vals: list[Any], i: int, facts: Facts) -> Any:
    v = vals[i]
    if v is _UNSET:
        v = vals[i] = slots[i].run(facts, vals)
    return v


def _combined(slots: list[Slot], combine: Callable[..., Truth], children: tuple[int, ...]) -> Run:
    def combined(facts: Facts, vals: list[Any]) -> Truth:
        def values() -> Iterator[Truth]:  # lazily: combine stops at the first deciding value
            for i in children:
                yield _value(slots, vals, i, facts)

        return combine(values())

    return combined


def _reader(read: Callable[[Facts], Any]) -> Run:
    def reader(facts: Facts, vals: list[Any]) -> Any:
        return read(facts)

    return reader


def _decided(slots: list[Slot], node: Node, reading: int) -> Run:
    decide = node.decide

    def decided(facts: Facts, vals: list[Any]) -> Truth:
        return decide(_value(slots, vals, reading, facts))

    return decided


def _status(node: Node, ctx: EvalContext) -> Run:
    status = node.status

    def evaluated(facts: Facts, vals: list[Any]) -> Truth:
        return status(facts, ctx)

    return evaluated
