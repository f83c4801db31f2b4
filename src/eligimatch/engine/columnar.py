"""How node kinds compute on the columns of a chunk (:mod:`.columns`): the array versions of
their status-only evaluations, called by the nodes' ``columns`` methods.

* nodes whose value combines their subnodes' (``all`` / ``any`` / ``not``): a table of their own
  ``combine`` over every combination of codes (:func:`combined`);
* comparisons: in :mod:`.comparisons`, from a chunk's readings (:func:`reading`), exactly where
  floats cannot tell (:func:`exactly`);
* ``any_recorded`` by :func:`.core.kleene_or` of the comparisons reported; ``recorded`` from
  presence and age; ``evidence`` from its parts, read once per concept; ``exists`` in
  :mod:`.itemcolumns`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..memo import remember
from .columns import (
    CODES,
    FALSE,
    TRUE,
    UNDATED,
    UNKNOWN,
    Chunk,
    Codes,
    Mask,
    code,
    value_of,
)

if TYPE_CHECKING:
    from ..facts import Facts
    from .chunkdata import Quantities
    from .core import Truth

__all__ = [
    "TABLE_CHILDREN",
    "answered",
    "any_recorded",
    "combine_table",
    "combined",
    "evidence",
    "exactly",
    "qualitative",
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
        if k == 0:
            return np.full(n, table[0], np.uint8)
        # the combination's place in the table: base-3 digits, first child most significant
        # (3 ** 5 places fit in a byte)
        index: npt.NDArray[np.unsignedinteger[Any]] = children[0].astype(np.uint8 if k <= 5 else np.uint16)
        for col in children[1:]:
            np.multiply(index, 3, out=index)
            np.add(index, col, out=index)
        out: Codes = table.take(index)
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
    remember(_TABLES, id(node), (node, table), _KEPT_TABLES + 1)  # graphs keep their own; for nested nodes
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
    """``evidence``: :func:`eligimatch.evidence.holds` over the chunk, its parts
    (:func:`eligimatch.evidence.parts`, on arrays: :func:`.evidencecolumns.parts`) made once
    per concept, then decided for each lab window."""

    def make() -> tuple[Mask, npt.NDArray[np.int64], Codes]:
        from .evidencecolumns import parts

        return parts(concept, chunk, rule_out)

    positive, age, otherwise = chunk.cached(("evidence", concept, rule_out), make)
    recent = age <= (UNDATED - 1 if lab_limit is None else lab_limit)
    out: Codes = np.where(positive, TRUE, np.where(recent, FALSE, otherwise)).astype(np.uint8)
    return out


def qualitative(node: Any, chunk: Chunk, limit: int | None) -> Codes:
    """A qualitative result (:class:`~.nodes.qualitative.Qualitative`): whether the result is
    one of the node's values where it is recent enough; an indeterminate one that is not among
    them, and a missing or stale one, unknown."""
    a = chunk.quantity(node.analyte.key)
    values = node.values
    undecided = "indeterminate" not in values
    out = np.full(chunk.n, UNKNOWN, np.uint8)
    out[a.rows] = [
        UNKNOWN if undecided and q.result == "indeterminate" else TRUE if q.result in values else FALSE
        for q in a.got()
    ]
    out[~a.fresh(limit)] = UNKNOWN
    return out


def recorded(chunk: Chunk, key: str, limit: int | None) -> Codes:
    """``recorded``: true where a result is present and recent enough, else unknown."""
    return np.where(chunk.quantity(key).fresh(limit), TRUE, UNKNOWN).astype(np.uint8)


def answered(chunk: Chunk, status: Callable[[Facts], Truth]) -> Codes:
    """A ``review`` node's codes: unknown for the patients without attestations (nothing can
    answer it), ``status`` for the others."""
    out = np.full(chunk.n, UNKNOWN, np.uint8)
    facts = chunk.facts
    for i in chunk.attested():
        out[i] = CODES[status(facts[i])]
    return out
