"""``exists`` over a chunk of patients at once (the columnar runner, :mod:`.columnar`): one flat
list of the chunk's items of a collection (:class:`.chunkdata.Items`), each ``where`` test decided
for every item once per chunk (``item_columns`` of the test) and shared by every ``exists`` that
has it, Kleene-AND the item's window, Kleene-OR over each patient's items (on codes: the minimum
and the maximum of a segment).

A test of one field's value alone is decided once per distinct value of the field in the chunk
(:func:`by_field_value`, :func:`by_field_item`); a date test compares day numbers, the calendar
arithmetic of its offset on arrays (:func:`dated`, :func:`shifted`); any other test item by item.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from .chunkdata import Items
from .columns import CODES, FALSE, TRUE, UNKNOWN, Chunk, Codes

__all__ = [
    "any_of",
    "by_field_item",
    "by_field_value",
    "dated",
    "exists",
    "item_by_item",
    "shifted",
    "test_codes",
]

_Ints = npt.NDArray[np.int64]


def exists(node: Any, chunk: Chunk) -> Codes:
    """``exists`` over the chunk: each item's ``where`` tests, Kleene-AND its window, Kleene-OR
    over each patient's items; FALSE for a recorded collection without a matching item,
    UNKNOWN for one not recorded."""
    c = chunk.collection(node.collection)
    match: Codes = chunk.cached(
        ("window", id(c), node.current, node.window), lambda: _window_codes(node, c, chunk)
    )
    for test in node.where:
        if not match.any():  # every item surely does not match
            break
        match = np.minimum(match, test_codes(chunk, c, test))
    none: Codes = chunk.cached(("none", id(c)), lambda: np.where(c.recorded, FALSE, UNKNOWN).astype(np.uint8))
    out = none.copy()
    if len(match):  # Kleene OR over each patient's items: the maximum of its segment
        out[c.holders] = np.maximum.reduceat(match, c.firsts)
    return out


def test_codes(chunk: Chunk, items: Items, test: Any) -> Codes:
    """One ``where`` entry over every item of a collection (its ``item_columns``), once per
    chunk, whatever the ``exists`` or ``any`` it is in (equal entries are one)."""
    got: Codes = chunk.cached(("where", id(items), _canonical(test)), lambda: test.item_columns(chunk, items))
    return got


# per where entry met (by identity, kept): the number of its value, the same for equal entries
# (numbers are never reused, not even after the bound clears these), so that equal entries of
# different nodes share their codes without being hashed and compared for every node of every
# chunk
_MET: dict[int, tuple[Any, int]] = {}
_NUMBERS: dict[Any, int] = {}
_NEXT = itertools.count()
_KEPT_MET = 1 << 16


def _canonical(test: Any) -> int:
    met = _MET.get(id(test))
    if met is not None and met[0] is test:
        return met[1]
    if len(_MET) > _KEPT_MET:
        _MET.clear()
        _NUMBERS.clear()
    try:
        number = _NUMBERS.get(test)
        if number is None:
            number = _NUMBERS[test] = next(_NEXT)
    except TypeError:  # an entry that cannot be hashed: on its own
        number = next(_NEXT)
    _MET[id(test)] = (test, number)
    return number


def by_field_value(items: Items, name: str, test: Callable[[Any], Any]) -> Codes:
    """``test(value)`` of one item field over every item: once per distinct value."""
    index, values = items.field(name)
    table = np.array([CODES[test(v)] for v in values], np.uint8)
    got: Codes = table[index]
    return got


def by_field_item(chunk: Chunk, items: Items, name: str, test_item: Callable[[Any, Any], Any]) -> Codes:
    """``test_item(item, facts)`` of a test that reads one field of the item alone, over every
    item: once per distinct value of the field, on the first item that has it."""
    index = items.field(name)[0]
    if not len(index):
        return np.zeros(0, np.uint8)
    firsts = np.unique(index, return_index=True)[1].tolist()
    owners = items.owner[firsts].tolist()
    table = np.array(
        [CODES[test_item(items.items[j], chunk.facts[r])] for j, r in zip(firsts, owners, strict=True)],
        np.uint8,
    )
    got: Codes = table[index]
    return got


def item_by_item(chunk: Chunk, items: Items, test_item: Callable[[Any, Any], Any]) -> Codes:
    """``test_item(item, facts)`` over every item, item by item."""
    facts = chunk.facts
    return np.array(
        [CODES[test_item(item, facts[r])] for item, r in zip(items.items, items.owner.tolist(), strict=True)],
        np.uint8,
    )


def any_of(chunk: Chunk, items: Items, alternatives: Sequence[Sequence[Any]]) -> Codes:
    """Kleene OR of Kleene ANDs (the maximum of minima) of where tests over every item; a test
    is not looked at where its alternative is already false everywhere, nor an alternative once
    every item matches."""
    out = np.full(len(items.items), FALSE, np.uint8)
    for alternative in alternatives:
        every = np.full(len(items.items), TRUE, np.uint8)
        for sub in alternative:
            every = np.minimum(every, test_codes(chunk, items, sub))
            if not every.any():
                break
        out = np.maximum(out, every)
        if (out == TRUE).all():
            break
    return out


def dated(test: Any, chunk: Chunk, items: Items) -> Codes:
    """A date field test (:class:`~.nodes.field_tests.DateFieldTest`) over every item: the
    field's day number against the day number of its reference (the item's start or end, or the
    evaluation date), shifted by its offset; an item still going on has an open end, later than
    any date.  Unknown where the field is not a date or the reference is missing."""
    from .nodes.base import OPS

    index, values = items.field(test.name)
    if any(v is not None and type(v) is not date for v in values):  # not plain dates: as it says
        return item_by_item(chunk, items, test.test_item)
    is_date = np.array([v is not None for v in values], np.bool_)[index]
    day = np.array([0 if v is None else v.toordinal() for v in values], np.int64)[index]
    open_end = np.zeros(len(index), np.bool_)
    if test.ref == "as_of":
        base, known = chunk.as_of[items.owner], np.ones(len(index), np.bool_)
    elif test.ref == "start":
        base, known = items.start, items.has_start
    else:
        base, known = items.end, items.has_end
        open_end = ~known & (items.ongoing == TRUE)
    if test.offset is not None and known.any():
        base = base.copy()
        base[known] = shifted(test.offset, test.sign, base[known])
    holds = np.asarray(OPS[test.op](day, base))
    if open_end.any():
        holds = np.where(open_end, test.op in ("<", "<=", "!="), holds)
    decided = is_date & (known | open_end)
    out: Codes = np.where(decided, np.where(holds, TRUE, FALSE), UNKNOWN).astype(np.uint8)
    return out


def shifted(offset: Any, sign: int, days: _Ints) -> _Ints:
    """Day numbers moved by a calendar duration, as :meth:`~eligimatch.dates.Duration.after`
    (``sign`` +1) or :meth:`~eligimatch.dates.Duration.before` (-1) moves a date, on arrays:
    the months first, the day clamped to the month's length, then the weeks and days; no later
    than the last date, no earlier than the first."""
    when = (days - _EPOCH).astype("datetime64[D]")
    month = when.astype("datetime64[M]")
    day = (when - month).astype(np.int64) + 1
    months = month.astype(np.int64) + 1970 * 12 + sign * (offset.years * 12 + offset.months)
    outside = months // 12 > 9999 if sign > 0 else months // 12 < 1
    start = (np.where(outside, 1970 * 12, months) - 1970 * 12).astype("datetime64[M]")
    first = start.astype("datetime64[D]")
    length = ((start + 1).astype("datetime64[D]") - first).astype(np.int64)
    moved = first.astype(np.int64) + _EPOCH + np.minimum(day, length) - 1
    step = offset.weeks * 7 + offset.days
    if sign > 0:
        out: _Ints = np.where(outside, _LAST, np.minimum(_LAST, moved + step))
    else:
        out = np.where(outside, 1, np.maximum(1, moved - step))
    return out


_EPOCH = date(1970, 1, 1).toordinal()  # day 0 of numpy's dates
_LAST = date.max.toordinal()


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
