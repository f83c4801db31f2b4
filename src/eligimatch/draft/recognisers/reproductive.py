"""Pregnancy, breastfeeding and contraception."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..clause import Clause, Sample, fact_fragment
from .base import Recogniser

__all__ = ["CONTRACEPTION", "PREGNANCY"]

_WHO = r"(?:(?:women|females?|patients|subjects|participants)\s+(?:who\s+are\s+|that\s+are\s+)?)?"
_TEST = (
    r"(?:\s*\(positive (?:serum |urine )?pregnancy test(?: before (?:medication|enrol?lment|"
    r"treatment|the first dose|randomi[sz]ation))?\))?"
)
_FEED = r"(?:breast[- ]?feeding|lactating|nursing|lactation)"
_JOIN = r"\s*(?:,|or|and|and/or|/)\s*(?:(?:are|is|who are)\s+)?(?:currently\s+)?"
_PREG = re.compile(
    rf"{_WHO}(?:currently\s+)?(?P<p>pregnant|pregnancy){_TEST}"
    rf"(?:{_JOIN}(?P<b>{_FEED}))?",
    re.I,
)
_FEED_FIRST = re.compile(
    rf"{_WHO}(?:currently\s+)?(?P<b>{_FEED})(?:{_JOIN}(?P<p>pregnant|"
    rf"pregnancy){_TEST})?",
    re.I,
)


def _clause(start: int, end: int, pregnant: bool, feeding: bool) -> Clause:
    states = [s for s, on in (("pregnant", pregnant), ("breastfeeding", feeding)) if on]
    inner = [{"fact": s, "is": True} for s in states]
    logic = {"all": [{"fact": "sex", "is": "female"}, inner[0] if len(inner) == 1 else {"any": inner}]}
    female = {"sex": "female"}
    yes = {**female, "reproductive": {s: True for s in states}}
    no = {**female, "reproductive": {s: False for s in states}}
    return Clause(
        start,
        end,
        "pregnancy",
        "female and " + " or ".join(states),
        logic,
        (Sample(True, yes), Sample(False, no), Sample(False, {"sex": "male"})),
    )


def _find(text: str, kind: str) -> Iterator[Clause]:
    for rx in (_PREG, _FEED_FIRST):
        for m in rx.finditer(text):
            if m.group("p") and text[m.end("p") :].lower().lstrip().startswith(("test", "test")):
                continue
            yield _clause(m.start(), m.end(), bool(m.group("p")), bool(m.group("b")))


PREGNANCY = Recogniser(
    "pregnancy",
    "Pregnancy and breastfeeding (the excluding condition, as exclusion items "
    "state it): 'Women who are pregnant or breastfeeding'.",
    _find,
    passes=(
        "Pregnant or breastfeeding;",
        "Women who are pregnant or breastfeeding.",
        "Women who are pregnant (positive pregnancy test before medication) or breastfeeding;",
        "Lactating women",
    ),
    fails=("Negative pregnancy test within 7 days", "Pregnant or planning a pregnancy"),
)

_CONTRA = re.compile(
    r"(?:(?P<who>(?:(?:patients|women|men|subjects|participants|males? and females?|"
    r"females? and males?)\s+)?(?:of\s+)?(?P<cbp>child[- ]?bearing|reproductive|fertile)\s+"
    r"(?:potential|age)?\s*(?:patients|women|men)?)\s+)?(?:must\s+)?(?:agrees?\s+to\s+)?"
    r"(?:use|using|practi[sc]e)\s+(?:an?\s+)?(?:highly\s+)?(?:effective|adequate|acceptable|"
    r"reliable)\s+(?:methods?\s+of\s+)?(?:contraception|contraceptive methods?|birth control)"
    r"(?:\s+(?:during|throughout)\s+(?:the\s+)?(?:study|treatment|trial)(?:\s+period)?"
    r"(?:\s+and\s+(?:for\s+)?(?:at least\s+)?\d+\s+(?:days|weeks|months)\s+(?:after|following)"
    r"\s+(?:the\s+)?(?:last|final)\s+(?:dose|administration|treatment)(?:\s+of\s+(?:the\s+)?"
    r"(?:study\s+)?(?:drug|treatment|medication))?)?)?",
    re.I,
)


def _find_contra(text: str, kind: str) -> Iterator[Clause]:
    for m in _CONTRA.finditer(text):
        uses: dict[str, Any] = {"fact": "effective_contraception", "is": True}
        logic: dict[str, Any]
        if m.group("cbp"):
            logic = {"any": [{"fact": "childbearing_potential", "is": False}, uses]}
            summary = "no childbearing potential, or effective contraception"
        else:
            logic, summary = uses, "effective contraception"
        repro = {"childbearing_potential": True}
        yield Clause(
            m.start(),
            m.end(),
            "contraception",
            summary,
            logic,
            (
                Sample(True, {"reproductive": {**repro, "effective_contraception": True}}),
                Sample(False, {"reproductive": {**repro, "effective_contraception": False}}),
            ),
        )


CONTRACEPTION = Recogniser(
    "contraception",
    "Use of effective contraception, for patients of childbearing potential "
    "when the text says so. The period after the last dose is part of the "
    "recorded fact (effective_contraception), not checked separately.",
    _find_contra,
    passes=(
        "Women of childbearing potential must agree to use effective contraception during "
        "the study and for 6 months after the last dose",
        "Patients must use adequate contraception",
    ),
    fails=("Fertile patients must use two methods of contraception, one of them a barrier method",),
)
_ = fact_fragment
