"""HIV, hepatitis B and hepatitis C, through the engine's evidence nodes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from ..clause import Clause, Sample, lab
from .base import Recogniser

__all__ = ["VIRAL"]

_VIRUS = (
    r"(?P<v>human immunodeficiency virus|hiv(?:[- ]?1(?:/2)?)?|hepatitis b(?: virus)?|hbv|"
    r"hepatitis c(?: virus)?|hcv)"
)
_RX = re.compile(
    r"(?:(?:a\s+)?(?:known|documented|history of|known history of|positive(?: test)? for)\s+)*"
    r"(?:(?P<active>active|chronic)\s+)?"
    + _VIRUS
    + r"(?:\s*\((?:hiv|hbv|hcv)\))?(?:\s*\(hiv:\s*hiv[- ]?1/2 antibod(?:y|ies)\))?"
    r"(?:\s+(?:infections?|positive|positivity|seropositiv\w*|disease))?(?:\s*\((?:hiv|hbv|hcv)\))?",
    re.I,
)

_CONCEPT = {"h": "hiv", "b": "hepatitis_b", "c": "hepatitis_c"}
_SAMPLES = {
    "hiv": (lab("hiv_antibody", "positive", None), lab("hiv_antibody", "negative", None)),
    "hepatitis_b": (lab("hbsag", "positive", None), lab("hbsag", "negative", None)),
    "hepatitis_c": (lab("hcv_rna_iu", Decimal(5000), "IU/mL"), lab("anti_hcv", "negative", None)),
}


def _concept(name: str) -> str:
    n = name.lower()
    if n.startswith(("hiv", "human")):
        return "hiv"
    return "hepatitis_b" if n in ("hbv",) or n.startswith("hepatitis b") else "hepatitis_c"


def _find(text: str, kind: str) -> Iterator[Clause]:
    for m in _RX.finditer(text):
        concept = _concept(m.group("v"))
        if m.group("active") and kind != "exclusion":
            yield Clause(m.start(), m.end(), "viral", f"{m.group('active')} {concept}", None, typed=False)
            continue
        yes, no = _SAMPLES[concept]
        yield Clause(
            m.start(),
            m.end(),
            "viral",
            f"{concept} (every kind of evidence; ruled out only by a recent negative test)",
            {"evidence": concept, "rule_out": "test"},
            (Sample(True, yes), Sample(False, no)),
        )


VIRAL = Recogniser(
    "viral",
    "HIV, hepatitis B, hepatitis C infection as an evidence node (problem list, results, "
    "medications). Only a recent negative test rules it out (rule_out = 'test'): a "
    "problem list that does not mention it is not a negative. In an exclusion, 'active' "
    "or 'chronic' hepatitis is read as any hepatitis B / C (the stricter reading).",
    _find,
    passes=(
        "Known human immunodeficiency virus (HIV) infection;",
        "HIV, HBV or HCV infection",
        "Known history of human immunodeficiency virus (HIV: HIV 1/2 antibodies);",
    ),
    fails=("HIV infection with CD4 count < 200", "HBV DNA > 2000 IU/mL"),
)
