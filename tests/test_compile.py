"""Load-time checks of rule files: every problem names file, criterion and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from eligimatch.engine import check_rules, default_rules_dir, load_rule_file, load_rules
from eligimatch.errors import RuleFileError
from rulefiles import criterion, header

HEADER = header()


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "t.toml"
    p.write_text(HEADER + body, encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("logic", "field", "message"),
    [
        (
            '{ quantity = "ancc", op = ">=", value = 1.5, unit = "10^9/L" }',
            "logic.quantity",
            "unknown quantity 'ancc'; did you mean 'anc'?",
        ),
        (
            '{ quantity = "anc", op = ">=", value = 1.5, unit = "g/L" }',
            "logic.unit",
            "unit 'g/L' for anc: is not a unit of absolute neutrophil count (expected a unit like 10^9/L)",
        ),
        (
            '{ quantity = "anc", op = "=>", value = 1.5, unit = "10^9/L" }',
            "logic.op",
            "expected one of < <= > >= == !=, got '=>'",
        ),
        (
            '{ fact = "pregnantt", is = true }',
            "logic.fact",
            "unknown fact 'pregnantt'; did you mean 'pregnant'?",
        ),
        (
            '{ fact = "grade", is = "high" }',
            "logic",
            "'high' is not a value of grade (one of G1, G2, G3, GX)",
        ),
        ('{ histology = { include = ["UPS"] } }', "logic.histology.include", "'UPS' is not an OncoTree code"),
        (
            '{ exists = "treatment" }',
            "logic.exists",
            "unknown collection 'treatment'; did you mean 'treatments'?",
        ),
        (
            '{ exists = "treatments", where = { typ = "surgery" } }',
            "logic.where.typ",
            "treatments have no field 'typ'; did you mean 'type'?",
        ),
        (
            '{ exists = "treatments", where = { type = "surgical" } }',
            "logic.where.type",
            "'surgical' is not a value of type",
        ),
        (
            '{ exists = "treatments", within = "4 weeks" }',
            "logic.within",
            "duration '4 weeks': expected an ISO 8601 duration such as P4W, P6M, P5Y or P14D",
        ),
        ('{ expr = "pregnant and agee > 3" }', "logic.expr", "unknown symbol 'agee'; did you mean 'age'?"),
        (
            '{ expr = "$now == $now and ecog > 1" }',
            "logic.expr",
            "built-in symbols ($now) are not allowed: rules never read the clock",
        ),
        ('{ expr = "sex > 3" }', "logic.expr", "data type mismatch"),
        ('{ expr = "ecog <" }', "logic.expr", "syntax error"),
        ('{ quantity = "anc", op = ">=" }', "logic", "needs value (and unit) or uln"),
        ("{ all = [] }", "logic.all", "expected a non-empty list of logic nodes"),
        ('{ review = "" }', "logic.review", "expected the question the clinician must answer"),
        ("{ frobnicate = 1 }", "logic", "a logic node needs exactly one of"),
        (
            '{ exists = "treatments", label = "" }',
            "logic.label",
            "expected a short description of what is looked for",
        ),
    ],
)
def test_authoring_errors_name_criterion_and_field(tmp_path, logic, field, message):
    path = write(tmp_path, criterion(logic))
    with pytest.raises(RuleFileError) as err:
        load_rule_file(path)
    where, msg = err.value.problems[0]
    assert where == f"criteria[I1].{field}"
    assert message in msg
    assert str(err.value).startswith(f"{path}: criteria[I1].{field}: ")


def test_all_problems_are_collected(tmp_path):
    path = write(
        tmp_path,
        criterion('{ fact = "pregnantt", is = true }')
        + criterion('{ quantity = "ancc", op = ">=", value = 1 }', cid="I2")
        + criterion('{ fact = "sex", is = "female" }', cid="I2"),
    )
    with pytest.raises(RuleFileError) as err:
        load_rule_file(path)
    fields = [f for f, _ in err.value.problems]
    assert fields == ["criteria[I1].logic.fact", "criteria[I2].logic.quantity", "criteria[I2].id"]


def test_schema_errors_name_the_criterion(tmp_path):
    path = write(tmp_path, criterion('{ fact = "sex", is = "female" }', kind="exclusion"))
    with pytest.raises(
        RuleFileError,
        match=r"criteria\[I1\]: Value error, id 'I1' of an "
        r"exclusion criterion must start with 'E'",
    ):
        load_rule_file(path)


def test_toml_syntax_error(tmp_path):
    path = write(tmp_path, "[[criteria]\n")
    with pytest.raises(RuleFileError, match="TOML syntax error"):
        load_rule_file(path)


def test_check_runs_examples_and_reports_mismatches(tmp_path):
    body = (
        criterion('{ fact = "sex", is = "female" }')
        + """
  [[criteria.examples]]
  expect = "pass"
  as_of = 2026-03-01
  patient = { sex = "male" }
"""
    )
    path = write(tmp_path, body)
    lines = check_rules([path])
    assert lines == [f"{path}: criteria[I1].examples[0]: expected pass, got fail (sex: male)"]


def test_the_project_rules_load_and_check_clean():
    rules = load_rules()
    assert "NCT07342322" in [t.id for t in rules.trials]
    assert check_rules(sorted(default_rules_dir().glob("*.toml"))) == []
    assert len(rules.sha256) == 64


def test_duplicate_trial_ids_across_files(tmp_path):
    (tmp_path / "a.toml").write_text(HEADER + criterion('{ fact = "sex", is = "female" }'))
    (tmp_path / "b.toml").write_text(HEADER + criterion('{ fact = "sex", is = "female" }'))
    with pytest.raises(RuleFileError, match="'T1' is also defined in"):
        load_rules(tmp_path)


def test_expr_reads_scalar_facts_and_converted_quantities(tmp_path):
    from datetime import date

    from eligimatch.engine import EvalContext
    from eligimatch.facts import build_facts
    from eligimatch.patient import Patient

    path = write(tmp_path, criterion('{ expr = "amputee and (bp_systolic >= 140 or bp_diastolic >= 90)" }'))
    node = load_rule_file(path).criteria[0].node
    ctx = EvalContext("T1", "I1", None)

    def value(**fields):
        patient = Patient.model_validate({"id": "x", **fields})
        return node.evaluate(build_facts(patient, date(2026, 3, 1)), ctx)

    surgery = [{"type": "surgery", "amputation": True, "date": "2025-01-01", "intent": "curative"}]
    bp = [{"systolic": "18.7", "diastolic": 11, "unit": "kPa", "date": "2026-02-01"}]
    out = value(treatments=surgery, blood_pressure=bp)
    assert out.value is True  # 18.7 kPa ≈ 140.3 mmHg
    assert "bp_systolic=140.3" in out.text
    out = value(treatments=[], blood_pressure=bp)
    assert out.value is False
    out = value(blood_pressure=bp)
    assert out.value is None and out.missing == ("amputee",)
