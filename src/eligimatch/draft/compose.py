"""One item → one drafted criterion: typed logic when the recognisers account for the whole
item, a review node otherwise.

Accounting: the clauses found (longest first, no overlaps) are cut out of the item; what is
left — a heading such as "Organ Function: Hematology:", punctuation and the filler words of
:data:`.text.FILLER` — must say nothing.  A leftover word ("no", "except", "unless", "history",
a number, a comparator) sends the item to review.  Clauses are combined as written: "or" → any,
"and" → all; a bare list ("A, B, C") is all for an inclusion and any for an exclusion, the
stricter reading of each; "and" in an exclusion, "and" mixed with "or", and serum creatinine
next to creatinine clearance with no word between them are ambiguous → review.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from .clause import Clause, Sample, conjoin
from .recognisers import RECOGNISERS
from .recognisers.labs import uln_logic
from .text import heading_end, leftover_words, normalise

__all__ = ["Drafted", "compose"]


@dataclass
class Drafted:
    kind: str
    logic: dict[str, Any]
    typed: bool
    recognisers: list[str]
    summaries: list[str]
    clauses: list[Clause] = field(default_factory=list)
    leftover: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def draft(self) -> str:
        return "+".join(self.recognisers) if self.typed else "review"


def _found(norm: str, kind: str, start: int) -> list[Clause]:
    found = [c for r in RECOGNISERS for c in r.find(norm, kind) if c.end > start and c.end > c.start]
    found.sort(key=lambda c: (-(c.end - c.start), c.start))
    kept: list[Clause] = []
    for c in found:
        if all(c.end <= k.start or c.start >= k.end for k in kept):
            kept.append(c)
    return sorted(kept, key=lambda c: c.start)


def _connective(gap: str) -> str:
    g = gap.lower()
    if re.search(r"\band\s*/\s*or\b|\bor\b", g):
        return "or"
    if re.search(r"\band\b", g):
        return "and"
    return "list"


def _review(text: str, kind: str) -> dict[str, Any]:
    flat = re.sub(r"\s+", " ", text).strip()
    if kind == "inclusion":
        return {"review": f"whether the patient meets this criterion: {flat}"}
    return {"review": f"whether this exclusion applies: {flat}"}


def compose(text: str, kind: str) -> Drafted:
    """Draft the logic of one item text (markdown escapes already removed)."""
    norm = normalise(text)
    head = heading_end(norm)
    clauses = _found(norm, kind, head)
    summaries = [c.summary for c in clauses]
    names = list(dict.fromkeys(c.recogniser for c in clauses))

    def review(reason: str, leftover: list[str] | None = None) -> Drafted:
        return Drafted(kind, _review(text, kind), False, names, summaries, clauses, leftover or [], reason)

    if not clauses:
        return review("no recogniser matched")
    blanked = list(norm)
    for c in clauses:
        blanked[c.start : c.end] = " " * (c.end - c.start)
    rest = "".join(blanked[min([head, *(c.start for c in clauses)]) :])
    left = leftover_words(rest)
    if left:
        return review("words not accounted for", left)
    if any(not c.typed for c in clauses):
        return review(
            "recognised, but eligimatch cannot decide: "
            + "; ".join(c.summary for c in clauses if not c.typed)
        )
    conditions = _apply_liver(clauses)
    if conditions is None:
        return review("a liver-metastasis exception that matches no × ULN limit before it")
    joins = [_connective("".join(blanked[a.end : b.start])) for a, b in itertools.pairwise(conditions)]
    renal = [
        c.data.get("renal") or ("creatinine" if "creatinine" in c.data.get("analytes", []) else None)
        for c in conditions
    ]
    for (a, b), j in zip(itertools.pairwise(renal), joins, strict=True):
        if a and b and a != b and j == "list":
            return review(
                "serum creatinine and creatinine clearance without 'and' / 'or' between them: ambiguous"
            )
    if "and" in joins and "or" in joins:
        return review("'and' and 'or' mixed: ambiguous grouping")
    if kind == "exclusion" and "and" in joins:
        return review("'and' between excluding conditions: both, or either?")
    logics = [c.logic for c in conditions if c.logic is not None]
    if not logics:
        logic: dict[str, Any] = {"expr": "true"}
    elif len(logics) == 1:
        logic = logics[0]
    elif "or" in joins or (kind == "exclusion"):
        logic = {"any": logics}
    else:
        logic = {"all": logics}
    return Drafted(kind, logic, True, names, summaries, conditions)


def _apply_liver(clauses: list[Clause]) -> list[Clause] | None:
    """The clauses with each liver-metastasis exception folded into the × ULN limits it
    relaxes; None when an exception relaxes nothing stated before it."""
    out = [c for c in clauses if c.role != "liver_exception"]
    for exc in (c for c in clauses if c.role == "liver_exception"):
        want = set(exc.data["analytes"])
        for i, c in enumerate(out):
            names = c.data.get("analytes")
            if not names or c.start > exc.start or not want & set(names):
                continue
            if (
                c.data["op"] not in ("<=", "<")
                or exc.data["op"] != c.data["op"]
                or exc.data["k"] <= c.data["k"]
            ):
                return None
            parts, per = [], []
            for a in names:
                logic, s = uln_logic(a, c.data["op"], c.data["k"], exc.data["k"] if a in want else None)
                parts.append(logic)
                per.append(s)
            samples = conjoin(per)
            out[i] = Clause(
                c.start,
                c.end,
                c.recogniser,
                c.summary + f" ({exc.summary})",
                parts[0] if len(parts) == 1 else {"all": parts},
                samples,
                data={**c.data, "analytes": names},
            )
            want -= set(names)
        if want:
            return None
    return out


def samples_of(d: Drafted) -> list[tuple[Sample, ...]]:
    return [c.samples for c in d.clauses if c.logic is not None]
