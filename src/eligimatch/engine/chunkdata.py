"""What the columnar runner reads of a chunk's facts (:class:`.columns.Chunk`), as arrays: one
quantity over the patients (:class:`Quantities`), one collection's items over the patients in one
flat list (:class:`Items`), with the distinct values of their fields."""

from __future__ import annotations

import functools
import operator
from collections.abc import Hashable
from datetime import date
from decimal import Decimal
from math import nan
from operator import truediv
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .columns import CODES, UNDATED, Codes, Mask

if TYPE_CHECKING:
    from ..items import Item
    from ..quantities import QuantityFact
    from .columns import Chunk

__all__ = ["Items", "Quantities"]

_READ = operator.attrgetter("date", "value", "comparator")


class Quantities:
    """One quantity over the chunk: each patient's fact and what its readings depend on (what
    only some comparisons read is made on first use)."""

    def __init__(self, chunk: Chunk, key: str) -> None:
        qs = chunk.quantity_facts(key)
        n = len(qs)
        self.key = key
        self.facts = qs
        # the patients with the quantity, and their facts
        self.rows = [i for i, q in enumerate(qs) if q is not None]
        got = self._got = [q for q in qs if q is not None]
        rows = np.array(self.rows, np.intp)
        self.present = np.zeros(n, np.bool_)
        self.present[rows] = True
        # what every comparison reads of a fact, read from each fact at once
        dated, values, comparators = zip(*map(_READ, got), strict=True) if got else ((), (), ())
        days = np.array([-1 if d is None else d.toordinal() for d in dated], np.int64)
        self.age = np.full(n, UNDATED, np.int64)
        self.age[rows] = np.where(days < 0, UNDATED, chunk.as_of[rows] - days)
        self.has_value = self._mask([v is not None for v in values])
        self.float_value = self._floats(
            [None if c is not None else v for c, v in zip(comparators, values, strict=True)]
        )

    def got(self) -> list[QuantityFact]:
        """The facts of the patients that have the quantity (those of ``rows``)."""
        return self._got

    def _mask(self, values: list[bool]) -> Mask:
        out = np.zeros(len(self.facts), np.bool_)
        out[self.rows] = values
        return out

    def _floats(self, values: list[Any]) -> npt.NDArray[np.float64]:
        out = np.full(len(self.facts), np.nan)
        out[self.rows] = _floats(values)
        return out

    @functools.cached_property
    def has_result(self) -> Mask:
        return self._mask([q.result is not None for q in self._got])

    @functools.cached_property
    def uln_ok(self) -> Mask:
        """What Compare.reading asks of a × ULN comparison: a positive ULN, or a band of them."""
        return self._mask([q.uln > 0 if q.uln is not None else q.uln_band is not None for q in self._got])

    @functools.cached_property
    def float_uln(self) -> npt.NDArray[np.float64]:
        return self._floats([q.uln for q in self._got])

    @functools.cached_property
    def band_low(self) -> npt.NDArray[np.float64]:
        """The lowest plausible ULN of a result without the lab's range (NaN: a range, or none)."""
        return self._floats([q.uln_band[0] if q.uln is None and q.uln_band else None for q in self._got])

    @functools.cached_property
    def band_high(self) -> npt.NDArray[np.float64]:
        return self._floats([q.uln_band[1] if q.uln is None and q.uln_band else None for q in self._got])

    @functools.cached_property
    def ranks(self) -> npt.NDArray[np.int64]:
        """A graded result's place on its scale (-1: none)."""
        from ..units import analytes

        a = analytes()[self.key]
        scale = a.scale or a.values
        out = np.full(len(self.facts), -1, np.int64)
        out[self.rows] = [scale.index(q.result) if q.result in scale else -1 for q in self._got]
        return out

    def fresh(self, limit: int | None) -> Mask:
        """Present and not stale (:func:`.core.stale`: undated, or older than ``limit``)."""
        if limit is None:
            return self.present
        return self.present & (self.age <= limit)


def _floats(values: list[Any]) -> list[float]:
    """Numbers (exact fractions mostly; ints, Decimals) as the nearest floats (NaN: none, or too
    large): the quotient of their exact integer ratio, correctly rounded."""
    try:
        return [nan if x is None else truediv(*x.as_integer_ratio()) for x in values]
    except OverflowError:
        return [_float(x) for x in values]


def _float(x: Any) -> float:
    if x is None:
        return nan
    try:
        return float(x)
    except OverflowError:
        return nan


class Items:
    """One collection over the chunk: every item of every patient, in one flat list (its items'
    periods made on first use)."""

    def __init__(self, chunk: Chunk, name: str, fields: list[str] | None = None) -> None:
        lists = [f.collections.get(name) for f in chunk.facts]
        n = len(lists)
        self.recorded = np.array([x is not None for x in lists], np.bool_)
        items: list[Item] = [item for got in lists if got for item in got]
        self.items = items
        self.owner = np.repeat(np.arange(n, dtype=np.intp), [len(got) if got else 0 for got in lists])
        # items are listed patient by patient: the patients with items, and where each's begin
        self.holders = np.flatnonzero(np.bincount(self.owner, minlength=n))
        self.firsts = np.searchsorted(self.owner, self.holders)
        self._fields: dict[str, tuple[npt.NDArray[np.intp], list[Any]]] = {}
        # the fields known to be read, from every item in one pass (each item's dict once)
        self._wanted = [] if fields is None else fields
        self._read: dict[str, tuple[Any, ...]] = {}
        wanted = tuple(self._wanted)  # as it is now (a list other chunks of the graph add to)
        if wanted and items:
            got = zip(*[tuple(map(item.fields.get, wanted)) for item in items], strict=True)
            self._read = dict(zip(wanted, got, strict=True))

    @functools.cached_property
    def _period(self) -> tuple[Mask, Mask, npt.NDArray[np.int64], npt.NDArray[np.int64], Codes]:
        starts = [i.start for i in self.items]
        ends = [i.end for i in self.items]
        return (
            np.array([d is not None for d in starts], np.bool_),
            np.array([d is not None for d in ends], np.bool_),
            np.array([0 if d is None else d.toordinal() for d in starts], np.int64),
            np.array([0 if d is None else d.toordinal() for d in ends], np.int64),
            np.array([CODES[i.ongoing] for i in self.items], np.uint8),
        )

    @property
    def has_start(self) -> Mask:
        return self._period[0]

    @property
    def has_end(self) -> Mask:
        return self._period[1]

    @property
    def start(self) -> npt.NDArray[np.int64]:
        """Day numbers of the items' starts (0: none)."""
        return self._period[2]

    @property
    def end(self) -> npt.NDArray[np.int64]:
        return self._period[3]

    @property
    def ongoing(self) -> Codes:
        return self._period[4]

    def field(self, name: str) -> tuple[npt.NDArray[np.intp], list[Any]]:
        """The distinct values of an item field in the chunk, and per item which it has."""
        got = self._fields.get(name)
        if got is None:
            read = self._read.get(name)
            if read is None and self.items:
                if name not in self._wanted:
                    self._wanted.append(name)
                read = tuple(item.fields.get(name) for item in self.items)
            got = self._fields[name] = _distinct(list(read or ()))
        return got


_PLAIN = (str, bool, int, float, Decimal, type(None), date)
_ONE_KIND = frozenset(_PLAIN) - {type(None)}
_PLAIN_SET = frozenset(_PLAIN)
# values of these types equal only values of their own type
_APART = frozenset({str, date, type(None)})


def _distinct(values: list[Any]) -> tuple[npt.NDArray[np.intp], list[Any]]:
    """The distinct values of a list (first seen first), and each value's place among them.

    Values every test decides alike are one: plain values and lists of them of equal types and
    values; anything else (a partly known list...) is its own.  When the values (or the lists'
    elements) are of one plain type, besides None, they are their own keys."""
    try:
        order: dict[Any, None] | None = dict.fromkeys(values)
    except TypeError:  # lists
        order = None
    keys: list[Any] | None = None
    if order is not None:
        kinds = {type(v) for v in order}
        if kinds <= _APART or (len(set(map(type, values)) - {type(None)}) == 1 and kinds <= _PLAIN_SET):
            keys = values
    elif {type(v) for v in values} <= {list, type(None)}:
        inner = {type(x) for v in values if v is not None for x in v}
        if len(inner) <= 1 and inner <= _ONE_KIND:
            keys = [v if v is None else tuple(v) for v in values]
    if keys is None:
        keys = [_value_key(v) for v in values]
    if keys is not values:
        order = dict.fromkeys(keys)
    assert order is not None
    if len(order) == 1:
        return np.zeros(len(keys), np.intp), values[:1]
    places = {key: k for k, key in enumerate(order)}
    index = np.fromiter(map(places.__getitem__, keys), np.intp, len(keys))
    if keys is values:  # the first of equal values is the dict's key
        return index, list(order)
    first = dict(zip(reversed(keys), reversed(values), strict=True))  # the first of each wins
    return index, [first[key] for key in order]


def _value_key(v: Any) -> Hashable:
    """Equal keys for values every test decides alike: plain values and lists of them by type and
    value; anything else (a partly known list...) by identity."""
    t = type(v)
    if t in _PLAIN:
        return (t, v)
    if t is list and all(type(x) in _PLAIN for x in v):
        return (t, tuple((type(x), x) for x in v))
    return (t, id(v))
