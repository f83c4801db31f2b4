"""Kleene truth tables, censored values, windows and the exclusion polarity."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from eligimatch.dates import parse_duration
from eligimatch.engine.core import Outcome, kleene_and, kleene_not, kleene_or, status_of
from eligimatch.engine.nodes import All, Any_, EvalContext, Exists, Match, Node, Not
from eligimatch.engine.nodes import censored as _censored
from eligimatch.facts import Facts
from eligimatch.items import Item

T, F, U = True, False, None
VALUES = (T, F, U)
CTX = EvalContext("TRIAL", "I1", None)
FACTS = Facts(patient_id="x", as_of=date(2026, 3, 1))


class Const(Node):
    def __init__(self, value):
        self.value = value

    def evaluate(self, facts, ctx):
        if self.value is None:
            return Outcome(None, "u", ("fact u",))
        return Outcome(self.value, str(self.value))


# Kleene's strong three-valued logic, written out in full
AND = {(T, T): T, (T, F): F, (T, U): U, (F, T): F, (F, F): F, (F, U): F, (U, T): U, (U, F): F, (U, U): U}
OR = {(T, T): T, (T, F): T, (T, U): T, (F, T): T, (F, F): F, (F, U): U, (U, T): T, (U, F): U, (U, U): U}
NOT = {T: F, F: T, U: U}


@pytest.mark.parametrize(("a", "b"), list(itertools.product(VALUES, VALUES)))
def test_truth_tables(a, b):
    assert kleene_and([a, b]) is AND[(a, b)]
    assert kleene_or([a, b]) is OR[(a, b)]
    assert All((Const(a), Const(b))).evaluate(FACTS, CTX).value is AND[(a, b)]
    assert Any_((Const(a), Const(b))).evaluate(FACTS, CTX).value is OR[(a, b)]
    # De Morgan
    assert kleene_not(kleene_and([a, b])) is kleene_or([kleene_not(a), kleene_not(b)])


@pytest.mark.parametrize("a", VALUES)
def test_not_and_double_negation(a):
    assert Not(Const(a)).evaluate(FACTS, CTX).value is NOT[a]
    assert Not(Not(Const(a))).evaluate(FACTS, CTX).value is a


def test_unknown_carries_what_is_missing_only_when_it_matters():
    out = Any_((Const(U), Const(T))).evaluate(FACTS, CTX)
    assert out.value is True and out.missing == ()
    out = Any_((Const(U), Const(F))).evaluate(FACTS, CTX)
    assert out.value is None and out.missing == ("fact u",)


@pytest.mark.parametrize(
    ("kind", "value", "status"),
    [
        ("inclusion", T, "pass"),
        ("inclusion", F, "fail"),
        ("inclusion", U, "unknown"),
        ("exclusion", T, "fail"),
        ("exclusion", F, "pass"),
        ("exclusion", U, "unknown"),
    ],
)
def test_exclusion_passes_exactly_when_its_condition_is_false(kind, value, status):
    assert status_of(kind, value) == status


@pytest.mark.parametrize(
    ("op", "comparator", "bound", "threshold", "expected"),
    [
        (">", "<", 20, 2000, False),  # HBV DNA "<20" is surely not > 2000
        (">", "<", 20, 10, None),  # "<20" cannot decide > 10
        (">=", ">=", 6, 3, True),  # ">= 6 months" is surely >= 3 months
        (">=", ">", 2, 3, None),
        ("<=", "<", 3, 3, True),  # below 3 is <= 3
        ("<", "<=", 3, 3, None),  # could be exactly 3
        ("<", "<", 3, 3, True),
        (">", ">=", 3, 3, None),
        (">", ">", 3, 3, True),
        ("<=", ">", 3, 3, False),
    ],
)
def test_censored_values(op, comparator, bound, threshold, expected):
    assert _censored(op, comparator, Fraction(bound), Fraction(threshold)) is expected


def _item(start, end, ongoing, **fields):
    return Item(fields, start, end, ongoing, "thing")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (_item(date(2026, 2, 1), date(2026, 2, 1), False), False),  # exactly 4 weeks: not within
        (_item(date(2026, 2, 2), date(2026, 2, 2), False), True),
        (_item(date(2025, 1, 1), None, True), True),  # ongoing
        (_item(date(2025, 1, 1), None, None), None),  # end unknown
        (_item(date(2026, 2, 20), None, None), True),  # started inside the window
        (_item(None, None, None), None),
    ],
)
def test_window_is_half_open(item, expected):
    node = Exists("treatments", (), parse_duration("P4W"), "treatments")
    facts = Facts(patient_id="x", as_of=date(2026, 3, 1), collections={"treatments": [item]})
    assert node.evaluate(facts, CTX).value is expected


def test_exists_unrecorded_collection_is_unknown_and_empty_is_false():
    node = Exists("treatments", (Match("type", "in", ("surgery",)),), None, "surgery")
    assert node.evaluate(Facts("x", date(2026, 3, 1), collections={"treatments": None}), CTX).value is None
    assert node.evaluate(Facts("x", date(2026, 3, 1), collections={"treatments": []}), CTX).value is False


def test_match_field_missing_is_unknown_and_lists_intersect():
    m = Match("classes", "in", ("anthracycline",))
    assert m.test(["alkylating_agent", "anthracycline"]) is True
    assert m.test([]) is False
    assert m.test(None) is None
    assert Match("grade", "compare", op=">", number=Decimal(1)).test(2) is True
    assert Match("term", "not_in", ("alopecia",), casefold=True).test("Alopecia") is False
