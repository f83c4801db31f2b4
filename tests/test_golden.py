"""The example patients screen to their reviewed golden results (patients/expected/)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "patients" / "expected" / "outcomes.json").read_text("utf-8"))
sys.path.insert(0, str(ROOT / "scripts"))

from update_golden import outcomes  # noqa: E402

ACTUAL = outcomes()


def test_every_example_patient_has_golden_results():
    assert sorted(ACTUAL) == sorted(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_patient_screens_to_golden(name):
    assert ACTUAL.get(name) == GOLDEN[name]


def test_there_are_eligible_ineligible_and_undetermined_examples():
    verdicts = {t["verdict"] for p in GOLDEN.values() for t in p.values()}
    assert verdicts == {"eligible", "ineligible", "undetermined"}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_batch_path_without_explanations_gives_the_same_statuses(name):
    from eligimatch.api import read_patient, screen
    from eligimatch.engine import load_rules

    rules = load_rules(ROOT / "rules")
    patient = read_patient(ROOT / "patients" / name)
    _, full = screen(patient, rules)
    _, fast = screen(patient, rules, explain=False)
    assert [(r.trial_id, r.verdict, [c.status for c in r.criteria]) for r in fast] == [
        (r.trial_id, r.verdict, [c.status for c in r.criteria]) for r in full
    ]
    assert all(c.explanation == "" for r in fast for c in r.criteria)
    assert all(c.explanation for r in full for c in r.criteria)
