"""Age limits and sex, from the item text (the registry's structured fields are read in
:mod:`..structured`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from ..clause import AS_OF, Clause, Sample, conjoin, fact_fragment
from .base import COMP, Recogniser, negate, op_of

__all__ = ["AGE", "SEX", "age_clause"]

_YEARS = r"(?:years?|yrs?)"
_AGE_WORD = r"(?:(?:are|be|is)\s+)?(?:age[ds]?|aged)\s*:?\s*(?:of\s+)?"
_SUFFIX = r"(?:\s+(?:old|of age))"
_RANGE = [
    re.compile(
        rf"{_AGE_WORD}(?:between\s+)?(?P<lo>\d{{1,3}})\s*(?:{_YEARS}\s*)?(?:-|to|and|~)\s*"
        rf"(?P<hi>\d{{1,3}})\s*{_YEARS}{_SUFFIX}?(?:\s*\(inclusive\))?",
        re.I,
    ),
    re.compile(
        rf"(?:between\s+)?(?P<lo>\d{{1,3}})\s*(?:-|to|and|~)\s*(?P<hi>\d{{1,3}})\s*"
        rf"{_YEARS}{_SUFFIX}(?:\s*\(inclusive\))?",
        re.I,
    ),
]
_ONE = [
    re.compile(rf"{_AGE_WORD}{COMP}\s*(?P<n>\d{{1,3}})\s*(?:{_YEARS})?{_SUFFIX}?", re.I),
    re.compile(rf"{COMP}\s*(?P<n>\d{{1,3}})\s*{_YEARS}{_SUFFIX}", re.I),
    re.compile(
        rf"(?:{_AGE_WORD})?(?P<n>\d{{1,3}})\s*{_YEARS}{_SUFFIX}?\s+(?:or|and)\s+"
        r"(?P<dir>older|above|over|more|greater|younger|below|under|less)",
        re.I,
    ),
    re.compile(rf"(?P<younger>younger|older)\s+than\s+(?P<n>\d{{1,3}})\s*{_YEARS}{_SUFFIX}?", re.I),
]


def _born(age: int) -> object:
    return AS_OF.replace(year=AS_OF.year - age)


def age_clause(start: int, end: int, op: str, n: int) -> Clause:
    """Age (completed years on the evaluation date) against ``n`` years."""
    ok = {">=": n, ">": n + 1, "<=": n, "<": n - 1}[op]
    bad = {">=": n - 1, ">": n, "<=": n + 1, "<": n}[op]
    samples = [Sample(True, {"birth_date": _born(ok)})] if ok >= 0 else []
    if bad >= 0:
        samples.append(Sample(False, {"birth_date": _born(bad)}))
    return Clause(
        start,
        end,
        "age",
        f"age {op} {n} years",
        {"quantity": "age", "op": op, "value": n, "unit": "year"},
        tuple(samples),
    )


def _find_age(text: str, kind: str) -> Iterator[Clause]:
    for rx in _RANGE:
        for m in rx.finditer(text):
            lo, hi = int(m.group("lo")), int(m.group("hi"))
            if lo < hi <= 130:
                yield Clause(
                    m.start(),
                    m.end(),
                    "age",
                    f"age {lo} to {hi} years",
                    {"all": [age_clause(0, 0, ">=", lo).logic, age_clause(0, 0, "<=", hi).logic]},
                    conjoin([age_clause(0, 0, ">=", lo).samples, age_clause(0, 0, "<=", hi).samples]),
                )
    for rx in _ONE:
        for m in rx.finditer(text):
            n = int(m.group("n"))
            gd = m.groupdict()
            if gd.get("dir"):
                op = ">=" if gd["dir"].lower() in ("older", "above", "over", "more", "greater") else "<="
            elif gd.get("younger"):
                op = "<" if gd["younger"].lower() == "younger" else ">"
            else:
                op = op_of(m.group("op"))
            if n <= 130:
                yield age_clause(m.start(), m.end(), op, n)


AGE = Recogniser(
    "age",
    "Age limits in years: ranges ('18-75 years old', 'aged between 1 and 16 years'), "
    "one-sided limits ('≥ 18 years', '18 years or older', 'less than 18 years of age'). "
    "Age is in completed years on the evaluation date.",
    _find_age,
    passes=(
        "Age: 18-75 years old",
        "Aged ≥18 years;",
        "Patients 18 years of age or older",
        "aged 18 years or above and 75 years or below",
        "are aged between 1 and 16 years",
        "Less than 18 years of age",
    ),
    fails=(
        "Age ≥ 18 years, or ≥ 16 years with parental consent",
        "aged 6 months to 17 years",
        "18-75 years old at diagnosis",
    ),
)
_ = negate

_SEX_ANY = re.compile(
    r"(?:male or female|female or male|males? and females?|females? and males?|"
    r"men and women|women and men|both (?:sexes|genders)|(?:either|any|all) "
    r"(?:sex|gender)s?)(?:\s*,?\s*(?:are|is)\s+(?:eligible|included|allowed))?",
    re.I,
)
_SEX_ONE = re.compile(
    r"\b(?P<sex>females?|males?|women|woman|men|man)\b(?:\s+(?:only|patients|"
    r"subjects|participants))?",
    re.I,
)


def _find_sex(text: str, kind: str) -> Iterator[Clause]:
    taken = []
    for m in _SEX_ANY.finditer(text):
        taken.append((m.start(), m.end()))
        yield Clause(m.start(), m.end(), "sex", "either sex", None)
    for m in _SEX_ONE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        sex = "female" if m.group("sex").lower().startswith(("f", "wom")) else "male"
        other = "male" if sex == "female" else "female"
        yield Clause(
            m.start(),
            m.end(),
            "sex",
            f"sex {sex}",
            {"fact": "sex", "is": sex},
            (Sample(True, fact_fragment("sex", sex)), Sample(False, fact_fragment("sex", other))),
        )


SEX = Recogniser(
    "sex",
    "Sex: 'male or female', 'both genders are eligible' (no restriction) or one sex "
    "('female patients', 'men').",
    _find_sex,
    passes=("Male or female", "Female patients", "both genders are eligible"),
    fails=("Male and non-pregnant females", "Women with a history of breast cancer"),
)
_D = Decimal
