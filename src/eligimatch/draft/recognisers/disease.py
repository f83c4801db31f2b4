"""Disease: CNS metastases, measurable disease (RECIST 1.1), life expectancy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..clause import Clause, Sample, fact_fragment, recent
from .base import COMP, NUM, Recogniser, number, op_of
from .labs import threshold

__all__ = ["CNS", "LIFE_EXPECTANCY", "MEASURABLE"]

_SITE = r"(?:brain|cns|central nervous system|leptomeningeal|meningeal|spinal cord|spinal)"
_QUAL = r"(?:symptomatic|untreated|active|current|known|previous|prior|uncontrolled|progressive|unstable)"
_CNS = re.compile(
    rf"(?:(?P<q>{_QUAL})\s+(?:(?:or|and|and/or)\s+(?P<q2>{_QUAL})\s+)?)?"
    rf"(?P<sites>{_SITE}(?:\s*\(cns\))?(?:\s*(?:,|or|and|and/or|/)\s*{_SITE}"
    r"(?:\s*\(cns\))?)*)\s+(?:metastas[ie]s|metastatic disease|involvement)"
    r"(?:\s*\(cns\))?",
    re.I,
)
_SITES = {
    "brain": ["brain"],
    "cns": ["brain", "spinal_cord", "leptomeninges"],
    "central nervous system": ["brain", "spinal_cord", "leptomeninges"],
    "leptomeningeal": ["leptomeninges"],
    "meningeal": ["leptomeninges"],
    "spinal cord": ["spinal_cord"],
}


def _find_cns(text: str, kind: str) -> Iterator[Clause]:
    for m in _CNS.finditer(text):
        words = re.findall(_SITE, m.group("sites"), re.I)
        quals = {q.lower() for q in (m.group("q"), m.group("q2")) if q}
        summary = f"{' / '.join(quals) or 'any'} {m.group('sites')} metastases"
        if (
            kind != "exclusion"
            or any(w.lower() == "spinal" for w in words)
            or quals & {"uncontrolled", "progressive", "unstable"}
            or len(quals) > 1
        ):
            yield Clause(
                m.start(),
                m.end(),
                "cns_metastases",
                summary + " (a clinician has to judge: a spinal metastasis may be "
                "vertebral; 'stable' / 'uncontrolled' need judgement)",
                None,
                typed=False,
            )
            continue
        sites = list(dict.fromkeys(s for w in words for s in _SITES[w.lower()]))
        where: dict[str, Any] = {"site": sites[0] if len(sites) == 1 else sites}
        if "symptomatic" in quals:
            where.update(symptomatic=True, status={"not": "resolved"})
        elif "untreated" in quals:
            where["status"] = "active"
        elif quals & {"active", "current"}:
            where["status"] = {"not": "resolved"}
        logic = {"exists": "metastases", "where": where}
        yes = {"site": sites[0], "status": "active", "symptomatic": True}
        yield Clause(
            m.start(),
            m.end(),
            "cns_metastases",
            summary,
            logic,
            (Sample(True, {"metastases": [yes]}), Sample(False, {"metastases": []})),
        )


CNS = Recogniser(
    "cns_metastases",
    "Brain / CNS / leptomeningeal metastases in exclusions: symptomatic, "
    "untreated (active), current, known or previous (any status). Spinal "
    "metastases (may be vertebral) and inclusion wording go to review.",
    _find_cns,
    passes=(
        "Symptomatic brain metastases",
        "Known brain metastases",
        "The patient has current central nervous system (CNS) metastases or previous brain metastases;",
    ),
    fails=(
        "Symptomatic brain or spinal metastasis.",
        "Brain metastases unless treated and stable for 4 weeks",
    ),
)

_MEAS = re.compile(
    r"(?:(?:at least one|at least 1|≥\s*1|one or more)\s+)?(?:uni-?dimensionally\s+)?"
    r"measurable\s+(?:lesions?|disease|tumou?r(?:\s+lesions?)?|target lesions?)"
    r"(?:\s*(?:\(|,)?\s*(?:according to|per|as defined by|by|based on|using|defined by|as per)?"
    r"\s*(?:the\s+)?(?:response evaluation criteria in solid tumou?rs\s*)?\(?recist\s*"
    r"(?:v(?:ersion)?\.?\s*)?1\.1\)?(?:\s+criteria)?\s*\)?)?",
    re.I,
)


def _find_meas(text: str, kind: str) -> Iterator[Clause]:
    for m in _MEAS.finditer(text):
        yield Clause(
            m.start(),
            m.end(),
            "measurable_disease",
            "measurable disease (RECIST 1.1)",
            {"fact": "measurable_disease", "is": True},
            (
                Sample(True, fact_fragment("measurable_disease", True)),
                Sample(False, fact_fragment("measurable_disease", False)),
            ),
        )


MEASURABLE = Recogniser(
    "measurable_disease",
    "Measurable disease per RECIST 1.1 (unspecified criteria are read as "
    "RECIST 1.1, the stricter reading); other response criteria: review.",
    _find_meas,
    passes=(
        "At least one measurable lesion according to RECIST 1.1 criteria.",
        "The patient must have at least one measurable lesion (RECIST1.1);",
    ),
    fails=("Measurable disease per RANO criteria", "Evaluable or measurable disease"),
)

_LIFE = re.compile(
    rf"(?:an?\s+)?(?:estimated\s+|expected\s+)?(?:life expectancy|survival(?: time)?|"
    rf"lifetime|life span)\s*(?:of\s*|is\s*|:\s*)?{COMP}\s*{NUM}\s*"
    r"(?P<unit>months?|weeks?|days?|years?)",
    re.I,
)
_LIFE_OR_MORE = re.compile(
    rf"(?:an?\s+)?(?:estimated\s+|expected\s+)?(?:life expectancy|"
    rf"survival(?: time)?)\s*(?:of\s*|is\s*)?{NUM}\s*"
    r"(?P<unit>months?|weeks?|days?|years?)\s+or\s+(?:more|longer|greater)",
    re.I,
)


def _find_life(text: str, kind: str) -> Iterator[Clause]:
    for rx in (_LIFE, _LIFE_OR_MORE):
        for m in rx.finditer(text):
            phrase = m.group(0).lower()
            if "survival" in phrase and "expect" not in phrase and "estimat" not in phrase:
                continue
            op = op_of(m.group("op")) if "op" in m.groupdict() and m.group("op") else ">="
            value = number(m.group("num"))
            unit = m.group("unit").lower().rstrip("s")

            def estimate(v: Any, unit: str = unit) -> dict[str, Any]:
                return {"life_expectancy": {"value": v, "unit": unit, "date": recent()}}

            logic, samples = threshold("life_expectancy", op, value, unit, estimate)
            yield Clause(
                m.start(), m.end(), "life_expectancy", f"life expectancy {op} {value} {unit}s", logic, samples
            )


LIFE_EXPECTANCY = Recogniser(
    "life_expectancy",
    "Life expectancy / expected survival in days, weeks, months or years (an estimate: a month is 30 days).",
    _find_life,
    passes=(
        "Life Expectancy: ≥3 months.",
        "Expected survival ≥12 weeks;",
        "The expected survival time is ≥ 3 months;",
        "life expectancy of 12 weeks or more",
    ),
    fails=("Life expectancy ≥ 3 months in the investigator's opinion, or 6 months for surgery",),
)
