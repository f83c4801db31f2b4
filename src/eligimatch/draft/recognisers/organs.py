"""Renal and cardiac limits: creatinine clearance, creatinine in mg/dL or µmol/L, eGFR
(recognised, not typed), LVEF, QTc (recognised, not typed)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..clause import Clause, lab
from .base import COMP, NUM, Recogniser, number, op_of
from .labs import threshold

__all__ = ["CREATININE", "LVEF", "QTC"]

_CRCL = re.compile(
    rf"(?:calculated\s+|measured\s+)?(?:creatinine clearance|crcl|ccr|clcr)"
    r"(?:\s*\((?:crcl|ccr|clcr|cockcroft[- ]gault)\))?"
    r"(?:\s*(?:\(|by\s+|using\s+)?(?:the\s+)?cockcroft[- ]gault(?: formula| equation)?\)?)?"
    rf"\s*(?:of\s*|:\s*|is\s*)?{COMP}\s*{NUM}\s*(?P<unit>ml\s*/\s*min(?:ute)?)"
    r"(?P<bsa>\s*/\s*1\.73\s*m\s*\^?2)?",
    re.I,
)
_CREA = re.compile(
    rf"(?:serum\s+)?creatinine(?!\s*clearance)(?:\s*\((?:cr|scr)\))?\s*"
    rf"(?:of\s*|:\s*|is\s*)?{COMP}\s*{NUM}\s*(?P<unit>mg\s*/\s*dl|[uµ]mol\s*/\s*l)",
    re.I,
)
_EGFR = re.compile(
    rf"(?:egfr|estimated glomerular filtration rate|glomerular filtration rate|gfr)"
    rf"(?:\s*\(e?gfr\))?\s*(?:of\s*)?{COMP}\s*{NUM}\s*(?:ml\s*/\s*min)?"
    r"(?:\s*/\s*1\.73\s*m\s*\^?2)?",
    re.I,
)


def _find_renal(text: str, kind: str) -> Iterator[Clause]:
    for m in _CRCL.finditer(text):
        op, value = op_of(m.group("op")), number(m.group("num"))
        if m.group("bsa"):
            yield Clause(
                m.start(),
                m.end(),
                "creatinine",
                f"creatinine clearance {op} {value} mL/min/1.73 m² (normalised to body "
                "surface: not the mL/min eligimatch computes)",
                None,
                typed=False,
            )
            continue
        logic, samples = threshold("crcl", op, value, "mL/min")
        yield Clause(
            m.start(),
            m.end(),
            "creatinine",
            f"creatinine clearance {op} {value} mL/min",
            logic,
            samples,
            data={"renal": "crcl"},
        )
    for m in _CREA.finditer(text):
        op, value = op_of(m.group("op")), number(m.group("num"))
        unit = "mg/dL" if m.group("unit").lower().startswith("mg") else "umol/L"
        logic, samples = threshold("creatinine", op, value, unit)
        yield Clause(
            m.start(),
            m.end(),
            "creatinine",
            f"creatinine {op} {value} {unit}",
            logic,
            samples,
            data={"renal": "creatinine"},
        )
    for m in _EGFR.finditer(text):
        yield Clause(
            m.start(),
            m.end(),
            "creatinine",
            f"eGFR {m.group('op')} {m.group('num')} (eligimatch has creatinine clearance, not eGFR)",
            None,
            typed=False,
        )


CREATININE = Recogniser(
    "creatinine",
    "Creatinine clearance in mL/min and serum creatinine in mg/dL or µmol/L (× ULN "
    "is read by the uln recogniser). 'or' is read as written; creatinine and "
    "clearance joined by a comma only is ambiguous and goes to review.",
    _find_renal,
    passes=(
        "creatinine clearance ≥50 mL/min",
        "Serum creatinine ≤1.5× ULN or creatinine clearance ≥50 mL/min",
        "serum creatinine ≤ 1.5 mg/dL",
    ),
    fails=("serum creatinine ≤1.5×ULN, creatinine clearance (CCr)≥60ml/min", "eGFR ≥ 60 mL/min/1.73 m2"),
)

_LVEF = re.compile(
    r"(?:left ventricular ejection fraction|lvef|ejection fraction)"
    r"(?:\s*\((?:lvef|left ventricular ejection fraction)\))?"
    r"(?:\s*(?:by|on|as measured by|assessed by)\s+(?:echocardiogra(?:m|phy)|echo|"
    r"muga(?: scan)?)(?:\s+or\s+(?:muga(?: scan)?|echocardiogra(?:m|phy)|echo))?)?"
    rf"\s*(?:of\s*|:\s*|is\s*)?{COMP}\s*{NUM}\s*%"
    r"(?:\s+(?:by|on)\s+(?:echocardiogra(?:m|phy)|echo|muga(?: scan)?))?",
    re.I,
)


def _find_lvef(text: str, kind: str) -> Iterator[Clause]:
    for m in _LVEF.finditer(text):
        op, value = op_of(m.group("op")), number(m.group("num"))
        logic, samples = threshold("lvef", op, value, "%", lambda v: lab("lvef", v, "%"))
        yield Clause(m.start(), m.end(), "lvef", f"LVEF {op} {value} %", logic, samples)


LVEF = Recogniser(
    "lvef",
    "Left ventricular ejection fraction against a percentage.",
    _find_lvef,
    passes=(
        "Left ventricular ejection fraction ≥40%",
        "LVEF(Left ventricular Ejection Fraction)<50%",
        "LVEF ≥ 50% by echocardiogram",
    ),
    fails=("LVEF ≥ 50% or above the institution's lower limit of normal",),
)

_QTC = re.compile(
    rf"(?:qtcf?|corrected qt(?: interval)?|qt interval corrected)(?:\s*interval)?"
    rf"(?:\s*\((?:fridericia|bazett)[^)]{{0,20}}\))?\s*(?:of\s*)?{COMP}\s*{NUM}\s*"
    r"(?:ms|msec|milliseconds)",
    re.I,
)


def _find_qtc(text: str, kind: str) -> Iterator[Clause]:
    for m in _QTC.finditer(text):
        yield Clause(
            m.start(),
            m.end(),
            "qtc",
            f"QTc {m.group('op')} {m.group('num')} ms (eligimatch records no QTc: a clinician reads the ECG)",
            None,
            typed=False,
        )


QTC = Recogniser(
    "qtc",
    "QTc limits in ms: recognised, never typed (the profile has no ECG intervals).",
    _find_qtc,
    passes=(),
    fails=("QTcF > 470 ms",),
)
