"""Prior treatment: washout windows in days, weeks or months (anticancer therapy, major
surgery, investigational drugs, radiotherapy) and prior treatment with a named drug."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..clause import AS_OF, Clause, Sample
from .base import COUNT, Recogniser, number

__all__ = ["PRIOR_DRUG", "WASHOUT"]

_ANTICANCER = (
    r"(?:systemic\s+)?(?:anti-?tumou?r|anti-?cancer|antineoplastic|anti-?neoplastic)"
    r"\s+(?:treatments?|therap(?:y|ies)|drugs?|agents?)"
)
_WHAT = (
    rf"(?P<what>{_ANTICANCER}|major surg(?:ery|ical procedures?)|radiotherapy|radiation therapy|"
    r"investigational (?:drugs?|agents?|products?|therapy|treatment|medicinal products?))"
)
_UNIT = r"(?P<u>days?|weeks?|months?)"
_SINCE = re.compile(
    rf"(?:at least|≥|>=|a minimum of|minimum of)\s*{COUNT}\s*{_UNIT}\s+"
    r"(?:must have\s+)?(?:have\s+)?(?:elapsed\s+|passed\s+)?(?:since|from|after)\s+"
    r"(?:the\s+)?(?:end of\s+|completion of\s+)?(?:the\s+)?(?:last|prior|previous|"
    rf"any|most recent)\s+(?:dose of\s+)?(?:any\s+)?{_WHAT}",
    re.I,
)
_WITHIN = re.compile(
    r"(?:(?:received|receiving|had|undergone|underwent|prior|previous|treatment with|"
    r"treated with)\s+)*(?:any\s+)?(?:prior\s+)?"
    + _WHAT
    + rf"\s+within\s+(?:the\s+)?(?:past\s+|last\s+|preceding\s+|prior\s+)?{COUNT}\s*{_UNIT}"
    r"(?:\s+(?:before|prior to|of|preceding)\s+(?:the\s+)?(?:enrol?lment|registration|"
    r"randomi[sz]ation|study (?:entry|treatment|start)|treatment start|start of (?:the\s+)?"
    r"(?:study\s+)?treatment|(?:the\s+)?first dose(?: of (?:the\s+)?(?:study )?(?:drug|treatment|"
    r"medication))?))?",
    re.I,
)


def _duration(n: str, unit: str) -> str:
    return f"P{number(n)}{unit[0].upper()}"


def _kind(what: str) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """(label, the exists nodes without window, a treatment that matches)."""
    w = what.lower()
    if w.startswith("major"):
        return (
            "major surgery",
            [{"exists": "treatments", "where": {"type": "surgery", "major": True}}],
            {"type": "surgery", "major": True},
        )
    if w.startswith("investigational"):
        return (
            "investigational treatment",
            [{"exists": "treatments", "where": {"type": "investigational"}}],
            {"type": "investigational"},
        )
    if w.startswith("radi"):
        return (
            "radiotherapy",
            [{"exists": "treatments", "where": {"type": "radiotherapy"}}],
            {"type": "radiotherapy"},
        )
    return (
        "anticancer treatment",
        [
            {"exists": "treatments", "where": {"anticancer": True}},
            {"exists": "medications", "where": {"anticancer": True}},
        ],
        {"type": "chemotherapy", "agents": ["doxorubicin"]},
    )


def _clause(start: int, end: int, what: str, window: str, negate: bool) -> Clause:
    label, nodes, item = _kind(what)
    within = [{**n, "within": window} for n in nodes]
    logic: dict[str, Any] = within[0] if len(within) == 1 else {"any": within}
    if negate:
        logic = {"not": logic}
    recent_item = {
        **item,
        "start": AS_OF.replace(day=1).replace(month=1),
        "end": AS_OF.replace(day=AS_OF.day - 1) if AS_OF.day > 1 else AS_OF,
    }
    had = {"treatments": [recent_item], "medications": []}
    none: dict[str, Any] = {"treatments": [], "medications": []}
    summary = f"no {label} within {window}" if negate else f"{label} within {window}"
    return Clause(start, end, "washout", summary, logic, (Sample(not negate, had), Sample(negate, none)))


def _find(text: str, kind: str) -> Iterator[Clause]:
    for m in _SINCE.finditer(text):
        yield _clause(
            m.start(), m.end(), m.group("what"), _duration(m.group("num"), m.group("u")), negate=True
        )
    for m in _WITHIN.finditer(text):
        yield _clause(
            m.start(), m.end(), m.group("what"), _duration(m.group("num"), m.group("u")), negate=False
        )


WASHOUT = Recogniser(
    "washout",
    "Washout windows: 'at least 4 weeks since the last anti-tumour treatment' (none "
    "within the window, which ends on the evaluation date: a treatment that ended "
    "exactly 4 weeks earlier is allowed) and 'major surgery within 4 weeks' (one "
    "within the window). Anticancer drugs in the medication list count.",
    _find,
    passes=(
        "At least 4 weeks since the last anti-tumor treatment.",
        "Major surgery within 4 weeks",
        "Minimum of two weeks since any major surgery",
        "Prior treatment with any investigational drug within the preceding 4 weeks.",
    ),
    fails=(
        "More than 4 weeks since the last anti-tumor treatment",
        "Chemotherapy within 4 weeks (6 weeks for nitrosoureas)",
    ),
)

_DRUG = re.compile(
    r"(?:(?:have|has|had)\s+)?(?:(?:been\s+)?(?:received|treated))\s+(?:with\s+)?"
    r"(?:any\s+)?(?:previous\s+|prior\s+)?(?:treatment\s+|therapy\s+)?(?:with\s+)?"
    r"(?P<drug>[a-z][a-z0-9-]{3,})|(?:previous|prior)\s+(?:treatment|therapy|exposure)"
    r"\s+(?:with|to)\s+(?P<drug2>[a-z][a-z0-9-]{3,})",
    re.I,
)


def _find_drug(text: str, kind: str) -> Iterator[Clause]:
    from ...drugs import catalogue

    for m in _DRUG.finditer(text):
        word = m.group("drug") or m.group("drug2")
        agent = catalogue().agent(word)
        if agent is None:
            continue
        name = agent.name
        logic = {
            "any": [
                {"exists": "treatments", "where": {"agents": [name]}, "label": f"earlier {name}"},
                {
                    "exists": "medications",
                    "where": {"agents": [name]},
                    "label": f"{name} in the medication list",
                },
            ]
        }
        given = {
            "type": getattr(agent, "treatment", None) or "targeted_therapy",
            "agents": [name],
            "start": AS_OF.replace(year=AS_OF.year - 1),
            "end": AS_OF.replace(month=1),
        }
        yield Clause(
            m.start(),
            m.end(),
            "prior_drug",
            f"earlier treatment with {name}",
            logic,
            (
                Sample(True, {"treatments": [given], "medications": []}),
                Sample(False, {"treatments": [], "medications": []}),
            ),
        )


PRIOR_DRUG = Recogniser(
    "prior_drug",
    "Earlier treatment with a drug the catalogue knows (name, alias, brand or "
    "research code), in the treatment history or the medication list.",
    _find_drug,
    passes=(
        "Patients who have received previous treatment with Surufatinib;",
        "Prior therapy with pazopanib",
    ),
    fails=("Prior therapy with XY-101", "Previous exposure to chemotherapy."),
)
