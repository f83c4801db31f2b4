"""The one example runner: a criterion's own examples (in its rule file) must give their status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import EligimatchError
from .core import status_of

if TYPE_CHECKING:
    from .compile import Criterion, Trial

__all__ = ["example_problems"]


def example_problems(trial: Trial, criterion: Criterion, source: str) -> list[str]:
    """One line per example of ``criterion`` that does not give what it expects."""
    from ..api import parse_patient
    from ..facts import build_facts
    from ..jsonin import exact_json

    lines: list[str] = []
    c = criterion
    for i, ex in enumerate(c.spec.examples):
        where = f"{source}: criteria[{c.id}].examples[{i}]"
        try:
            # read strictly, as a patient file is: no "1200" for a number, no 0 for false
            patient = parse_patient(exact_json({"id": f"example-{c.id}-{i}", **ex.patient}),
                                    f"{where}.patient")
        except EligimatchError as exc:
            lines.append(str(exc))
            continue
        try:
            facts = build_facts(patient, ex.as_of, where)
        except EligimatchError as exc:
            lines.append(str(exc))
            continue
        out = c.node.evaluate(facts, trial.context(c.id))
        got = status_of(c.spec.kind, out.value)
        if got != ex.expect:
            lines.append(f"{where}: expected {ex.expect}, got {got} ({out.text})")
        elif ex.explanation_contains and ex.explanation_contains not in out.text:
            lines.append(f"{where}: explanation lacks {ex.explanation_contains!r}: {out.text}")
    return lines
