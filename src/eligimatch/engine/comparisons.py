"""Comparisons (:class:`~.nodes.compare.Compare`) over a chunk of patients at once (the columnar
runner, :mod:`.columnar`), as their ``decide``: unknown where there is no reading; as floats where
both sides are clearly apart; else exactly, by the node's own ``holds``.

All the comparisons of a graph come in one call, cut once per graph into *parts* of one
quantity and mode.  A part with float thresholds is one array of codes (comparisons × patients):

* each patient's value as a float, NaN where the chunk has no float for it (a censored value, a
  number too large for floats, no reading in the comparison's window); for ``k × ULN`` the value
  divided by the ULN, or by either end of the band of plausible ULNs when the lab gave no range
  (decided where both ends agree, unknown where they do not, exactly where either is close);
* a value is clearly below or above a threshold when it lies outside three float margins
  (:data:`~.nodes.compare.FLOAT_MARGIN`, relative) of it, wider than any float rounding of the
  value, the ULN and their quotient: two comparisons of arrays per part;
* what is left — values inside the margins (found by sorting the values, not by looking at
  every pair) and readable values without a float — is decided exactly, pair by pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..memo import remember
from .chunkdata import Quantities
from .columnar import exactly, reading
from .columns import CODES, FALSE, TRUE, UNKNOWN, Chunk, Codes, Mask

__all__ = ["compare"]

_Floats = npt.NDArray[np.float64]
# how each operator reads "clearly below" / "clearly above"
_KINDS = {"<": "lt", "<=": "lt", ">": "gt", ">=": "gt", "==": "eq", "!=": "ne"}


def compare(nodes: Sequence[Any], chunk: Chunk, ctxs: Sequence[Any]) -> Codes:
    """The codes of ``nodes`` (one row each) over the chunk, ``nodes[k]`` in the recency
    window of its context ``ctxs[k]``."""
    out = np.empty((len(nodes), chunk.n), np.uint8)
    parts, limits = _plan(nodes, ctxs)
    for part in parts:
        a = chunk.quantity(part.key)
        if part.mode == "ordinal":
            for k in part.rows.tolist():
                out[k] = _graded(nodes[k], a, reading(chunk, part.key, limits[k], part.mode))
        elif not part.floats:  # no float form: exactly
            for k in part.rows.tolist():
                readable = reading(chunk, part.key, limits[k], part.mode)
                out[k] = exactly(nodes[k], a, readable, np.full(chunk.n, UNKNOWN, np.uint8))
        else:
            out[part.rows] = _floats(part, a, chunk)
    return out


class _Part:
    """Comparisons of one quantity and mode decided alike: their rows in the call.  For the
    float path, sorted by window and operator kind: the nodes, the rows of each (window, kind)
    block, and each threshold's margins (``low``, ``high``)."""

    def __init__(self, key: str, mode: str, rows: list[int], nodes: Sequence[Any], limits: Sequence[Any]):
        self.key, self.mode = key, mode
        self.floats = mode != "ordinal" and nodes[rows[0]]._bound is not None
        self.rows = np.array(rows, np.intp)
        if not self.floats:
            return
        from .nodes.compare import FLOAT_MARGIN

        windows: dict[int | None, int] = {}
        for k in rows:
            windows.setdefault(limits[k], len(windows))
        self.windows = list(windows)
        rows = sorted(rows, key=lambda k: (windows[limits[k]], _KINDS[nodes[k].op]))
        self.rows = np.array(rows, np.intp)
        self.nodes = [nodes[k] for k in rows]
        self.blocks: list[tuple[int, str, int, int]] = []  # (window, kind, begin, end)
        for r, k in enumerate(rows):
            w, kind = windows[limits[k]], _KINDS[nodes[k].op]
            if self.blocks and self.blocks[-1][:2] == (w, kind):
                self.blocks[-1] = (w, kind, self.blocks[-1][2], r + 1)
            else:
                self.blocks.append((w, kind, r, r + 1))
        # per window: its blocks, and its rows (the blocks of a window are next to each other)
        self.by_window: list[list[tuple[str, int, int]]] = [[] for _ in self.windows]
        for w, kind, begin, end in self.blocks:
            self.by_window[w].append((kind, begin, end))
        self.window_rows = [(blocks[0][1], blocks[-1][2]) for blocks in self.by_window]
        bound = np.array([node._bound for node in self.nodes], np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            spread = np.abs(bound) * (3 * FLOAT_MARGIN)
        self.low, self.high = bound - spread, bound + spread


_PLANS: dict[tuple[int, int], tuple[Sequence[Any], Sequence[Any], list[_Part], list[int | None]]] = {}
_KEPT_PLANS = 1 << 10


def _plan(nodes: Sequence[Any], ctxs: Sequence[Any]) -> tuple[list[_Part], list[int | None]]:
    """The comparisons cut into parts, and their windows (made once per tuple of nodes and
    contexts: those of a graph)."""
    # by the tuples of a graph, or by a lone comparison and its context
    one = len(nodes) == 1 and not isinstance(nodes, tuple)
    key = (id(nodes[0]), id(ctxs[0])) if one else (id(nodes), id(ctxs))
    known = _PLANS.get(key)
    if known is not None and (
        (known[0][0] is nodes[0] and known[1][0] is ctxs[0])
        if one
        else (known[0] is nodes and known[1] is ctxs)
    ):
        return known[2], known[3]
    limits = [node.limit(ctx) for node, ctx in zip(nodes, ctxs, strict=True)]
    groups: dict[tuple[str, str, bool], list[int]] = {}
    for k, node in enumerate(nodes):
        mode = node.mode()
        groups.setdefault((node.analyte.key, mode, mode != "ordinal" and node._bound is None), []).append(k)
    parts = [_Part(key, mode, rows, nodes, limits) for (key, mode, _), rows in groups.items()]
    if one or (isinstance(nodes, tuple) and isinstance(ctxs, tuple)):
        remember(_PLANS, key, (tuple(nodes), tuple(ctxs), parts, limits), _KEPT_PLANS + 1)
    return parts, limits


def _graded(node: Any, a: Quantities, readable: Mask) -> Codes:
    """A graded comparison: its place on the scale against the threshold's."""
    from .nodes.base import OPS

    scale = node.analyte.scale or node.analyte.values
    holds = np.asarray(OPS[node.op](a.ranks, scale.index(node.ordinal)))
    got = np.where(readable, np.where(holds, TRUE, FALSE), UNKNOWN).astype(np.uint8)
    off_scale = readable & (a.ranks < 0)  # never, for a checked profile
    return exactly(node, a, off_scale, got) if off_scale.any() else got


def _floats(part: _Part, a: Quantities, chunk: Chunk) -> Codes:
    """A part's comparisons with float thresholds (rows in the part's order)."""
    readable = [reading(chunk, a.key, limit, part.mode) for limit in part.windows]
    x = a.float_value
    if part.mode == "uln":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            own = a.float_uln > 0
            low = np.where(own, x / a.float_uln, np.where(a.band_low > 0, x / a.band_low, np.nan))
            high = np.where(own, low, np.where(a.band_high > 0, x / a.band_high, np.nan))
        got, near = _decided(part, low, readable)
        other, near_high = _decided(part, high, readable)
        # the plausible ULNs disagree (both clearly apart, not alike): unknown, no exact look
        got[got != other] = UNKNOWN
        near |= near_high
        # an equality may hold at one plausible ULN between the band's ends: decided exactly
        banded = ~own & (a.band_low > 0)
        for w, kind, begin, end in part.blocks:
            if kind in ("eq", "ne"):
                patients = np.flatnonzero(readable[w] & banded).tolist()
                near.update((r, i) for r in range(begin, end) for i in patients)
    else:
        got, near = _decided(part, x, readable)
    facts = a.facts
    for r, i in sorted(near):
        q = facts[i]
        assert q is not None
        got[r, i] = CODES[part.nodes[r].holds(q)]
    return got


def _decided(part: _Part, x: _Floats, readable: list[Mask]) -> tuple[Codes, set[tuple[int, int]]]:
    """Codes where ``x`` is clearly apart from each threshold (else unknown), and the readable
    pairs (row, patient) left to decide exactly: ``x`` within the margins, or NaN."""
    got = np.empty((len(part.nodes), len(x)), np.uint8)
    near: set[tuple[int, int]] = set()
    nan = np.isnan(x)
    finite = np.flatnonzero(~nan)
    ordered = finite[np.argsort(x[finite], kind="stable")]  # the values in order, once
    for w, mask in enumerate(readable):
        xw = np.where(mask, x, np.nan)
        for kind, begin, end in part.by_window[w]:
            _block(got[begin:end], kind, xw, part.low[begin:end, None], part.high[begin:end, None])
        # readable pairs without a clear answer: NaN values, and values inside the margins
        top, bottom = part.window_rows[w]
        blank = np.flatnonzero(mask & nan).tolist()
        if blank:
            near.update((r, i) for r in range(top, bottom) for i in blank)
        order = ordered[mask[ordered]]
        xs = x[order]
        first = np.searchsorted(xs, part.low[top:bottom], "left")
        last = np.searchsorted(xs, part.high[top:bottom], "right")
        for r in np.flatnonzero(last > first).tolist():
            near.update((top + r, i) for i in order[first[r] : last[r]].tolist())
    return got, near


def _block(out: Codes, kind: str, x: _Floats, low: _Floats, high: _Floats) -> None:
    """Codes of one block of comparisons of one operator kind and window: TRUE, FALSE where
    ``x`` is clearly on one side, UNKNOWN inside the margins and where ``x`` is NaN."""
    with np.errstate(invalid="ignore"):
        below, above = x < low, x > high
    if kind == "lt":
        np.subtract(below.view(np.uint8), above.view(np.uint8), out=out)
        out += 1
    elif kind == "gt":
        np.subtract(above.view(np.uint8), below.view(np.uint8), out=out)
        out += 1
    else:  # == and != are decided only where the two are clearly apart: false, true
        clear = (below | above).view(np.uint8)
        if kind == "eq":
            np.subtract(UNKNOWN, clear, out=out)
        else:
            np.add(UNKNOWN, clear, out=out)
