"""Laboratory limits: blood counts with their units, × ULN limits (with the liver-metastasis
exception), INR."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ..clause import Clause, Sample, conjoin, lab
from .base import COMP, NUM, Recogniser, number, op_of, step

__all__ = ["BLOOD_COUNTS", "INR", "ULN", "threshold"]

_COUNTS = {
    "anc": r"absolute neutrophils? counts?|absolute neutrophils?|neutrophils? absolute (?:value|count)|"
    r"neutrophils? counts?|neutrophils?|absolute granulocyte count|anc|agc",
    "platelets": r"platelets? counts?|platelets?|plt|thrombocytes?",
    "hemoglobin": r"ha?emoglobin(?: concentration| level)?|hgb|hb",
    "wbc": r"white blood cells? counts?|white blood cells?|wbc|leu[ck]ocytes?(?: counts?)?",
}
# clinical spellings of count and haemoglobin units → eligimatch unit spellings
_COUNT_UNITS = [
    (r"x\s*10\s*\^?\s*9\s*/\s*l", "10^9/L"),
    (r"10\s*\^\s*9\s*/\s*l", "10^9/L"),
    (r"x\s*10\s*\^?\s*3\s*/\s*(?:ul|mm\s*\^?3)", "10^3/uL"),
    (r"10\s*\^\s*3\s*/\s*ul", "10^3/uL"),
    (r"cells\s*/\s*mm\s*\^?3", "cells/mm3"),
    (r"cells\s*/\s*ul", "cells/uL"),
    (r"/\s*mm\s*\^?3", "/mm3"),
    (r"/\s*ul", "/uL"),
    (r"k\s*/\s*ul", "10^3/uL"),
    (r"G/L", "G/L"),
]
_HB_UNITS = [
    (r"g\s*/\s*dl", "g/dL"),
    (r"g\s*/\s*l", "g/L"),
    (r"mmol\s*/\s*l", "mmol/L"),
    (r"g\s*/\s*100\s*ml", "g/dL"),
]
_UNIT_RX = "|".join(f"(?:{rx})" for rx, _ in _COUNT_UNITS + _HB_UNITS)


def _unit(raw: str, table: list[tuple[str, str]]) -> str | None:
    for rx, unit in table:
        flags = 0 if unit == "G/L" else re.I
        if re.fullmatch(rx, raw.strip(), flags):
            return unit
    return None


def threshold(
    quantity: str, op: str, value: Decimal, unit: str | None, make: Any = None
) -> tuple[dict[str, Any], tuple[Sample, ...]]:
    """A quantity comparison and its samples (a value just inside and just outside)."""
    make = make or (lambda v: lab(quantity, v, unit))
    d = step(value)
    ok = {">=": value, ">": value + d, "<=": value, "<": value - d}[op]
    bad = {">=": value - d, ">": value, "<=": value + d, "<": value}[op]
    logic: dict[str, Any] = {"quantity": quantity, "op": op, "value": value}
    if unit is not None:
        logic["unit"] = unit
    samples = tuple(Sample(t, make(v)) for t, v in ((True, ok), (False, bad)) if v >= 0)
    return logic, samples


_COUNT_RX = re.compile(
    rf"(?P<name>{'|'.join(f'(?P<{k}>{v})' for k, v in _COUNTS.items())})\b"
    rf"(?:\s*\((?:anc|agc|plt|hgb|hb|wbc)\))?\s*(?:count\s*)?(?:of\s*|:\s*|is\s*)?{COMP}\s*{NUM}"
    rf"\s*(?P<unit>{_UNIT_RX})?",
    re.I,
)


def _find_counts(text: str, kind: str) -> Iterator[Clause]:
    for m in _COUNT_RX.finditer(text):
        analyte = next(k for k in _COUNTS if m.group(k))
        op, value = op_of(m.group("op")), number(m.group("num"))
        raw = m.group("unit")
        table = _HB_UNITS if analyte == "hemoglobin" else _COUNT_UNITS
        unit = _unit(raw, table) if raw else None
        label = f"{analyte} {op} {value} {raw or ''}".strip()
        if unit is None:
            yield Clause(
                m.start(),
                m.end(),
                "blood_counts",
                f"{label} (no unit of {analyte} given: a clinician has to read it)",
                None,
                typed=False,
            )
            continue
        logic, samples = threshold(analyte, op, value, unit)
        yield Clause(m.start(), m.end(), "blood_counts", f"{analyte} {op} {value} {unit}", logic, samples)


BLOOD_COUNTS = Recogniser(
    "blood_counts",
    "ANC, platelets, haemoglobin and WBC against a threshold with its unit "
    "(10^9/L, /mm³, /µL, G/L, g/dL, g/L, mmol/L); without a unit: review.",
    _find_counts,
    passes=(
        "absolute neutrophil count ≥1.5×10⁹/L",
        "platelets ≥100×10^9/L",
        "Hemoglobin ≥50 g/L",
        "hemoglobin concentration ≥9g/dL",
        "ANC ≥ 1500/mm3",
        "platelet count ≥ 120 x 109/L",
        "WBC ≥ 3.0 x 10^9/L",
    ),
    fails=("platelets ≥ 100,000", "Hgb > 12", "neutrophils ≥ 1.5 × 10⁹/L (without G-CSF)"),
)

# ---------------------------------------------------------------------------- × ULN

_ULN_NAMES = {
    "bilirubin": r"(?:total\s+)?(?:serum\s+)?bilirubin(?:\s*\((?:tbil|tb)\))?|tbil",
    "alt": r"alanine (?:amino)?transaminase|alanine aminotransferase|sgpt|alt|"
    r"glutamic[- ]pyruvic transaminase",
    "ast": r"aspartate (?:amino)?transaminase|aspartate aminotransferase|sgot|ast|"
    r"glutamic[- ]oxaloacetic transaminase",
    "transaminases": r"(?:serum\s+)?transaminases",
    "creatinine": r"(?:serum\s+)?creatinine(?!\s*clearance)(?:\s*\((?:cr|scr)\))?|scr|cr",
    "aptt": r"activated partial thromboplastin time|partial thromboplastin time|a?ptt",
}
# a plausible upper limit of normal for examples, with its unit
_ULN_EXAMPLE = {
    "bilirubin": (Decimal(20), "umol/L"),
    "alt": (Decimal(40), "U/L"),
    "ast": (Decimal(40), "U/L"),
    "creatinine": (Decimal(100), "umol/L"),
    "aptt": (Decimal(35), "s"),
}
_NAME = "|".join(f"(?:{v})" for v in _ULN_NAMES.values())
_ABBR = r"(?:\s*\((?:alt|ast|sgpt|sgot|tbil|tb|cr|scr|aptt|ptt)\))?"
_SUBJECTS = rf"(?P<subjects>(?:{_NAME}){_ABBR}(?:\s*(?:,|/|and|or|and/or)\s*(?:{_NAME}){_ABBR})*)"
_TIMES = (
    r"\s*(?:x|times|fold|-fold)?\s*(?:the\s+)?(?:institutional\s+)?"
    r"(?:upper limits? of (?:the\s+)?normal(?: range)?|upper normal limit|uln)"
    r"(?:\s*\(uln\))?(?:\s*(?:of|for) the (?:institution|laboratory))?"
)
_LIVER = r"liver metastas[ie]s|hepatic metastas[ie]s|liver involvement|liver metastatic disease"
_PAREN = (
    rf"\s*\(\s*(?:or\s+)?{COMP.replace('?P<op>', '?P<op2>')}\s*"
    rf"{NUM.replace('?P<num>', '?P<num2>')}{_TIMES}\s+(?:for|in|if)\s+(?:patients|subjects|"
    rf"participants|those|cases)?\s*(?:with\s+)?(?:documented\s+|known\s+)?(?:{_LIVER})"
    r"(?:\s+(?:are\s+)?present)?\s*\)"
)
_ULN_RX = re.compile(
    rf"{_SUBJECTS}\s*(?:level\s*)?(?:of\s*|:\s*|is\s*)?{COMP}\s*{NUM}{_TIMES}"
    rf"(?:{_PAREN})?",
    re.I,
)
_LIVER_RX = re.compile(
    rf"(?:in (?:the )?case of|in the presence of|for patients with|"
    rf"if (?:there (?:are|is) )?|with)\s+(?:{_LIVER})\s*,?\s*{_SUBJECTS}\s*"
    rf"{COMP}\s*{NUM}{_TIMES}",
    re.I,
)


def subjects(text: str) -> list[str]:
    found: list[str] = []
    for part in re.split(r"\s*(?:,|/|\band/or\b|\band\b|\bor\b)\s*", re.sub(_ABBR, "", text, flags=re.I)):
        for key, rx in _ULN_NAMES.items():
            if part and re.fullmatch(rx, part.strip(), re.I):
                found += ["alt", "ast"] if key == "transaminases" else [key]
                break
    return list(dict.fromkeys(found))


def liver_met() -> dict[str, Any]:
    return {"exists": "metastases", "where": {"site": "liver", "status": {"not": "resolved"}}}


def uln_logic(
    analyte: str, op: str, k: Decimal, liver: Decimal | None
) -> tuple[dict[str, Any], tuple[Sample, ...]]:
    uln, unit = _ULN_EXAMPLE[analyte]

    def result(v: Decimal, **more: Any) -> dict[str, Any]:
        frag = lab(analyte, v, unit, reference_range={"high": uln})
        frag.update(more)
        return frag

    d = Decimal(1)
    base: dict[str, Any] = {"quantity": analyte, "op": op, "uln": k}
    ok = {"<=": k * uln, "<": k * uln - d, ">=": k * uln, ">": k * uln + d}[op]
    bad = {"<=": k * uln + d, "<": k * uln, ">=": k * uln - d, ">": k * uln}[op]
    if liver is None:
        return base, (Sample(True, result(ok)), Sample(False, result(bad)))
    high = {"quantity": analyte, "op": op, "uln": liver}
    logic = {"any": [base, {"all": [liver_met(), high]}]}
    return logic, (
        Sample(True, result(ok)),
        Sample(False, result(liver * uln + d)),
        Sample(True, result(liver * uln, metastases=[{"site": "liver", "status": "active"}])),
        Sample(False, result(liver * uln, metastases=[])),
    )


def _find_uln(text: str, kind: str) -> Iterator[Clause]:
    for m in _ULN_RX.finditer(text):
        names = subjects(m.group("subjects"))
        op, k = op_of(m.group("op")), number(m.group("num"))
        liver = number(m.group("num2")) if m.group("num2") else None
        typed = bool(names) and (
            liver is None or (op in ("<=", "<") and op_of(m.group("op2")) == op and liver > k)
        )
        parts, per = [], []
        for a in names:
            logic, s = uln_logic(a, op, k, liver if typed else None)
            parts.append(logic)
            per.append(s)
        samples = conjoin(per) if per else ()
        where = f" ({op} {liver} × ULN with liver metastases)" if liver is not None else ""
        summary = f"{' and '.join(names) or m.group('subjects')} {op} {k} × ULN{where}"
        if not typed or not parts:
            yield Clause(m.start(), m.end(), "uln", summary, None, typed=False)
            continue
        yield Clause(
            m.start(),
            m.end(),
            "uln",
            summary,
            parts[0] if len(parts) == 1 else {"all": parts},
            samples,
            data={"analytes": names, "op": op, "k": k},
        )
    for m in _LIVER_RX.finditer(text):
        names = subjects(m.group("subjects"))
        yield Clause(
            m.start(),
            m.end(),
            "uln",
            f"with liver metastases: {' and '.join(names)} {m.group('op')} {m.group('num')} × ULN",
            None,
            role="liver_exception",
            typed=bool(names),
            data={"analytes": names, "op": op_of(m.group("op")), "k": number(m.group("num"))},
        )


ULN = Recogniser(
    "uln",
    "Limits as a multiple of the lab's upper limit of normal (bilirubin, ALT, AST, "
    "transaminases, creatinine, aPTT), with the liver-metastasis exception written in "
    "parentheses or as a following clause ('In case of liver metastasis, AST and ALT "
    "≤ 5 × ULN').",
    _find_uln,
    passes=(
        "Total bilirubin ≤1.5× upper limit of normal (ULN)",
        "ALT and AST ≤2.5× ULN (≤5× ULN for patients with liver metastasis)",
        "AST/ALT ≤ 3 x ULN",
        "serum transaminases ≤ 2.5 times ULN",
        "ALT ≤2.5×ULN, AST ≤2.5×ULN; In case of liver metastasis, AST and ALT≤5×ULN",
    ),
    fails=(
        "ALT ≤ 2.5 × ULN (≤ 5 × ULN with liver or bone metastases)",
        "In case of liver metastasis, AST ≤ 5 × ULN; ALT ≤ 2.5 × ULN",
        "bilirubin ≤ 1.5 × ULN (≤ 3 × ULN in Gilbert's syndrome)",
    ),
)

_INR_RX = re.compile(
    rf"(?:international normali[sz]ed ratio|international standardi[sz]ed ratio|"
    rf"inr)(?:\s*\(inr\))?\s*(?:of\s*)?{COMP}\s*{NUM}(?!\s*(?:x|times)\b|\d)",
    re.I,
)


def _find_inr(text: str, kind: str) -> Iterator[Clause]:
    for m in _INR_RX.finditer(text):
        if re.match(_TIMES, text[m.end() :], re.I):
            continue
        op, value = op_of(m.group("op")), number(m.group("num"))
        logic, samples = threshold("inr", op, value, "1")
        yield Clause(m.start(), m.end(), "inr", f"INR {op} {value}", logic, samples)


INR = Recogniser(
    "inr",
    "INR against a plain number ('INR > 1.5'); INR as a multiple of ULN is left to the × ULN recogniser.",
    _find_inr,
    passes=("International Standardized Ratio (INR)>1.5", "INR ≤ 1.5"),
    fails=("INR ≤ 1.5 unless on anticoagulants",),
)
