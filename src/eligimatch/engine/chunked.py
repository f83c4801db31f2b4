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

_Ints = npt.NDArray[np.int64]
Attrition = tuple[int, list[int], list[int], list[int], list[int], dict[str, int]]


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
    (``flat``: the place of each), and each trial's block of rows; each block cut into pieces of
    at most :data:`_PIECE` criteria whose base-3 weights make a piece one number per patient."""

    def __init__(self, graph: _Graph) -> None:
        self.flat = np.array([k for row in graph.rows for k in row], np.intp)
        self.n_criteria = len(self.flat)
        self.blocks: list[tuple[int, int]] = []
        self.pieces: list[range] = []  # per trial: its rows in the array of piece numbers
        weights: list[int] = []
        starts: list[int] = []
        for row in graph.rows:
            size = len(row)
            self.blocks.append((len(weights), size))
            first = len(starts)
            for begin in range(0, size, _PIECE):
                width = min(_PIECE, size - begin)
                starts.append(len(weights))
                weights.extend(3 ** (width - 1 - j) for j in range(width))
            self.pieces.append(range(first, len(starts)))
        self.weights = np.array(weights, np.int64)
        self.starts = np.array(starts, np.intp)
        self.filled = [t for t, (_, size) in enumerate(self.blocks) if size]
        self.block_starts = np.array([self.blocks[t][0] for t in self.filled], np.int32)
        self.block_sizes = np.array([self.blocks[t][1] for t in self.filled], np.int32)
        # the slots that decide on one shared reading, by node kind: decided together
        groups: dict[tuple[int, type], list[int]] = {}
        for i, slot in enumerate(graph.slots):
            if slot.reading is not None:
                groups.setdefault((slot.reading, type(slot.node)), []).append(i)
        self.sharing = {i: group for group in groups.values() for i in group}
        # for the attrition: per row the distance from the end of its block (so that the
        # largest marked one is the first marked)
        self.reverse = np.array([size - j for _, size in self.blocks for j in range(size)], np.int32)


def _layout(graph: _Graph) -> _Layout:
    if graph.layout is None:
        graph.layout = _Layout(graph)
    layout: _Layout = graph.layout
    return layout


def _passes(graph: _Graph, layout: _Layout, chunk: Chunk) -> Codes:
    """Pass codes (rows: every criterion of every trial, in order; columns: patients)."""
    cols: list[Codes | None] = [None] * len(graph.slots)
    for i, slot in enumerate(graph.slots):
        if cols[i] is not None:  # decided with the others of its reading
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


_POLARITY = {
    e: np.array([code(polarity(e, value_of(c))) for c in (FALSE, UNKNOWN, TRUE)], np.uint8)
    for e in (False, True)
}


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
    fails, unknowns = passes == FALSE, passes == UNKNOWN
    numbers = np.empty((len(layout.starts), n), np.int64)
    for p in range(0, len(layout.starts), _ROWS_AT_ONCE):  # a slice of rows at a time
        q = min(p + _ROWS_AT_ONCE, len(layout.starts))
        top, bottom = layout.starts[p], (layout.starts[q] if q < len(layout.starts) else len(layout.weights))
        numbers[p:q] = np.add.reduceat(
            np.multiply(passes[top:bottom], layout.weights[top:bottom, None], dtype=np.int64),
            layout.starts[p:q] - top,
            axis=0,
        )
    keys = np.empty((len(layout.filled), n), np.int64)
    for k, t in enumerate(layout.filled):
        keys[k] = _key(numbers[layout.pieces[t].start : layout.pieces[t].stop])
    decoded: list[tuple[list[TrialStatus], _Ints]] = []
    for first in range(0, len(layout.filled), _ROWS_AT_ONCE):
        decoded.extend(
            _decoded(layout, keys, fails, unknowns, first, min(first + _ROWS_AT_ONCE, len(layout.filled)))
        )
    patterns: list[list[TrialStatus]] = [[(verdict([]), [], [])] for _ in layout.blocks]
    which: list[_Ints] = [np.zeros(n, np.int64) for _ in layout.blocks]
    for t, (pats, inverse) in zip(layout.filled, decoded, strict=True):
        patterns[t], which[t] = pats, inverse
    return ChunkStatuses(n, patterns, which, _attrition(layout, fails, unknowns))


# criteria of a trial in one base-3 number (3 ** 39 < 2 ** 63)
_PIECE = 39
# trials whose patterns are found and decoded together (bounds the arrays of one pass)
_ROWS_AT_ONCE = 64


def _key(pieces: _Ints) -> _Ints:
    """One number per patient, equal where the patients' statuses are: the trial's one piece
    number, or its pieces' numbers ranked and combined (ranks are below the chunk's size)."""
    key: _Ints = pieces[0]
    for piece in pieces[1:]:
        _, rank = np.unique(key, return_inverse=True)
        _, other = np.unique(piece, return_inverse=True)
        key = rank.reshape(-1).astype(np.int64) * len(key) + other.reshape(-1)
    return key


def _decoded(
    layout: _Layout,
    keys: _Ints,
    fails: npt.NDArray[np.bool_],
    unknowns: npt.NDArray[np.bool_],
    begin: int,
    end: int,
) -> list[tuple[list[TrialStatus], _Ints]]:
    """For the trials of rows ``begin:end`` of ``keys``: their distinct patterns (keys sorted in
    each row; a pattern begins where the key changes), decoded together from the criteria of
    one patient that has each, and which pattern each patient has."""
    block = keys[begin:end]
    rows, n = block.shape
    order = np.argsort(block, axis=1, kind="stable")
    ranked = np.take_along_axis(block, order, axis=1)
    new = np.ones((rows, n), np.bool_)
    new[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    inverse = np.empty((rows, n), np.int64)
    np.put_along_axis(inverse, order, np.cumsum(new, axis=1) - 1, axis=1)
    r_u, j_u = np.nonzero(new)  # the distinct patterns, row by row
    holder = order[r_u, j_u]  # a patient that has each
    sizes = layout.block_sizes[begin + r_u]
    owner = np.repeat(np.arange(len(r_u), dtype=np.int32), sizes)
    local = np.arange(len(owner), dtype=np.int32) - np.repeat(
        (np.cumsum(sizes) - sizes).astype(np.int32), sizes
    )
    rows_at = layout.block_starts[begin + r_u][owner] + local
    at = holder[owner]
    fail_at = _split(local, owner, fails[rows_at, at], len(r_u))
    unknown_at = _split(local, owner, unknowns[rows_at, at], len(r_u))
    pats = [(_VERDICT[bool(f), bool(u)], f, u) for f, u in zip(fail_at, unknown_at, strict=True)]
    out: list[tuple[list[TrialStatus], _Ints]] = []
    start = 0
    for r, count in enumerate(new.sum(axis=1).tolist()):
        out.append((pats[start : start + count], inverse[r]))
        start += count
    return out


def _split(
    local: npt.NDArray[np.int32], owner: npt.NDArray[np.int32], mask: npt.NDArray[np.bool_], m: int
) -> list[list[int]]:
    """Per owner (0..m-1), its ``local`` positions where ``mask`` is set, ascending."""
    flat = local[mask].tolist()
    ends = np.cumsum(np.bincount(owner[mask], minlength=m)).tolist()
    out, begin = [], 0
    for end in ends:
        out.append(flat[begin:end])
        begin = end
    return out


def _verdicts() -> dict[tuple[bool, bool], Verdict]:
    """The verdict from whether some criterion fails and whether some is unknown
    (:func:`.core.verdict`)."""
    return {
        (f, u): verdict([True, *([False] if f else []), *([None] if u else [])])
        for f in (False, True)
        for u in (False, True)
    }


_VERDICT = _verdicts()


def _attrition(
    layout: _Layout, fails: npt.NDArray[np.bool_], unknowns: npt.NDArray[np.bool_]
) -> list[Attrition]:
    """Per trial: patients; fail and unknown counts per criterion; histograms of the first
    failing and first not passing criterion (its size: none); verdict counts."""
    n = fails.shape[1]
    fail_counts = fails.sum(axis=1).tolist()
    unknown_counts = unknowns.sum(axis=1).tolist()
    starts = layout.block_starts
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
        out.append(
            (
                n,
                fail_counts[start : start + size],
                unknown_counts[start : start + size],
                np.bincount(size - ff, minlength=size + 1).tolist(),
                np.bincount(size - fo, minlength=size + 1).tolist(),
                {
                    _VERDICT[False, False]: counts[0],
                    _VERDICT[False, True]: counts[1],
                    _VERDICT[True, False]: counts[2] + counts[3],
                },
            )
        )
    return out
