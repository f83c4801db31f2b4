"""How node kinds compute on the columns of a chunk (:mod:`.columns`): the array versions of
their status-only evaluations, called by the nodes' ``columns`` methods.

* nodes whose value combines their subnodes' (``all`` / ``any`` / ``not``): a table of their own
  ``combine`` over every combination of codes (:func:`combined`);
* comparisons: in :mod:`.comparisons`, from a chunk's readings (:func:`reading`), exactly where
  floats cannot tell (:func:`exactly`);
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
    "evidence",
    "exactly",
    "exists",
    "item_by_item",
    "reading",
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


def exactly(node: Any, a: Quantities, rows: Mask, out: Codes) -> Codes:
    """``node.holds`` of the readings of ``rows`` into ``out``."""
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
