"""The graph runner on a chunk of patients at once: every node's values as one array.

:meth:`.graph.Program.run_chunk` screens a chunk of patients: each slot of the graph (in order,
children first) gets a row of truth codes (:mod:`.columns`) over the chunk, in one array:

* a node whose value combines its subnodes' (``all``, ``any``, ``not``: ``node.combine``) looks
  its column up in a table of ``combine`` over every combination of its children's codes
  (:func:`.columnar.combined`);
* the nodes that decide on a shared reading (comparisons) are decided together by their kind,
  all those of the graph in one call (``shared_columns``; :mod:`.comparisons`);
* any other node gives its column itself (``node.columns``: arrays where it can, otherwise its
  status-only ``status`` patient by patient); readings are shared through the chunk's cache.

A criterion's pass codes come from :func:`.core.polarity`, a trial's verdict from
:func:`.core.verdict`.  The result (:class:`ChunkStatuses`) is per trial a list of its distinct
*status patterns* (verdict, failing and unknown criteria) and, per patient, which pattern it
has, so that output is made once per pattern, not once per patient × trial; and per trial the
attrition counts, computed from the arrays for all trials at once (:mod:`.patterns`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .columnar import TABLE_CHILDREN, combine_table, combined
from .columns import FALSE, TRUE, UNKNOWN, Chunk, Codes, code, value_of
from .core import polarity
from .patterns import Attrition, Group, statuses

if TYPE_CHECKING:
    from ..facts import Facts
    from .graph import TrialStatus, _Graph
    from .nodes.base import EvalContext, Node

__all__ = ["ChunkStatuses", "run_chunk"]

_Ints = npt.NDArray[np.int64]


class ChunkStatuses:
    """The statuses of a chunk: per trial, its distinct patterns and each patient's pattern.

    ``patterns[t]`` lists the distinct :data:`~.graph.TrialStatus` of trial ``t`` in the chunk;
    ``which[t][p]`` is the position in it of patient ``p``'s; ``attrition[t]`` the chunk's
    attrition counts of trial ``t``: patients, fail and unknown counts per criterion,
    histograms of the first failing and the first not passing criterion (position; the
    trial's size for none), and the count of each verdict."""

    def __init__(
        self, n: int, patterns: list[list[TrialStatus]], which: list[_Ints], attrition: list[Attrition]
    ) -> None:
        self.n = n
        self.patterns = patterns
        self.which = which
        self.attrition = attrition

    def texts(self, render: Callable[[int, TrialStatus], str]) -> npt.NDArray[np.object_]:
        """``render(t, status)`` for every patient (rows) and trial (columns), called once per
        distinct pattern of each trial."""
        out = np.empty((self.n, len(self.patterns)), object)
        for t, (pats, w) in enumerate(zip(self.patterns, self.which, strict=True)):
            made = np.empty(len(pats), object)
            made[:] = [render(t, s) for s in pats]
            out[:, t] = made[w]
        return out

    def patient(self, p: int) -> list[TrialStatus]:
        """Patient ``p``'s statuses, trial by trial (as :meth:`.graph.Program.run` gives)."""
        return [pats[int(w[p])] for pats, w in zip(self.patterns, self.which, strict=True)]


def run_chunk(plain: _Graph, attested: Callable[[], _Graph], facts: Sequence[Facts]) -> ChunkStatuses:
    """Screen ``facts``: patients with attestations through the graph ``attested()`` gives
    (made when first needed), the others through ``plain``."""
    layout = _layout(plain)
    others = [i for i, f in enumerate(facts) if f.attestations]
    if not others:
        passes = _passes(plain, layout, Chunk(facts, layout.fields, layout.keys))
    else:
        passes = np.empty((layout.n_criteria, len(facts)), np.uint8)
        plain_rows = [i for i, f in enumerate(facts) if not f.attestations]
        if plain_rows:
            passes[:, plain_rows] = _passes(
                plain, layout, Chunk([facts[i] for i in plain_rows], layout.fields, layout.keys)
            )
        graph = attested()
        mine = _layout(graph)
        passes[:, others] = _passes(graph, mine, Chunk([facts[i] for i in others], mine.fields, mine.keys))
    return _patterns(layout, passes)


class _Layout:
    """A graph's criteria as rows of one array: every criterion of every trial, the trials of
    one size next to each other (``groups``, :class:`.patterns.Group`; ``flat``: each row's
    place in the graph's criteria), each trial cut into pieces of at most :data:`_PIECE`
    criteria (one base-3 number per patient each)."""

    def __init__(self, graph: _Graph) -> None:
        by_size: dict[int, list[int]] = {}
        for t, row in enumerate(graph.rows):
            if row:
                by_size.setdefault(len(row), []).append(t)
        flat: list[int] = []
        self.groups: list[Group] = []
        for size in sorted(by_size):
            self.groups.append(Group(size, by_size[size], len(flat), _PIECE))
            for t in by_size[size]:
                flat.extend(graph.rows[t])
        self.flat = np.array(flat, np.intp)
        self.n_trials = len(graph.rows)
        self.fields: dict[str, list[str]] = {}  # item fields read, per collection (Chunk.fields)
        self.keys: list[str] = []  # quantities read (Chunk.keys)
        self.n_criteria = len(flat)
        # the slots that decide on a shared reading, by node kind: decided together
        groups: dict[type, list[int]] = {}
        for i, slot in enumerate(graph.slots):
            if slot.reading is not None:
                groups.setdefault(type(slot.node), []).append(i)
        self.sharing: dict[int, tuple[list[int], tuple[Node, ...], tuple[EvalContext, ...]]] = {}
        for group in groups.values():
            nodes = tuple(graph.slots[k].node for k in group)
            ctxs = tuple(graph.slots[k].ctx for k in group)
            for i in group:
                self.sharing[i] = (group, nodes, ctxs)  # type: ignore[assignment]
        # per row: its criterion's slot and polarity
        self.row_slots = np.array([i for i, _ in graph.criteria], np.intp)[self.flat]
        exclusions = np.array([e for _, e in graph.criteria], np.bool_)[self.flat]
        self.polarity_rows = (np.flatnonzero(~exclusions), np.flatnonzero(exclusions))


def _layout(graph: _Graph) -> _Layout:
    if graph.layout is None:
        graph.layout = _Layout(graph)
    layout: _Layout = graph.layout
    return layout


def _passes(graph: _Graph, layout: _Layout, chunk: Chunk) -> Codes:
    """Pass codes (rows: every criterion of every trial, in the layout's order; columns:
    patients), from one array of every slot's codes (a reading's own row stays unused)."""
    values = np.empty((len(graph.slots), chunk.n), np.uint8)
    done = [False] * len(graph.slots)
    for i, slot in enumerate(graph.slots):
        if done[i]:  # decided with the others of its kind
            continue
        node = slot.node
        if slot.children is not None:
            values[i] = _combined(slot, [values[c] for c in slot.children], chunk.n)
        elif slot.reading is not None and node is not None:
            group, nodes, ctxs = layout.sharing[i]
            values[group] = type(node).shared_columns(nodes, chunk, ctxs)
            for k in group:
                done[k] = True
        elif node is not None and slot.ctx is not None:
            values[i] = node.columns(chunk, slot.ctx)
    out: Codes = np.take(values, layout.row_slots, axis=0)
    for e, rows in enumerate(layout.polarity_rows):
        if len(rows) and not _IDENTITY[e]:
            out[rows] = np.take(_POLARITY[e], out[rows])
    return out


# pass codes by (exclusion, code of the condition), and which of the two leave codes as they are
_POLARITY = np.array(
    [[code(polarity(e, value_of(c))) for c in (FALSE, UNKNOWN, TRUE)] for e in (False, True)], np.uint8
)
_IDENTITY = [bool((row == np.arange(3)).all()) for row in _POLARITY]


def _combined(slot: Any, children: Sequence[Codes | None], n: int) -> Codes:
    cols = [c for c in children if c is not None]
    assert len(cols) == len(children), "children come first"
    if slot.table is None and len(cols) <= TABLE_CHILDREN:
        slot.table = combine_table(slot.node, len(cols))
    return combined(slot.node, cols, n, slot.table)


def _patterns(layout: _Layout, passes: Codes) -> ChunkStatuses:
    """Each trial's distinct pass patterns in the chunk and its attrition counts
    (:mod:`.patterns`).  (Patterns are not kept from chunk to chunk: most patients of a
    catalogue with many criteria have statuses of their own, and memory stays flat.)"""
    pats, which, counts = statuses(layout.groups, layout.n_trials, passes)
    return ChunkStatuses(passes.shape[1], pats, which, counts)


# criteria of a trial in one base-3 number (3 ** 39 < 2 ** 63)
_PIECE = 39
