"""The recogniser protocol and shared phrase atoms (comparators, numbers, units)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from ..clause import Clause

__all__ = ["COMP", "NUM", "Recogniser", "number", "op_of", "step"]


@dataclass(frozen=True)
class Recogniser:
    """One kind of criterion the drafter can type.

    ``find`` returns the clauses it recognises in a normalised item text (``kind`` is
    "inclusion" or "exclusion").  ``passes`` are phrases it must account for completely (typed),
    ``fails`` phrases it must not type on its own (they go to review); both are run by the tests
    (tests/test_draft_recognisers.py), like the examples of a lint rule.
    """

    name: str
    doc: str
    find: Callable[[str, str], Iterator[Clause]]
    passes: tuple[str, ...] = ()
    fails: tuple[str, ...] = ()


# Comparators as registries write them.  The group ``op`` is read by :func:`op_of`.
COMP = (
    r"(?P<op>≥|≤|>=|=>|<=|=<|>\s*or\s*=|<\s*or\s*=|>|<|"
    r"greater than or equal to|more than or equal to|equal to or (?:greater|more) than|"
    r"at least|not less than|no less than|no lower than|"
    r"less than or equal to|equal to or less than|not more than|no more than|"
    r"not greater than|no greater than|not exceeding|not to exceed|up to|"
    r"greater than|more than|higher than|above|over|exceeding|in excess of|"
    r"less than|lower than|below|under)"
)
_OPS = {
    "≥": ">=",
    ">=": ">=",
    "=>": ">=",
    "greater than or equal to": ">=",
    "more than or equal to": ">=",
    "at least": ">=",
    "not less than": ">=",
    "no less than": ">=",
    "no lower than": ">=",
    "≤": "<=",
    "<=": "<=",
    "=<": "<=",
    "less than or equal to": "<=",
    "equal to or less than": "<=",
    "not more than": "<=",
    "no more than": "<=",
    "not greater than": "<=",
    "no greater than": "<=",
    "not exceeding": "<=",
    "not to exceed": "<=",
    "up to": "<=",
    ">": ">",
    "greater than": ">",
    "more than": ">",
    "higher than": ">",
    "above": ">",
    "over": ">",
    "exceeding": ">",
    "in excess of": ">",
    "<": "<",
    "less than": "<",
    "lower than": "<",
    "below": "<",
    "under": "<",
}

NUM = r"(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
COUNT = r"(?P<num>\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"


def op_of(text: str) -> str:
    t = re.sub(r"\s+", " ", text.strip().lower())
    t = re.sub(r"([<>]) or =", r"\1=", t)
    return _OPS[t]


def number(text: str) -> Decimal:
    t = text.lower()
    if t in _WORDS:
        return Decimal(_WORDS[t])
    return Decimal(t.replace(",", ""))


def step(value: Decimal) -> Decimal:
    """A small amount beyond a threshold: one unit of its last decimal place."""
    exp = value.as_tuple().exponent
    return Decimal(1).scaleb(exp if isinstance(exp, int) and exp < 0 else 0)


def negate(op: str) -> str:
    return {">=": "<", ">": "<=", "<=": ">", "<": ">="}[op]
