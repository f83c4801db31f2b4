"""Drafts against hand encodings: the measure behind the README's "Trial intake" table.

For every typed draft criterion, its counterpart in the hand-encoded file is the set of hand
criteria of the same registry number whose text overlaps it (a hand criterion quotes a clause of
the item, or the item quotes it), else all hand criteria of that number.  Both are evaluated on
every example of the counterpart criteria and on every example patient (``patients/*.json``);
the counterpart's status is the Kleene "and" of its criteria (any fail → fail, else any unknown →
unknown, else pass), which is what the verdict sees.  A typed draft agrees when the statuses are
equal on every one; a review draft is unknown by construction and is counted as review.

    python -m eligimatch.draft.compare        # prints the table for seeds/ against rules/
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .text import unescape

if TYPE_CHECKING:
    from ..engine import Criterion, Trial
    from ..facts import Facts

__all__ = ["Comparison", "compare_seed"]


@dataclass
class Comparison:
    seed: str
    trial_id: str
    criteria: int = 0
    typed: int = 0
    compared: int = 0  # typed drafts with a hand counterpart
    agree: int = 0
    disagreements: list[str] = field(default_factory=list)
    without_counterpart: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.typed / self.criteria if self.criteria else 0.0


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", unescape(text)).strip().lower()


def _segments(text: str) -> list[str]:
    parts = re.split(r":\s|;\s*|\.\s|\n", text)
    return [p.strip(" .;,") for p in parts if len(p.strip(" .;,")) >= 12]


def counterparts(draft: Criterion, hand: Trial) -> list[Criterion]:
    number = draft.id.split(".")[0]
    group = [c for c in hand.criteria if c.id.split(".")[0] == number]
    mine = _flat(draft.spec.text)
    close = [
        c
        for c in group
        if any(_flat(s) in mine for s in _segments(c.spec.text)) or mine in _flat(c.spec.text)
    ]
    return close or group


def _status(c: Criterion, trial: Trial, facts: Facts) -> str:
    from ..engine import status_of

    return status_of(c.spec.kind, c.node.evaluate(facts, trial.context(c.id)).value)


def _and(statuses: list[str]) -> str:
    if "fail" in statuses:
        return "fail"
    return "unknown" if "unknown" in statuses else "pass"


def _facts(patient: dict[str, object], as_of: date, where: str) -> Facts | None:
    from ..errors import EligimatchError
    from ..facts import build_facts
    from ..patient import Patient

    try:
        return build_facts(Patient.model_validate({"id": where, **patient}), as_of, where)
    except (EligimatchError, ValueError):
        return None


def example_patients(directory: Path) -> list[tuple[str, Facts]]:
    from ..api import read_patient
    from ..facts import build_facts

    out = []
    for p in sorted(directory.glob("*.json")):
        out.append((p.name, build_facts(read_patient(p), None, str(p))))
    return out


def compare_seed(seed: Path, hand_file: Path, patients: Path) -> Comparison:
    from ..engine import compile_bytes, load_rule_file
    from .build import draft_file

    hand = load_rule_file(hand_file)
    result = draft_file(seed)
    drafted = compile_bytes(result.text.encode("utf-8"), f"draft of {seed.name}")
    out = Comparison(seed.name, hand.id, criteria=len(drafted.criteria))
    people = example_patients(patients)
    for d in drafted.criteria:
        if d.needs_review:
            continue
        out.typed += 1
        mates = counterparts(d, hand)
        if not mates:
            out.without_counterpart.append(d.id)
            continue
        out.compared += 1
        cases: list[tuple[str, Facts]] = list(people)
        for m in mates:
            for i, ex in enumerate(m.spec.examples):
                f = _facts(ex.patient, ex.as_of, f"{m.id}.examples[{i}]")
                if f is not None:
                    cases.append((f"{m.id} example {i}", f))
        bad = []
        for name, facts in cases:
            mine = _status(d, drafted, facts)
            theirs = _and([_status(m, hand, facts) for m in mates])
            if mine != theirs:
                bad.append(f"{name}: draft {mine}, hand {theirs}")
        if bad:
            out.disagreements.append(f"{d.id} vs {', '.join(m.id for m in mates)}: " + "; ".join(bad[:3]))
        else:
            out.agree += 1
    return out


def main() -> None:  # pragma: no cover - a report script
    root = Path(__file__).resolve().parents[3]
    for seed in sorted((root / "seeds").glob("*.txt")):
        hand = next(
            p
            for p in sorted((root / "rules").glob("*.toml"))
            if f"seeds/{seed.name}" in p.read_text(encoding="utf-8")
        )
        c = compare_seed(seed, hand, root / "patients")
        print(
            f"| {seed.name} | {c.trial_id} | {c.criteria} | {c.typed} ({c.share:.0%}) | "
            f"{c.agree}/{c.compared} |"
        )
        for line in c.disagreements:
            print("   disagrees:", line)
        if c.without_counterpart:
            print("   no hand counterpart:", ", ".join(c.without_counterpart))


if __name__ == "__main__":  # pragma: no cover
    main()
