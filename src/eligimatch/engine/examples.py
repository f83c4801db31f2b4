"""The one example runner: a criterion's own examples (in its rule file) must give their status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import EligimatchError, InputError
from .core import status_of

if TYPE_CHECKING:
    from .compile import Criterion, Trial

__all__ = ["example_problems"]


def _lines(exc: EligimatchError) -> list[str]:
    return exc.lines() if isinstance(exc, InputError) else [str(exc)]


def example_problems(trial: Trial, criterion: Criterion, source: str) -> list[str]:
    """Every problem of ``criterion``'s examples, one line each: each problem of an example's
    patient (it must be a valid profile), a status other than the one expected, and an
    explanation without the text it must contain (both, when both are wrong)."""
    from ..api import parse_patient
    from ..facts import build_facts
    from ..jsonin import exact_json

    lines: list[str] = []
    c = criterion
    for i, ex in enumerate(c.spec.examples):
        where = f"{source}: criteria[{c.id}].examples[{i}]"
        try:
            # read strictly, as a patient file is: no "1200" for a number, no 0 for false
            patient = parse_patient(
                exact_json({"id": f"example-{c.id}-{i}", **ex.patient}), f"{where}.patient"
            )
            facts = build_facts(patient, ex.as_of, f"{where}.patient")
        except EligimatchError as exc:
            lines.extend(_lines(exc))
            continue
        out = c.node.evaluate(facts, trial.context(c.id))
        got = status_of(c.spec.kind, out.value)
        if got != ex.expect:
            lines.append(f"{where}: expected {ex.expect}, got {got} ({out.text})")
        if ex.explanation_contains and ex.explanation_contains not in out.text:
            lines.append(f"{where}: explanation lacks {ex.explanation_contains!r}: {out.text}")
    return lines
