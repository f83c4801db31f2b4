"""Performance status: ECOG (also WHO / Zubrod, the same scale) and Karnofsky (recognised,
but eligimatch records ECOG only, so a Karnofsky limit goes to review)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..clause import Clause, Sample, recent
from .base import COMP, NUM, Recogniser, op_of

__all__ = ["ECOG", "KARNOFSKY"]

_NAME = (
    r"(?:eastern cooperative oncology group\s*(?:\(ecog\))?|ecog(?:\s*\(eastern cooperative"
    r" oncology group\))?|(?:who|zubrod) performance status)"
)
_SCALE = (
    rf"{_NAME}\s*(?:performance|physical)?\s*(?:status|score)?\s*(?:\(ps\)|ps)?\s*"
    r"(?:score\s*)?(?:of\s*)?:?\s*(?:ps\s*)?"
)
_RANGE = re.compile(rf"{_SCALE}(?P<lo>[0-4])\s*(?:-|to|~)\s*(?P<hi>[0-4])(?:\s*points?)?", re.I)
_LIST = re.compile(
    rf"{_SCALE}(?P<list>[0-4](?:\s*,\s*[0-4])*\s*(?:,\s*)?(?:or|and)\s*[0-4])"
    r"(?:\s*points?)?",
    re.I,
)
_COMP = re.compile(rf"{_SCALE}{COMP}\s*(?P<n>[0-4])(?:\s*points?)?", re.I)


def _ecog(start: int, end: int, lo: int, hi: int, op: str | None = None) -> Clause:
    def score(v: int) -> dict[str, object]:
        return {"ecog": {"value": v, "date": recent()}}

    if op is not None:  # one comparison
        good, wrong = {"<=": (hi, hi + 1), "<": (hi - 1, hi), ">=": (hi, hi - 1), ">": (hi + 1, hi)}[op]
        samples = tuple(Sample(t, score(v)) for t, v in ((True, good), (False, wrong)) if 0 <= v <= 5)
        return Clause(
            start, end, "ecog", f"ECOG {op} {hi}", {"quantity": "ecog", "op": op, "value": hi}, samples
        )
    logic: dict[str, object] = {"quantity": "ecog", "op": "<=", "value": hi}
    if lo > 0:
        logic = {"all": [{"quantity": "ecog", "op": ">=", "value": lo}, logic]}
    bad = [v for v in (hi + 1, lo - 1) if 0 <= v <= 5]
    return Clause(
        start,
        end,
        "ecog",
        f"ECOG {lo} to {hi}",
        logic,
        (Sample(True, score(hi)), *(Sample(False, score(v)) for v in bad)),
    )


def _find(text: str, kind: str) -> Iterator[Clause]:
    for m in _RANGE.finditer(text):
        lo, hi = int(m.group("lo")), int(m.group("hi"))
        if lo <= hi:
            yield _ecog(m.start(), m.end(), lo, hi)
    for m in _LIST.finditer(text):
        values = sorted(int(v) for v in re.findall(r"[0-4]", m.group("list")))
        if values == list(range(values[0], values[-1] + 1)):  # contiguous: 0, 1 or 2
            yield _ecog(m.start(), m.end(), values[0], values[-1])
    for m in _COMP.finditer(text):
        yield _ecog(m.start(), m.end(), 0, int(m.group("n")), op_of(m.group("op")))


ECOG = Recogniser(
    "ecog",
    "ECOG performance status limits (WHO and Zubrod are the same scale): '0-2', '0 or 1', '≤ 1'.",
    _find,
    passes=(
        "ECOG performance status 0-2",
        "ECOG PS 0-2;",
        "WHO performance status ≤1",
        "Eastern Cooperative Oncology Group (ECOG) performance status 0 - 2.",
        "ECOG (Eastern Cooperative Oncology Group) performance status 0 or 1;",
    ),
    fails=(
        "ECOG physical status 0 or 1 points (PS0-2 points for amputees);",
        "ECOG 0-1, or 2 if due to the tumour",
    ),
)

_KPS = re.compile(
    rf"(?:karnofsky|kps|lansky)\s*(?:performance\s*)?(?:status|score|index)?\s*"
    rf"(?:\((?:kps|lps)\))?\s*(?:score\s*)?(?:of\s*)?{COMP}?\s*{NUM}\s*%?",
    re.I,
)


def _find_kps(text: str, kind: str) -> Iterator[Clause]:
    for m in _KPS.finditer(text):
        op = op_of(m.group("op")) if m.group("op") else "?"
        yield Clause(
            m.start(),
            m.end(),
            "karnofsky",
            f"Karnofsky / Lansky {op} {m.group('num')} (eligimatch records ECOG only: "
            "a clinician has to judge it)",
            None,
            typed=False,
        )


KARNOFSKY = Recogniser(
    "karnofsky",
    "Karnofsky / Lansky limits: recognised, never typed (the profile records ECOG "
    "only, and converting scales is a clinician's call).",
    _find_kps,
    passes=(),
    fails=("Karnofsky performance status ≥ 70%",),
)
