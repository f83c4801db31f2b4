"""Every example of every criterion in rules/ runs through one parametrised test (like sqlfluff's
rule examples), and a meta-test fails any criterion that lacks a pass, a fail or an unknown
example, or notes/text."""

from __future__ import annotations

import pytest

from eligimatch.engine import EvalContext, default_rules_dir, load_rule_file, rule_files, status_of
from eligimatch.facts import build_facts
from eligimatch.patient import Patient

TRIALS = [load_rule_file(p) for p in rule_files(default_rules_dir())]
EXAMPLES = [
    pytest.param(t, c, ex, id=f"{t.id}:{c.id}:{i}:{ex.expect}")
    for t in TRIALS
    for c in t.criteria
    for i, ex in enumerate(c.spec.examples)
]
CRITERIA = [pytest.param(t, c, id=f"{t.id}:{c.id}") for t in TRIALS for c in t.criteria]


@pytest.mark.parametrize(("trial", "criterion", "example"), EXAMPLES)
def test_example(trial, criterion, example):
    patient = Patient.model_validate({"id": "example", **example.patient})
    facts = build_facts(patient, example.as_of)
    out = criterion.node.evaluate(facts, EvalContext(trial.id, criterion.id, trial.meta.lab_max_age_days))
    assert status_of(criterion.spec.kind, out.value) == example.expect, out.text
    if example.explanation_contains:
        assert example.explanation_contains in out.text
    # every result explains itself; every unknown says what is missing or what needs review
    assert out.text
    if out.value is None:
        assert out.missing or out.review, out.text


@pytest.mark.parametrize(("trial", "criterion"), CRITERIA)
def test_every_criterion_has_pass_fail_and_unknown_examples(trial, criterion):
    expects = {ex.expect for ex in criterion.spec.examples}
    assert expects >= {"pass", "fail", "unknown"}, (
        f"{trial.path}: {criterion.id} lacks examples for {sorted({'pass', 'fail', 'unknown'} - expects)}"
    )
    assert criterion.spec.text.strip()
