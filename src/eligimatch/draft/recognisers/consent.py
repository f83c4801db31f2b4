"""Informed consent."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..clause import Clause, Sample, fact_fragment
from .base import Recogniser

__all__ = ["CONSENT"]

_GIVE = re.compile(
    r"(?:(?:the\s+)?(?:patients?|subjects?|participants?)\s+(?:or\s+(?:their|his or her|his/her)"
    r"\s+legal(?:ly authori[sz]ed)?\s+representatives?\s+)?)?(?:(?:must\s+)?(?:be\s+)?"
    r"(?:able|willing)(?:\s+and\s+(?:able|willing))?\s+to\s+)?(?:have\s+)?(?:(?:fully\s+)?"
    r"understood the study and\s+)?(?:voluntarily\s+)?(?:has\s+|have\s+)?(?:sign(?:ed|s)?|"
    r"provide[ds]?|give|given|gave|obtained)\s+(?:a\s+|the\s+)?(?:written\s+|voluntary\s+|signed\s+)*"
    r"informed consent(?:\s+forms?)?(?:\s+(?:before|prior to)\s+(?:implementing\s+|performing\s+)?"
    r"(?:any\s+)?(?:trial|study|protocol)[- ]related (?:procedures|activities))?"
    r"|(?:signed\s+|written\s+)+informed consent(?:\s+forms?)?(?:\s+(?:obtained|signed))?",
    re.I,
)
_REFUSE = re.compile(
    r"(?:inability|unable|unwilling|refus(?:al|es|ed)|not able|fail(?:ure|s)?)\s+"
    r"(?:or\s+(?:unwilling|unable)\s+)?(?:to\s+)?(?:give|provide|sign|"
    r"understand and sign)?\s*(?:written\s+)?(?:informed\s+)?consent"
    r"(?:\s+forms?)?",
    re.I,
)


def _find(text: str, kind: str) -> Iterator[Clause]:
    yes, no = fact_fragment("consent_signed", True), fact_fragment("consent_signed", False)
    for m in _GIVE.finditer(text):
        yield Clause(
            m.start(),
            m.end(),
            "consent",
            "signed informed consent",
            {"fact": "consent_signed", "is": True},
            (Sample(True, yes), Sample(False, no)),
        )
    for m in _REFUSE.finditer(text):
        yield Clause(
            m.start(),
            m.end(),
            "consent",
            "no signed informed consent",
            {"fact": "consent_signed", "is": False},
            (Sample(True, no), Sample(False, yes)),
        )


CONSENT = Recogniser(
    "consent",
    "Signed informed consent (being able to consent is read as having signed, the "
    "stricter reading); 'unable to give consent' as not signed.",
    _find,
    passes=(
        "Signed informed consent;",
        "Inability to give consent.",
        "Have fully understood the study and voluntarily signed the informed consent;",
        "Sign a written informed consent form before implementing any trial-related procedures;",
    ),
    fails=("Informed consent from a parent for minors",),
)
