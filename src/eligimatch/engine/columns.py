"""The facts of a chunk of patients as columns, for the graph runner's columnar path.

A batch screens patients in chunks.  Instead of evaluating every node once per patient, the
graph runner (:mod:`.graph`) asks each node for its values over the whole chunk at once:
``node.columns(chunk, ctx)`` gives an array of truth *codes*, one per patient.  Nodes that can
compute on arrays (comparisons, ``recorded``, ``exists``) do so from the columns below, built once
per chunk on first use; nodes whose value depends on one fact value (``fact``, ``histology``)
decide once per distinct value in the chunk (:meth:`Chunk.by_value`); any other node is decided
patient by patient by its status-only ``status`` (:meth:`Chunk.rows`).

Truth codes: :data:`FALSE` 0 < :data:`UNKNOWN` 1 < :data:`TRUE` 2, so that on a set of values
Kleene's AND is the minimum and OR the maximum (``tests/test_columns.py`` checks this against
:func:`.core.junction` on every combination).  Logic nodes do not rely on it: their columns
come from their own ``combine``, once per distinct combination of their children's codes.

Numbers are compared as float64 only where the two sides are clearly apart (more than
:data:`~.nodes.quantity.FLOAT_MARGIN` relative); a value within that margin of its threshold,
censored, without a float form, or with only a band of plausible ULNs is decided exactly by the
node's own ``holds``, as the scalar runner does.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .core import Truth

if TYPE_CHECKING:
    from ..dates import Duration
    from ..facts import Facts
    from ..items import Item
    from ..quantities import QuantityFact

__all__ = ["FALSE", "TRUE", "UNKNOWN", "Chunk", "Codes", "code", "value_of"]

Codes = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.bool_]
FALSE, UNKNOWN, TRUE = 0, 1, 2
_CODE: dict[Truth, int] = {False: FALSE, None: UNKNOWN, True: TRUE}
_VALUE: tuple[Truth, Truth, Truth] = (False, None, True)
_UNDATED = np.iinfo(np.int64).max // 4       # the age of an undated fact: stale for any limit
# window starts (Duration.before) already computed, by duration and as-of date
_WINDOW_STARTS: dict[tuple[Duration, int], int] = {}


def code(value: Truth) -> int:
    return _CODE[value]


def value_of(c: int) -> Truth:
    return _VALUE[c]


class Quantities:
    """One quantity over the chunk: each patient's fact and what its readings depend on."""

    __slots__ = ("age", "band_high", "band_low", "facts", "float_uln", "float_value",
                 "has_result", "has_value", "present", "ranks", "uln_ok")

    def __init__(self, chunk: Chunk, key: str) -> None:
        qs: list[QuantityFact | None] = [f.quantities.get(key) for f in chunk.facts]
        n = len(qs)
        self.facts = qs
        self.present = np.fromiter((q is not None for q in qs), np.bool_, n)
        dated = [q.date.toordinal() if q is not None and q.date is not None else None for q in qs]
        when = np.fromiter((0 if d is None else d for d in dated), np.int64, n)
        undated = np.fromiter((d is None for d in dated), np.bool_, n)
        self.age = np.where(undated, _UNDATED, chunk.as_of - when)
        self.has_value = np.fromiter((q is not None and q.value is not None for q in qs),
                                     np.bool_, n)
        self.has_result = np.fromiter((q is not None and q.result is not None for q in qs),
                                      np.bool_, n)
        # what Compare.reading asks of a x ULN comparison: a positive ULN, or a band of them
        self.uln_ok = np.fromiter((q is not None and (q.uln > 0 if q.uln is not None
                                                      else q.uln_band is not None) for q in qs),
                                  np.bool_, n)
        self.float_value = np.fromiter((_float(q.value) if q is not None and q.comparator is None
                                        else np.nan for q in qs), np.float64, n)
        self.float_uln = np.fromiter((_float(q.uln) if q is not None else np.nan for q in qs),
                                     np.float64, n)
        # the plausible ULNs of a result without the lab's range (NaN: a range, or none)
        self.band_low, self.band_high = (np.fromiter(
            (_float(q.uln_band[end]) if q is not None and q.uln is None and q.uln_band else np.nan
             for q in qs), np.float64, n) for end in (0, 1))
        scale = chunk.analyte(key).scale or chunk.analyte(key).values
        # a graded result's place on its scale (-1: none)
        self.ranks = np.fromiter((scale.index(q.result) if q is not None and q.result in scale
                                  else -1 for q in qs), np.int64, n)

    def fresh(self, limit: int | None) -> Mask:
        """Present and not stale (:func:`.core.stale`: undated, or older than ``limit``)."""
        if limit is None:
            return self.present
        return self.present & (self.age <= limit)


def _float(x: Any) -> float:
    if x is None:
        return float("nan")
    try:
        return float(x)
    except OverflowError:
        return float("nan")


class Items:
    """One collection over the chunk: every item of every patient, in one flat list."""

    __slots__ = ("end", "has_end", "has_start", "items", "ongoing", "owner", "recorded",
                 "start")

    def __init__(self, chunk: Chunk, name: str) -> None:
        lists = [f.collections.get(name) for f in chunk.facts]
        n = len(lists)
        self.recorded = np.fromiter((x is not None for x in lists), np.bool_, n)
        items: list[Item] = []
        owner: list[int] = []
        for row, got in enumerate(lists):
            if got:
                items.extend(got)
                owner.extend([row] * len(got))
        m = len(items)
        self.items = items
        self.owner = np.array(owner, dtype=np.intp)
        self.has_start = np.fromiter((i.start is not None for i in items), np.bool_, m)
        self.has_end = np.fromiter((i.end is not None for i in items), np.bool_, m)
        self.start = np.fromiter((_ordinal(i.start) for i in items), np.int64, m)
        self.end = np.fromiter((_ordinal(i.end) for i in items), np.int64, m)
        self.ongoing = np.fromiter((code(i.ongoing) for i in items), np.uint8, m)


def _ordinal(d: date | None) -> int:
    return 0 if d is None else d.toordinal()


class Chunk:
    """The facts of a chunk of patients, and the columns built from them on first use."""

    def __init__(self, facts: Sequence[Facts]) -> None:
        self.facts = tuple(facts)
        self.n = len(self.facts)
        self.as_of = np.fromiter((f.as_of.toordinal() for f in self.facts), np.int64, self.n)
        self._cache: dict[Hashable, Any] = {}

    def cached(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """What ``make`` gives, made once per chunk for ``key`` (readings shared by nodes)."""
        try:
            return self._cache[key]
        except KeyError:
            got = self._cache[key] = make()
            return got

    def analyte(self, key: str) -> Any:
        from ..units import analytes

        return analytes()[key]

    def quantity(self, key: str) -> Quantities:
        q: Quantities = self.cached(("quantity", key), lambda: Quantities(self, key))
        return q

    def collection(self, name: str) -> Items:
        c: Items = self.cached(("collection", name), lambda: Items(self, name))
        return c

    def reported(self, key: str) -> Mask:
        """Where the quantity has a result, or a reason it has none (conflicting results...)."""
        got: Mask = self.cached(("reported", key), lambda: np.fromiter(
            (key in f.quantities or key in f.quantity_gaps for f in self.facts), np.bool_,
            self.n))
        return got

    def rows(self, status: Callable[[Facts], Truth]) -> Codes:
        """Codes of ``status`` patient by patient."""
        return np.fromiter((_CODE[status(f)] for f in self.facts), np.uint8, self.n)

    def by_value(self, name: Hashable, value: Callable[[Facts], Any],
                 status: Callable[[Facts], Truth]) -> Codes:
        """Codes of a ``status`` that depends on one fact alone, ``value(facts)`` (named
        ``name``): decided once for each distinct value in the chunk."""
        def make() -> tuple[npt.NDArray[np.intp], list[int]]:
            seen: dict[Any, int] = {}
            firsts: list[int] = []
            index = np.empty(self.n, np.intp)
            for i, f in enumerate(self.facts):
                v = value(f)
                key = (type(v), v)          # True is not 1, "1" is not 1
                try:
                    k = seen.setdefault(key, len(firsts))
                except TypeError:           # an unhashable value: decided on its own
                    k = len(firsts)
                if k == len(firsts):
                    firsts.append(i)
                index[i] = k
            return index, firsts
        index, firsts = self.cached(("values", name), make)
        codes = np.fromiter((_CODE[status(self.facts[i])] for i in firsts), np.uint8, len(firsts))
        out: Codes = codes[index]
        return out

    def window_start(self, window: Duration) -> npt.NDArray[np.int64]:
        """Per patient, the ordinal of ``window`` before the as-of date (calendar arithmetic
        done once per duration and date, for the whole run)."""
        def make() -> npt.NDArray[np.int64]:
            out = np.empty(self.n, np.int64)
            for i, d in enumerate(self.as_of.tolist()):
                s = _WINDOW_STARTS.get((window, d))
                if s is None:
                    s = _WINDOW_STARTS[(window, d)] = window.before(
                        date.fromordinal(d)).toordinal()
                out[i] = s
            return out
        got: npt.NDArray[np.int64] = self.cached(("window", window), make)
        return got


# ---------------------------------------------------------------------------- node helpers

# combine tables are made for up to this many children (3 ** 6 = 729 entries)
TABLE_CHILDREN = 6
_TABLES: dict[int, tuple[Any, Codes]] = {}      # id(node) → (node, its table)


def combined(node: Any, children: Sequence[Codes], n: int, table: Codes | None = None
             ) -> Codes:
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
    values = np.fromiter((code(node.combine(value_of(int(c)) for c in seen[:, j]))
                          for j in range(seen.shape[1])), np.uint8, seen.shape[1])
    got: Codes = values[inverse.reshape(-1)]
    return got


def combine_table(node: Any, k: int) -> Codes:
    """``node.combine`` over every combination of ``k`` codes, first child most significant."""
    known = _TABLES.get(id(node))
    if known is not None and known[0] is node:
        return known[1]
    import itertools

    table = np.fromiter((code(node.combine(value_of(c) for c in combo))
                         for combo in itertools.product((FALSE, UNKNOWN, TRUE), repeat=k)),
                        np.uint8, 3 ** k)
    _TABLES[id(node)] = (node, table)
    return table


def reading(chunk: Chunk, key: str, limit: int | None, mode: str) -> Mask:
    """Where a comparison of mode ``mode`` has a reading (:meth:`~.nodes.quantity.Compare.
    reading`): present, recent enough, and a graded result, a number, or a number and a positive
    ULN (or a band of plausible ULNs) for a × ULN comparison."""
    def make() -> Mask:
        a = chunk.quantity(key)
        need = (a.has_result if mode == "ordinal" else a.has_value & a.uln_ok if mode == "uln"
                else a.has_value)
        got: Mask = a.fresh(limit) & need
        return got
    got: Mask = chunk.cached(("reading", key, limit, mode), make)
    return got


def compare(node: Any, chunk: Chunk, limit: int | None) -> Codes:
    """A comparison (:class:`~.nodes.quantity.Compare`) over the chunk, as its ``decide``:
    unknown where there is no reading; as floats where both sides are clearly apart (for a
    band of plausible ULNs: at both ends, deciding where they agree); else exactly."""
    from .nodes.base import OPS

    a = chunk.quantity(node.analyte.key)
    mode = node.mode()
    readable = reading(chunk, node.analyte.key, limit, mode)
    op = OPS[node.op]
    if mode == "ordinal":
        scale = node.analyte.scale or node.analyte.values
        holds = np.asarray(op(a.ranks, scale.index(node.ordinal)))
        out = np.where(readable, np.where(holds, TRUE, FALSE), UNKNOWN).astype(np.uint8)
        off_scale = readable & (a.ranks < 0)       # never, for a checked profile
        return _exactly(node, a, off_scale, out) if off_scale.any() else out
    bound: float | None = node._bound
    if bound is None:
        return _exactly(node, a, readable, np.full(chunk.n, UNKNOWN, np.uint8))
    x = a.float_value
    if mode == "uln":
        clear, holds = _apart(op, x, bound * a.float_uln)
        low_clear, low = _apart(op, x, bound * a.band_low)
        high_clear, high = _apart(op, x, bound * a.band_high)
        banded = low_clear & high_clear
        clear |= banded & (low == high)
        holds |= banded & low
        unsure = banded & (low != high)       # the plausible ULNs disagree: unknown
    else:
        clear, holds = _apart(op, x, bound)
        unsure = None
    out = np.where(clear & readable, np.where(holds, TRUE, FALSE), UNKNOWN).astype(np.uint8)
    exact = readable & ~clear if unsure is None else readable & ~clear & ~unsure
    return _exactly(node, a, exact, out) if exact.any() else out


def _apart(op: Any, x: npt.NDArray[np.float64], y: Any) -> tuple[Mask, Mask]:
    """Where ``x`` and ``y`` are more than the float margin apart, and ``x op y`` there."""
    from .nodes.quantity import FLOAT_MARGIN

    with np.errstate(invalid="ignore", over="ignore"):
        clear = np.abs(x - y) > FLOAT_MARGIN * np.maximum(np.abs(x), np.abs(y))
        holds = np.asarray(op(x, y)) & clear
    return clear, holds


def _exactly(node: Any, a: Quantities, rows: Mask, out: Codes) -> Codes:
    for i in np.flatnonzero(rows).tolist():
        q = a.facts[i]
        assert q is not None
        out[i] = _CODE[node.holds(q)]
    return out


def any_recorded(node: Any, chunk: Chunk, ctx: Any) -> Codes:
    """``any_recorded``: Kleene OR (:func:`.core.kleene_or`) of the comparisons whose quantity
    is reported; where none is, ``otherwise`` or unknown."""
    out = np.full(chunk.n, FALSE, np.uint8)        # no value yet: OR's neutral element
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

    return np.array([[code(kleene_or([value_of(a), value_of(b)])) for b in range(3)]
                     for a in range(3)], np.uint8)


_OR = _or_table()


def evidence(concept: Any, rule_out: str, chunk: Chunk, lab_limit: int | None) -> Codes:
    """``evidence``: :func:`eligimatch.evidence.holds` over the chunk, its parts read once per
    concept (:func:`eligimatch.evidence.parts`), then decided for each lab window."""
    def make() -> tuple[Mask, npt.NDArray[np.int64], Codes]:
        from ..evidence import parts

        got = [parts(concept, f, rule_out) for f in chunk.facts]
        return (np.fromiter((p for p, _, _ in got), np.bool_, chunk.n),
                np.fromiter((_UNDATED if a is None else a for _, a, _ in got), np.int64, chunk.n),
                np.fromiter((_CODE[v] for _, _, v in got), np.uint8, chunk.n))
    positive, age, otherwise = chunk.cached(("evidence", concept, rule_out), make)
    recent = age <= (_UNDATED - 1 if lab_limit is None else lab_limit)
    out: Codes = np.where(positive, TRUE, np.where(recent, FALSE, otherwise)).astype(np.uint8)
    return out


def recorded(chunk: Chunk, key: str, limit: int | None) -> Codes:
    """``recorded``: true where a result is present and recent enough, else unknown."""
    return np.where(chunk.quantity(key).fresh(limit), TRUE, UNKNOWN).astype(np.uint8)


def exists(node: Any, windowless: Any, chunk: Chunk) -> Codes:
    """``exists`` over the chunk: each item's ``where`` value (shared by the nodes that differ
    only in their window) Kleene-AND its window, Kleene-OR over each patient's items."""
    c = chunk.collection(node.collection)
    facts = chunk.facts

    def where_codes() -> Codes:
        items, owner = c.items, c.owner.tolist()
        return np.fromiter((_CODE[windowless._match(item, facts[r], None)]
                            for item, r in zip(items, owner, strict=True)), np.uint8, len(items))

    try:
        key: Hashable = ("where", node.collection, windowless)
        hash(key)
    except TypeError:
        key = ("where", id(windowless))
    match = np.minimum(chunk.cached(key, where_codes), _window_codes(node, c, chunk))
    out = np.where(c.recorded, FALSE, UNKNOWN).astype(np.uint8)
    if len(match):
        np.maximum.at(out, c.owner, match)
    return out


def _window_codes(node: Any, c: Items, chunk: Chunk) -> Codes:
    """Per item, :meth:`~.nodes.exists.Exists._in_window` as codes."""
    m = len(c.items)
    if node.current:
        as_of = chunk.as_of[c.owner]
        return np.where(c.has_end, np.where(c.end >= as_of, TRUE, FALSE),
                        c.ongoing).astype(np.uint8)
    if node.window is None:
        return np.full(m, TRUE, np.uint8)
    start = chunk.window_start(node.window)[c.owner]
    out = np.full(m, UNKNOWN, np.uint8)
    out[c.has_start & (c.start > start)] = TRUE
    out[c.has_end] = np.where(c.end[c.has_end] > start[c.has_end], TRUE, FALSE)
    out[~c.has_end & (c.ongoing == TRUE)] = TRUE
    return out
