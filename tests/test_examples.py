"""The example runner (``eligimatch check``) reports every problem of an example, one line each:
each problem of its patient, and both a wrong status and a missing explanation."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import run_main
from eligimatch.engine import check_rules
from eligimatch.rulefmt import format_text
from rulefiles import criterion, header


def rule_file(
    tmp_path: Path,
    *examples: str,
    logic: str = '{ fact = "sex", is = "female" }',
    kind: str = "inclusion",
    cid: str = "I1",
) -> Path:
    body = (
        header()
        + criterion(logic, cid=cid, kind=kind)
        + "".join(
            f"""
  [[criteria.examples]]
  as_of = 2026-03-01
  {example}
"""
            for example in examples
        )
    )
    path = tmp_path / "t1.toml"
    path.write_text(format_text(body))
    return path


def lines_of(path: Path) -> list[str]:
    return [line.removeprefix(f"{path}: ") for line in check_rules([path])]


def test_a_bad_example_patient_gives_a_line_per_problem(tmp_path, capsys):
    path = rule_file(tmp_path, 'expect = "pass"\npatient = { sex = "m", ecog = { value = 7 } }')
    code, out, err = run_main(["check", str(path)], capsys)
    assert code == 1
    assert out.splitlines() == [
        f"{path}: criteria[I1].examples[0].patient: sex: Input should be 'female' or 'male'",
        f"{path}: criteria[I1].examples[0].patient: ecog.value: Input should be less than or equal to 5",
    ]
    assert err == "eligimatch: 2 problems in 1 rule file\n"


def test_every_problem_the_facts_find_in_an_example_patient(tmp_path):
    path = rule_file(
        tmp_path,
        'expect = "pass"\npatient = { labs = ['
        '{ test = "anc2", value = 1, unit = "10^9/L", date = 2026-02-01 }, '
        '{ test = "anc", value = 1, unit = "kg", date = 2026-03-05 }] }',
    )
    assert lines_of(path) == [
        "criteria[I1].examples[0].patient: labs[0].test: unknown test 'anc2'; did you mean 'anc'?",
        "criteria[I1].examples[0].patient: labs[1].date: date 2026-03-05 is after the evaluation "
        "date 2026-03-01",
        "criteria[I1].examples[0].patient: labs[1].unit: 'kg' is not a unit of absolute neutrophil count",
    ]


def test_a_wrong_status_and_a_missing_explanation_are_both_reported(tmp_path):
    path = rule_file(tmp_path, 'expect = "pass"\nexplanation_contains = "female"\npatient = { sex = "male" }')
    assert lines_of(path) == [
        "criteria[I1].examples[0]: expected pass, got fail (sex: male)",
        "criteria[I1].examples[0]: explanation lacks 'female': sex: male",
    ]


@pytest.mark.parametrize(
    "example, problem",
    [
        ('expect = "fail"\nexplanation_contains = "sex: male"\npatient = { sex = "male" }', None),
        (
            'expect = "fail"\nexplanation_contains = "sex: female"\npatient = { sex = "male" }',
            "criteria[I1].examples[0]: explanation lacks 'sex: female': sex: male",
        ),
        (
            'expect = "unknown"\npatient = { sex = "male" }',
            "criteria[I1].examples[0]: expected unknown, got fail (sex: male)",
        ),
        (
            'expect = "pass"\npatient = { sex = "female", hair = "red" }',
            "criteria[I1].examples[0].patient: hair: unknown field (not part of the patient format; see "
            "'eligimatch schema')",
        ),
    ],
)
def test_one_problem_is_one_line(tmp_path, example, problem):
    assert lines_of(rule_file(tmp_path, example)) == ([problem] if problem else [])


def test_the_examples_of_every_criterion_are_all_run(tmp_path):
    path = rule_file(
        tmp_path,
        'expect = "pass"\npatient = { sex = "male" }',
        'expect = "pass"\npatient = { sex = "female" }',
        'expect = "pass"\npatient = { sex = "x" }',
    )
    assert lines_of(path) == [
        "criteria[I1].examples[0]: expected pass, got fail (sex: male)",
        "criteria[I1].examples[2].patient: sex: Input should be 'female' or 'male'",
    ]
