"""The parts of an ``evidence`` node's value (:func:`eligimatch.evidence.parts`) over a chunk of
patients at once (the columnar runner, :func:`.columnar.evidence`), from the chunk's items and
quantities as arrays (:mod:`.chunkdata`), step by step as :func:`~eligimatch.evidence.parts`
weighs them for one patient:

1. positive evidence: a condition of the concept on the problem list (not a resolved one, for a
   concept that asks so), or a positive result;
2. the age of the newest dated negative result;
3. no answer (clinician review) for a review result, or a medication of a review class that is
   not known to be over;
4. otherwise, when a recorded problem list rules the concept out: false, or no answer when
   some of its conditions are unclassified.

Each result test is :meth:`~eligimatch.evidence.ResultTest.matches` itself, once per patient
that has the result; each item field is decided once per distinct value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .columns import FALSE, TRUE, UNDATED, UNKNOWN, Chunk, Codes, Mask

if TYPE_CHECKING:
    from .chunkdata import Items

__all__ = ["parts"]


def parts(concept: Any, chunk: Chunk, rule_out: str) -> tuple[Mask, npt.NDArray[np.int64], Codes]:
    """Per patient: positive evidence; the age of the newest dated negative result
    (:data:`~.columns.UNDATED`: none); the value when no recent negative result settles it."""
    n = chunk.n
    conditions = chunk.collection("conditions")
    positive = _any_item(
        conditions,
        _by_value(conditions, "type", lambda v: v in concept.conditions)
        & (
            ~_by_value(conditions, "status", lambda v: v == "resolved")
            if concept.condition_status == "not_resolved"
            else True
        ),
    )
    for test in concept.positive:
        positive |= _matching(chunk, test)
    age = np.full(n, UNDATED, np.int64)
    for test in concept.negative:
        age = np.minimum(age, np.where(_matching(chunk, test), chunk.quantity(test.test).age, UNDATED))
    review = np.zeros(n, np.bool_)
    for test in concept.review:
        review |= _matching(chunk, test)
    classes = set(concept.review_classes)
    if classes:
        meds = chunk.collection("medications")
        if meds.items:
            taking = _by_value(meds, "classes", lambda v: bool(set(v or ()) & classes))
            # not known to be over: an end on or after the evaluation date, or ongoing or not said
            as_of = chunk.as_of[meds.owner]
            current = np.where(meds.has_end, meds.end >= as_of, meds.ongoing != FALSE)
            review |= _any_item(meds, taking & current)
    otherwise = np.full(n, UNKNOWN, np.uint8)
    if rule_out == "record":
        unclassified = _any_item(conditions, _by_value(conditions, "type", lambda v: v is None))
        otherwise[conditions.recorded & ~unclassified] = FALSE
    otherwise[review] = UNKNOWN
    otherwise[positive] = TRUE
    age[positive] = UNDATED
    return positive, age, otherwise


def _by_value(items: Items, name: str, test: Any) -> Mask:
    """``test(value)`` of an item field, per item: once per distinct value."""
    index, values = items.field(name)
    got: Mask = np.array([bool(test(v)) for v in values], np.bool_)[index]
    return got


def _any_item(items: Items, hit: Mask | bool) -> Mask:
    """Per patient: whether any of their items is a ``hit``."""
    out = np.zeros(len(items.recorded), np.bool_)
    if len(items.items):
        hits = np.broadcast_to(np.asarray(hit, np.bool_), (len(items.items),))
        out[items.holders] = np.logical_or.reduceat(hits, items.firsts)
    return out


def _matching(chunk: Chunk, test: Any) -> Mask:
    """Per patient: whether they have the test's result and it matches."""
    a = chunk.quantity(test.test)
    out = np.zeros(chunk.n, np.bool_)
    out[a.rows] = [bool(test.matches(q)) for q in a.got()]
    return out
