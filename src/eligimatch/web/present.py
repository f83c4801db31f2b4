"""How results read on the pages: a one-line summary first, the evidence marked up behind it.

No decisions are made here; the wording of explanations is the engine's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup, escape

from ..engine import CriterionResult, TrialResult
from ..explain import has_more
from ..explain import summary as _summary

__all__ = ["evidence", "record_next", "summary"]

LABEL = {"eligible": "Eligible", "undetermined": "Undetermined", "ineligible": "Ineligible"}
STATUS = {"pass": "Pass", "fail": "Fail", "unknown": "Unknown"}

_MARKS = re.compile(
    r"(?P<reported>reported [^,;()]+)"
    r"|(?P<uln>ULN [^;()]*? from the lab's reference range)"
    r"|(?P<default>the lab reported no reference range)"
    r"|(?P<review>needs clinician review)"
    r"|(?P<date>\b\d{4}-\d{2}-\d{2}\b)"
)


def evidence(text: str) -> Markup:
    """The explanation, escaped, with reported values, ULN sources and dates marked."""
    out: list[str] = []
    pos = 0
    for m in _MARKS.finditer(text):
        out.append(str(escape(text[pos : m.start()])))
        body = str(escape(m.group(0)))
        kind = m.lastgroup
        if kind == "date":
            out.append(f'<time datetime="{body}">{body}</time>')
        elif kind == "review":
            out.append(f"<strong>{body}</strong>")
        else:
            cls = {"reported": "reported", "uln": "uln", "default": "uln uln-default"}[kind or ""]
            out.append(f'<span class="{cls}">{body}</span>')
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def summary(c: CriterionResult) -> str:
    """The CLI's one-sentence summary (eligimatch.explain.summary); what is missing or to review
    starts a sentence on the page."""
    text = _summary(c)
    if text.startswith(("needs clinician review: ", "missing: ")):
        return text[:1].upper() + text[1:]
    return text


def deciding(r: TrialResult) -> list[CriterionResult]:
    """The criteria that decide the verdict: the fails, else the unknowns."""
    want = "fail" if r.verdict == "ineligible" else "unknown"
    return [c for c in r.criteria if c.status == want]


def counts(r: TrialResult) -> dict[str, int]:
    n = Counter(c.status for c in r.criteria)
    return {s: n.get(s, 0) for s in ("pass", "fail", "unknown")}


def record_next(results: Iterable[TrialResult]) -> list[tuple[str, int]]:
    """What to record to decide the undetermined trials: (fact, number of trials)."""
    n: Counter[str] = Counter()
    for r in results:
        if r.verdict == "undetermined":
            n.update(dict.fromkeys(r.missing, 1))
    return sorted(n.items(), key=lambda kv: (-kv[1], kv[0]))


def review_count(results: Sequence[TrialResult]) -> int:
    return sum(len(r.review) for r in results if r.verdict == "undetermined")


def template_globals() -> dict[str, Any]:
    return {
        "LABEL": LABEL,
        "STATUS": STATUS,
        "summary": summary,
        "has_more": has_more,
        "deciding": deciding,
        "counts": counts,
    }
