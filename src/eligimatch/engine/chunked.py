"""The graph runner on a chunk of patients at once: every node's values as one array.

:meth:`.graph.Program.run_chunk` screens a chunk of patients: each slot of the graph (in order,
children first) gets an array of truth codes (:mod:`.columns`) over the chunk:

* a node whose value combines its subnodes' (``all``, ``any``, ``not``: ``node.combine``) looks
  its column up in a table of ``combine`` over every combination of its children's codes
  (:func:`.columnar.combined`);
* the nodes that decide on one shared reading (comparisons of one quantity, window and mode) are
  decided together by their kind (``shared_columns``);
* any other node gives its column itself (``node.columns``: arrays where it can, otherwise its
  status-only ``status`` patient by patient); readings are shared through the chunk's cache.

A criterion's pass codes come from :func:`.core.polarity`, a trial's verdict from
:func:`.core.verdict`.  The result (:class:`ChunkStatuses`) is per trial a list of its distinct
*status patterns* (verdict, failing and unknown criteria) and, per patient, which pattern it
has, so that output is made once per pattern, not once per patient × trial; and per trial the
attrition counts, computed from the arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .columnar import TABLE_CHILDREN, combine_table, combined
from .columns import FALSE, TRUE, UNKNOWN, Chunk, Codes, code, value_of
from .core import Verdict, polarity, verdict

if TYPE_CHECKING:
    from ..facts import Facts
    from .graph import TrialStatus, _Graph

__all__ = ["ChunkStatuses", "run_chunk"]

# a trial's pattern is a base-3 number in an int64 for up to this many criteria
_CODED_CRITERIA = 39
_Ints = npt.NDArray[np.int64]
Attrition = tuple[int, list[int], list[int], list[int], list[int], dict[str, int]]


class ChunkStatuses:
    """The statuses of a chunk: per trial, its distinct patterns and each patient's pattern.

    ``patterns[t]`` lists the distinct :data:`~.graph.TrialStatus` of trial ``t`` in the chunk;
    ``which[t][p]`` is the position in it of patient ``p``'s; ``counts(t)`` how many patients
    have each; ``attrition[t]`` the chunk's attrition counts of trial ``t``: patients, fail and
    unknown counts per criterion, histograms of the first failing and the first not passing
    criterion (position; the trial's size for none), and the count of each verdict."""

    def __init__(self, n: int, patterns: list[list[TrialStatus]], which: list[_Ints],
                 attrition: list[Attrition]) -> None:
        self.n = n
        self.patterns = patterns
        self.which = which
        self.attrition = attrition

    def counts(self, t: int) -> list[int]:
        return np.bincount(self.which[t], minlength=len(self.patterns[t])).tolist()  # type: ignore[no-any-return]

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


def run_chunk(plain: _Graph, attested: Callable[[], _Graph], facts: Sequence[Facts]
              ) -> ChunkStatuses:
    """Screen ``facts``: patients with attestations through the graph ``attested()`` gives
    (made when first needed), the others through ``plain``."""
    layout = _layout(plain)
    others = [i for i, f in enumerate(facts) if f.attestations]
    if not others:
        passes = _passes(plain, layout, Chunk(facts))
    else:
        passes = np.empty((layout.n_criteria, len(facts)), np.uint8)
        plain_rows = [i for i, f in enumerate(facts) if not f.attestations]
        if plain_rows:
            passes[:, plain_rows] = _passes(plain, layout, Chunk([facts[i] for i in plain_rows]))
        graph = attested()
        passes[:, others] = _passes(graph, _layout(graph), Chunk([facts[i] for i in others]))
    return _patterns(layout, passes)


class _Layout:
    """A graph's criteria as rows of one array: every criterion of every trial, trial by trial
    (``flat``: the place of each), each trial's block of rows, and the base-3 weights that make
    a trial's block one number per patient."""

    def __init__(self, graph: _Graph) -> None:
        self.flat = np.array([k for row in graph.rows for k in row], np.intp)
        self.n_criteria = len(self.flat)
        self.blocks: list[tuple[int, int]] = []
        weights: list[int] = []
        starts: list[int] = []
        self.coded: list[int] = []      # per trial: its row in the coded array, -1 if none
        for row in graph.rows:
            size = len(row)
            self.blocks.append((len(weights), size))
            small = 0 < size <= _CODED_CRITERIA
            self.coded.append(len(starts) if small else -1)
            if small:
                starts.append(len(weights))
            weights.extend(3 ** (size - 1 - j) if small else 0 for j in range(size))
        # the slots that decide on one shared reading, by node kind: decided together
        groups: dict[tuple[int, type], list[int]] = {}
        for i, slot in enumerate(graph.slots):
            if slot.reading is not None:
                groups.setdefault((slot.reading, type(slot.node)), []).append(i)
        self.sharing = {i: group for group in groups.values() for i in group}
        self.weights = np.array(weights, np.int64)
        self.starts = np.array(starts, np.intp)
        # for the attrition: each trial's block (the non-empty ones), and per row the distance
        # from the end of its block (so that the largest marked one is the first marked)
        self.starts_all = np.array([b for b, size in self.blocks if size], np.intp)
        self.reverse = np.array([size - j for _, size in self.blocks for j in range(size)],
                                np.int64)


def _layout(graph: _Graph) -> _Layout:
    if graph.layout is None:
        graph.layout = _Layout(graph)
    layout: _Layout = graph.layout
    return layout


def _passes(graph: _Graph, layout: _Layout, chunk: Chunk) -> Codes:
    """Pass codes (rows: every criterion of every trial, in order; columns: patients)."""
    cols: list[Codes | None] = [None] * len(graph.slots)
    for i, slot in enumerate(graph.slots):
        if cols[i] is not None:         # decided with the others of its reading
            continue
        if slot.children is not None:
            cols[i] = _combined(slot, [cols[c] for c in slot.children], chunk.n)
        elif slot.reading is not None and slot.node is not None:
            group = layout.sharing[i]
            nodes = [graph.slots[k].node for k in group]
            ctxs = [graph.slots[k].ctx for k in group]
            decided = type(slot.node).shared_columns(nodes, chunk, ctxs)  # type: ignore[arg-type]
            for k, column in zip(group, decided, strict=True):
                cols[k] = column
        elif slot.node is not None and slot.ctx is not None:
            cols[i] = slot.node.columns(chunk, slot.ctx)
    places = np.empty((len(graph.criteria), chunk.n), np.uint8)
    for k, (i, exclusion) in enumerate(graph.criteria):
        col = cols[i]
        assert col is not None
        places[k] = _POLARITY[exclusion][col]
    out: Codes = places[layout.flat]
    return out


_POLARITY = {e: np.array([code(polarity(e, value_of(c))) for c in (FALSE, UNKNOWN, TRUE)],
                         np.uint8) for e in (False, True)}


def _combined(slot: Any, children: Sequence[Codes | None], n: int) -> Codes:
    cols = [c for c in children if c is not None]
    assert len(cols) == len(children), "children come first"
    if slot.table is None and len(cols) <= TABLE_CHILDREN:
        slot.table = combine_table(slot.node, len(cols))
    return combined(slot.node, cols, n, slot.table)


def _patterns(layout: _Layout, passes: Codes) -> ChunkStatuses:
    """Each trial's distinct pass patterns in the chunk, decoded together, and its attrition
    counts, array by array.  (Patterns are not kept from chunk to chunk: most patients of a
    catalogue with many criteria have statuses of their own, and memory stays flat.)"""
    n = passes.shape[1]
    patterns: list[list[TrialStatus]] = []
    which: list[_Ints] = []
    fails, unknowns = passes == FALSE, passes == UNKNOWN
    coded = (np.add.reduceat(passes.astype(np.int64) * layout.weights[:, None], layout.starts,
                             axis=0) if len(layout.starts) else np.zeros((0, n), np.int64))
    for t, (start, size) in enumerate(layout.blocks):
        if size == 0:
            patterns.append([(verdict([]), [], [])])
            which.append(np.zeros(n, np.int64))
            continue
        if layout.coded[t] >= 0:
            _, first, inverse = np.unique(coded[layout.coded[t]], return_index=True,
                                          return_inverse=True)
        else:
            _, first, inverse = np.unique(passes[start:start + size], axis=1, return_index=True,
                                          return_inverse=True)
        patterns.append(_decode(fails[start:start + size, first],
                                unknowns[start:start + size, first]))
        which.append(inverse.reshape(-1).astype(np.int64))
    return ChunkStatuses(n, patterns, which, _attrition(layout, fails, unknowns))


def _verdicts() -> dict[tuple[bool, bool], Verdict]:
    """The verdict from whether some criterion fails and whether some is unknown
    (:func:`.core.verdict`)."""
    return {(f, u): verdict([True, *([False] if f else []), *([None] if u else [])])
            for f in (False, True) for u in (False, True)}


_VERDICT = _verdicts()


def _decode(fails: npt.NDArray[np.bool_], unknowns: npt.NDArray[np.bool_]) -> list[TrialStatus]:
    """The statuses of patterns given as columns: which criteria fail, which are unknown."""
    out_fail = _positions(fails)
    out_unknown = _positions(unknowns)
    return [(_VERDICT[bool(f), bool(u)], f, u)
            for f, u in zip(out_fail, out_unknown, strict=True)]


def _positions(mask: npt.NDArray[np.bool_]) -> list[list[int]]:
    """Per column, the rows where ``mask`` is set, ascending."""
    cols, rows = np.nonzero(mask.T)
    flat = rows.tolist()
    ends = np.cumsum(np.bincount(cols, minlength=mask.shape[1])).tolist()
    out, begin = [], 0
    for end in ends:
        out.append(flat[begin:end])
        begin = end
    return out


def _attrition(layout: _Layout, fails: npt.NDArray[np.bool_], unknowns: npt.NDArray[np.bool_]
               ) -> list[Attrition]:
    """Per trial: patients; fail and unknown counts per criterion; histograms of the first
    failing and first not passing criterion (its size: none); verdict counts."""
    n = fails.shape[1]
    fail_counts = fails.sum(axis=1).tolist()
    unknown_counts = unknowns.sum(axis=1).tolist()
    starts = layout.starts_all
    out: list[Attrition] = []
    if len(starts):
        rev = layout.reverse[:, None]
        first_fail = np.maximum.reduceat(fails * rev, starts, axis=0)
        first_other = np.maximum.reduceat((fails | unknowns) * rev, starts, axis=0)
    k = 0
    for start, size in layout.blocks:
        if size == 0:
            out.append((n, [], [], [n], [n], {verdict([]): n}))
            continue
        ff, fo = first_fail[k], first_other[k]
        k += 1
        failed, other = ff > 0, fo > 0
        counts = np.bincount(failed * 2 + (other & ~failed), minlength=4).tolist()
        out.append((n, fail_counts[start:start + size], unknown_counts[start:start + size],
                    np.bincount(size - ff, minlength=size + 1).tolist(),
                    np.bincount(size - fo, minlength=size + 1).tolist(),
                    {_VERDICT[False, False]: counts[0], _VERDICT[False, True]: counts[1],
                     _VERDICT[True, False]: counts[2] + counts[3]}))
    return out
