"""k × ULN when the lab reported no reference range: a verdict only where every plausible ULN of
the analyte's band gives it, for every operator (an equality can hold at one ULN between the
band's ends while both ends say it does not), the same in the explaining and the columnar
runner."""

from __future__ import annotations

from fractions import Fraction

import pytest

from eligimatch.engine import Program, compile_bytes
from eligimatch.facts import build_facts
from eligimatch.patient import Patient
from eligimatch.units import analytes
from rulefiles import criterion, header

OPS = ("<", "<=", ">", ">=", "==", "!=")
K = Fraction(2)
LOW, HIGH = (Fraction(u) for u in analytes()["alt"].uln_band)  # type: ignore[union-attr]
# values below, on and within the band of 2 × ULN, and above it
VALUES = sorted(
    {K * LOW - 1, K * LOW, K * LOW + 1, K * (LOW + HIGH) / 2, K * HIGH - 1, K * HIGH, K * HIGH + 1}
)
TRUTH = {
    "<": Fraction.__lt__,
    "<=": Fraction.__le__,
    ">": Fraction.__gt__,
    ">=": Fraction.__ge__,
    "==": Fraction.__eq__,
    "!=": Fraction.__ne__,
}


def _trial():
    text = header("BAND", "band")
    for i, op in enumerate(OPS):
        text += criterion(f'{{ quantity = "alt", op = "{op}", uln = 2 }}', f"I{i + 1}")
    return compile_bytes(text.encode(), "band.toml")


def _facts(value: Fraction, comparator: str | None = None):
    assert value.denominator == 1  # whole numbers of U/L: read exactly
    lab: dict[str, object] = {"test": "alt", "value": value.numerator, "unit": "U/L", "date": "2026-11-01"}
    if comparator is not None:
        lab["comparator"] = comparator
    return build_facts(Patient.model_validate({"id": "x", "as_of": "2026-11-01", "labs": [lab]}))


def test_a_verdict_without_a_range_holds_for_every_plausible_uln():
    trial = _trial()
    facts = [_facts(v) for v in VALUES]
    chunk = Program([trial]).run_chunk(facts)
    ulns = sorted({LOW, HIGH, (LOW + HIGH) / 2, *(v / K for v in VALUES if LOW <= v / K <= HIGH)})
    for p, (value, f) in enumerate(zip(VALUES, facts, strict=True)):
        explained = trial.evaluate(f, explain=True)
        _, fail_at, unknown_at = chunk.patient(p)[0]
        for k, op in enumerate(OPS):
            status = explained.criteria[k].status
            columnar = "fail" if k in fail_at else "unknown" if k in unknown_at else "pass"
            assert columnar == status, (value, op)
            answers = {TRUTH[op](value, K * u) for u in ulns}
            if status != "unknown":
                assert answers == {status == "pass"}, (value, op, status)
            elif op in ("==", "!="):  # unknown only where some plausible ULN could decide otherwise
                assert len(answers) == 2 or K * LOW <= value <= K * HIGH, (value, op)


@pytest.mark.parametrize("comparator", ["<", ">"])
def test_a_censored_value_is_not_taken_as_unequal_to_every_plausible_uln(comparator):
    trial = _trial()
    f = _facts(K * (LOW + HIGH) / 2, comparator)
    explained = trial.evaluate(f, explain=True)
    _, _, unknown_at = Program([trial]).run_chunk([f]).patient(0)[0]
    for k in (OPS.index("=="), OPS.index("!=")):
        assert explained.criteria[k].status == "unknown"
        assert k in unknown_at
