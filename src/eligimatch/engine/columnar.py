"""How node kinds compute on the columns of a chunk (:mod:`.columns`): the array versions of
their status-only evaluations, called by the nodes' ``columns`` methods.

* nodes whose value combines their subnodes' (``all`` / ``any`` / ``not``): a table of their own
  ``combine`` over every combination of codes (:func:`combined`);
* comparisons: float64 where both sides are clearly apart (more than
  :data:`~.nodes.compare.FLOAT_MARGIN` relative), for a band of plausible ULNs at both ends
  (deciding where they agree, unknown where they do not); exactly, by the node's own ``holds``,
  for what is left: values within the margin, censored values, no float form (:func:`compare`);
* ``any_recorded`` by :func:`.core.kleene_or` of the comparisons reported; ``recorded`` from
  presence and age; ``evidence`` from its parts, read once per concept; ``exists`` over one
  flat list of the chunk's items: each ``where`` test decided once per chunk (a field test once
  per distinct value of its field; ``item_columns`` of the test) and shared by every ``exists``
  that has it, Kleene-AND the item's window, Kleene-OR over a patient's items (on codes, the
  minimum and the maximum).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .columns import (
    CODES,
    FALSE,
    TRUE,
    UNDATED,
    UNKNOWN,
    Chunk,
    Codes,
    Items,
    Mask,
    Quantities,
    code,
    value_of,
)

__all__ = [
    "TABLE_CHILDREN",
    "any_of",
    "any_recorded",
    "by_field_value",
    "combine_table",
    "combined",
    "compare",
    "evidence",
    "exists",
    "item_by_item",
    "recorded",
]

# combine tables are made for up to this many children (3 ** 6 = 729 entries)
TABLE_CHILDREN = 6
_TABLES: dict[int, tuple[Any, Codes]] = {}  # id(node) → (node, its table)
_KEPT_TABLES = 1 << 14


def combined(node: Any, children: Sequence[Codes], n: int, table: Codes | None = None) -> Codes:
    """The column of a node whose value is ``node.combine`` of its children's: looked up in a
    table of ``combine`` over every combination of the children's codes (made once per node);
    for more than :data:`TABLE_CHILDREN` children, ``combine`` is called once per distinct
    combination in the chunk."""
    k = len(children)
    if k <= TABLE_CHILDREN:
        if table is None:
            table = combine_table(node, k)
        index = np.zeros(n, np.intp)
        for col in children:
            index *= 3
            index += col
        out: Codes = table[index]
        return out
    seen, inverse = np.unique(np.stack(children), axis=1, return_inverse=True)
    values = np.fromiter(
        (code(node.combine(value_of(int(c)) for c in seen[:, j])) for j in range(seen.shape[1])),
        np.uint8,
        seen.shape[1],
    )
    got: Codes = values[inverse.reshape(-1)]
    return got


def combine_table(node: Any, k: int) -> Codes:
    """``node.combine`` over every combination of ``k`` codes, first child most significant."""
    known = _TABLES.get(id(node))
    if known is not None and known[0] is node:
        return known[1]
    import itertools

    table = np.fromiter(
        (
            code(node.combine(value_of(c) for c in combo))
            for combo in itertools.product((FALSE, UNKNOWN, TRUE), repeat=k)
        ),
        np.uint8,
        3**k,
    )
    if len(_TABLES) > _KEPT_TABLES:  # graphs keep their own; these are for nested nodes
        _TABLES.clear()
    _TABLES[id(node)] = (node, table)
    return table


def reading(chunk: Chunk, key: str, limit: int | None, mode: str) -> Mask:
    """Where a comparison of mode ``mode`` has a reading (:meth:`~.nodes.compare.Compare.
    reading`): present, recent enough, and a graded result, a number, or a number and a positive
    ULN (or a band of plausible ULNs) for a × ULN comparison."""

    def make() -> Mask:
        a = chunk.quantity(key)
        need = a.has_result if mode == "ordinal" else a.has_value & a.uln_ok if mode == "uln" else a.has_value
        got: Mask = a.fresh(limit) & need
        return got

    got: Mask = chunk.cached(("reading", key, limit, mode), make)
    return got


def compare(nodes: Sequence[Any], chunk: Chunk, ctxs: Sequence[Any]) -> Codes:
    """Comparisons (:class:`~.nodes.compare.Compare`) over the chunk, one row each, ``nodes[k]``
    in the recency window of its context ``ctxs[k]``, as their ``decide``: unknown where there
    is no reading; as floats where both sides are clearly apart (for a band of plausible ULNs:
    at both ends, deciding where they agree); else exactly.  The comparisons of one quantity
    and mode are decided together, as one array of thresholds against one of values."""
    out = np.empty((len(nodes), chunk.n), np.uint8)
    parts, limits = _plan(nodes, ctxs)
    for part in parts:
        a = chunk.quantity(part.key)
        if part.mode == "ordinal":
            for k in part.rows.tolist():
                out[k] = _graded(nodes[k], a, reading(chunk, part.key, limits[k], part.mode))
        elif part.bound is None:  # no float form: exactly
            for k in part.rows.tolist():
                readable = reading(chunk, part.key, limits[k], part.mode)
                out[k] = _exactly(nodes[k], a, readable, np.full(chunk.n, UNKNOWN, np.uint8))
        else:
            out[part.rows] = _floats(part, [nodes[k] for k in part.rows.tolist()], a, chunk)
    return out


class _Part:
    """Comparisons of one quantity and mode decided alike: their rows, and for the float path
    their thresholds, operators and windows (one reading per distinct window)."""

    def __init__(self, key: str, mode: str, rows: list[int], nodes: Sequence[Any], limits: Sequence[Any]):
        self.key, self.mode = key, mode
        self.rows = np.array(rows, np.intp)
        self.bound: npt.NDArray[np.float64] | None = None
        if mode == "ordinal" or nodes[rows[0]]._bound is None:
            return
        self.bound = np.array([nodes[k]._bound for k in rows], np.float64)[:, None]
        ops = [nodes[k].op for k in rows]
        self.below = np.array([op in ("<", "<=") for op in ops], np.bool_)[:, None]
        self.equal = [(r, op == "!=") for r, op in enumerate(ops) if op in ("==", "!=")]
        windows: dict[int | None, int] = {}
        self.which = np.array([windows.setdefault(limits[k], len(windows)) for k in rows], np.intp)
        self.windows = list(windows)


_PLANS: dict[tuple[int, int], tuple[Sequence[Any], Sequence[Any], list[_Part], list[int | None]]] = {}
_KEPT_PLANS = 1 << 10


def _plan(nodes: Sequence[Any], ctxs: Sequence[Any]) -> tuple[list[_Part], list[int | None]]:
    """The comparisons cut into parts, and their windows (made once per tuple of nodes and
    contexts: those of a graph)."""
    known = _PLANS.get((id(nodes), id(ctxs)))
    if known is not None and known[0] is nodes and known[1] is ctxs:
        return known[2], known[3]
    limits = [node.limit(ctx) for node, ctx in zip(nodes, ctxs, strict=True)]
    groups: dict[tuple[str, str, bool], list[int]] = {}
    for k, node in enumerate(nodes):
        mode = node.mode()
        groups.setdefault((node.analyte.key, mode, mode != "ordinal" and node._bound is None), []).append(k)
    parts = [_Part(key, mode, rows, nodes, limits) for (key, mode, _), rows in groups.items()]
    if isinstance(nodes, tuple) and isinstance(ctxs, tuple):
        if len(_PLANS) > _KEPT_PLANS:
            _PLANS.clear()
        _PLANS[id(nodes), id(ctxs)] = (nodes, ctxs, parts, limits)
    return parts, limits


def _graded(node: Any, a: Quantities, readable: Mask) -> Codes:
    """A graded comparison: its place on the scale against the threshold's."""
    from .nodes.base import OPS

    scale = node.analyte.scale or node.analyte.values
    holds = np.asarray(OPS[node.op](a.ranks, scale.index(node.ordinal)))
    got = np.where(readable, np.where(holds, TRUE, FALSE), UNKNOWN).astype(np.uint8)
    off_scale = readable & (a.ranks < 0)  # never, for a checked profile
    return _exactly(node, a, off_scale, got) if off_scale.any() else got


# codes by (clearly apart and readable) + (and holds)
_DECIDED = np.array([UNKNOWN, FALSE, TRUE], np.uint8)


def _floats(part: _Part, nodes: Sequence[Any], a: Quantities, chunk: Chunk) -> Codes:
    """Comparisons with a float threshold, one row each, where they are readable: as floats
    where clearly apart, else exactly."""
    assert part.bound is not None
    rows = np.stack([reading(chunk, a.key, limit, part.mode) for limit in part.windows])
    readable = rows if len(part.windows) == 1 else rows[part.which]
    x = a.float_value[None, :]
    bound = part.bound
    if part.mode == "uln":
        clear, holds = _apart(part, x, bound * a.float_uln[None, :])
        low_clear, low = _apart(part, x, bound * a.band_low[None, :])
        high_clear, high = _apart(part, x, bound * a.band_high[None, :])
        banded = low_clear & high_clear
        clear |= banded & (low == high)
        holds |= banded & low
        clear &= readable
        # where the plausible ULNs disagree: unknown, without an exact look
        exact = readable > (clear | (banded & (low != high)))
    else:
        clear, holds = _apart(part, x, bound)
        clear &= readable
        exact = readable > clear
    holds &= clear
    got: Codes = _DECIDED[clear.view(np.uint8) + holds.view(np.uint8)]
    if exact.any():
        facts = a.facts
        for r, i in zip(*(v.tolist() for v in np.nonzero(exact)), strict=True):
            q = facts[i]
            assert q is not None
            got[r, i] = CODES[nodes[r].holds(q)]
    return got


def _apart(part: _Part, x: npt.NDArray[np.float64], y: Any) -> tuple[Mask, Mask]:
    """Where ``x`` is clearly apart from ``y`` (more than the float margin, relative, and three
    times that from ``y`` alone, so that float rounding cannot matter), and there whether ``x op
    y``: where ``x`` is below ``y`` for ``<`` and ``<=``, above it for ``>`` and ``>=``."""
    from .nodes.compare import FLOAT_MARGIN

    with np.errstate(invalid="ignore", over="ignore"):
        spread = np.abs(y) * (3 * FLOAT_MARGIN)
        below, above = x < y - spread, x > y + spread
    clear = below | above
    holds = np.where(part.below, below, above)
    for r, differ in part.equal:
        holds[r] = clear[r] if differ else False
    return clear, holds


def _exactly(node: Any, a: Quantities, rows: Mask, out: Codes) -> Codes:
    for i in np.flatnonzero(rows).tolist():
        q = a.facts[i]
        assert q is not None
        out[i] = CODES[node.holds(q)]
    return out


def any_recorded(node: Any, chunk: Chunk, ctx: Any) -> Codes:
    """``any_recorded``: Kleene OR (:func:`.core.kleene_or`) of the comparisons whose quantity
    is reported; where none is, ``otherwise`` or unknown."""
    out = np.full(chunk.n, FALSE, np.uint8)  # no value yet: OR's neutral element
    anywhere = np.zeros(chunk.n, np.bool_)
    for c in node.children:
        here = chunk.reported(c.analyte.key)
        anywhere |= here
        out = _OR[out, np.where(here, c.columns(chunk, ctx), FALSE)]
    if node.otherwise is None:
        return np.where(anywhere, out, UNKNOWN).astype(np.uint8)
    got: Codes = np.where(anywhere, out, node.otherwise.columns(chunk, ctx)).astype(np.uint8)
    return got


def _or_table() -> Codes:
    from .core import kleene_or

    return np.array(
        [[code(kleene_or([value_of(a), value_of(b)])) for b in range(3)] for a in range(3)], np.uint8
    )


_OR = _or_table()


def evidence(concept: Any, rule_out: str, chunk: Chunk, lab_limit: int | None) -> Codes:
    """``evidence``: :func:`eligimatch.evidence.holds` over the chunk, its parts read once per
    concept (:func:`eligimatch.evidence.parts`), then decided for each lab window."""

    def make() -> tuple[Mask, npt.NDArray[np.int64], Codes]:
        from ..evidence import parts

        got = [parts(concept, f, rule_out) for f in chunk.facts]
        return (
            np.fromiter((p for p, _, _ in got), np.bool_, chunk.n),
            np.fromiter((UNDATED if a is None else a for _, a, _ in got), np.int64, chunk.n),
            np.fromiter((CODES[v] for _, _, v in got), np.uint8, chunk.n),
        )

    positive, age, otherwise = chunk.cached(("evidence", concept, rule_out), make)
    recent = age <= (UNDATED - 1 if lab_limit is None else lab_limit)
    out: Codes = np.where(positive, TRUE, np.where(recent, FALSE, otherwise)).astype(np.uint8)
    return out


def recorded(chunk: Chunk, key: str, limit: int | None) -> Codes:
    """``recorded``: true where a result is present and recent enough, else unknown."""
    return np.where(chunk.quantity(key).fresh(limit), TRUE, UNKNOWN).astype(np.uint8)


def exists(node: Any, chunk: Chunk) -> Codes:
    """``exists`` over the chunk: each item's ``where`` tests (each test decided once per chunk,
    for a field test once per distinct value of its field), Kleene-AND its window, Kleene-OR
    over each patient's items."""
    c = chunk.collection(node.collection)
    match = _window_codes(node, c, chunk)
    for test in node.where:
        match = np.minimum(match, _test_codes(chunk, c, node.collection, test))
    out = np.where(c.recorded, FALSE, UNKNOWN).astype(np.uint8)
    if len(match):  # Kleene OR over each patient's items: the maximum of its segment
        out[c.holders] = np.maximum.reduceat(match, c.firsts)
    return out


def _test_codes(chunk: Chunk, c: Items, collection: str, test: Any) -> Codes:
    """One ``where`` entry over every item (its ``item_columns``), once per chunk."""
    try:
        key: Hashable = ("where", collection, test)
        hash(key)
    except TypeError:
        key = ("where", collection, id(test))
    got: Codes = chunk.cached(key, lambda: test.item_columns(chunk, c))
    return got


def by_field_value(items: Items, name: str, test: Any) -> Codes:
    """``test(value)`` of one item field over every item: once per distinct value."""
    index, values = items.field(name)
    table = np.fromiter((CODES[test(v)] for v in values), np.uint8, len(values))
    got: Codes = table[index]
    return got


def item_by_item(chunk: Chunk, items: Items, test_item: Any) -> Codes:
    """``test_item(item, facts)`` over every item, item by item."""
    facts = chunk.facts
    return np.fromiter(
        (CODES[test_item(item, facts[r])] for item, r in zip(items.items, items.owner.tolist(), strict=True)),
        np.uint8,
        len(items.items),
    )


def any_of(chunk: Chunk, items: Items, alternatives: Sequence[Sequence[Any]]) -> Codes:
    """Kleene OR of Kleene ANDs (the maximum of minima) of where tests over every item."""
    out = np.full(len(items.items), FALSE, np.uint8)
    for alternative in alternatives:
        every = np.full(len(items.items), TRUE, np.uint8)
        for sub in alternative:
            every = np.minimum(every, sub.item_columns(chunk, items))
        out = np.maximum(out, every)
    return out


def _window_codes(node: Any, c: Items, chunk: Chunk) -> Codes:
    """Per item, :meth:`~.nodes.exists_node.Exists._in_window` as codes."""
    m = len(c.items)
    if node.current:
        as_of = chunk.as_of[c.owner]
        return np.where(c.has_end, np.where(c.end >= as_of, TRUE, FALSE), c.ongoing).astype(np.uint8)
    if node.window is None:
        return np.full(m, TRUE, np.uint8)
    start = chunk.window_start(node.window)[c.owner]
    out = np.full(m, UNKNOWN, np.uint8)
    out[c.has_start & (c.start > start)] = TRUE
    out[c.has_end] = np.where(c.end[c.has_end] > start[c.has_end], TRUE, FALSE)
    out[~c.has_end & (c.ongoing == TRUE)] = TRUE
    return out
