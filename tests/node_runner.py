"""Compile one logic node as the only criterion of a small rule file, and evaluate it."""

from __future__ import annotations

import typing
from datetime import date

import pytest

from eligimatch.engine import EvalContext, Outcome, Trial, compile_bytes
from eligimatch.errors import RuleFileError
from eligimatch.facts import build_facts
from eligimatch.patient import Patient
from rulefiles import criterion, header

AS_OF = date(2026, 11, 16)


def trial(logic: str, *, window: int | None = None) -> Trial:
    """The node ``logic`` (TOML) as criterion I1 (an inclusion) of trial T1."""
    extra = f"lab_max_age_days = {window}\n" if window is not None else ""
    return compile_bytes((header(extra=extra) + criterion(logic)).encode(), "t.toml")


def evaluate(
    logic: str, patient: dict[str, typing.Any], *, window: int | None = None, as_of: date = AS_OF
) -> Outcome:
    """The node's outcome (value, explanation, missing, review) for a profile."""
    t = trial(logic, window=window)
    crit = t.criteria[0]
    facts = build_facts(Patient.model_validate({"id": "t", **patient}), as_of)
    return crit.node.evaluate(facts, EvalContext(t.id, crit.id, t.meta.lab_max_age_days))


def load_error(logic: str) -> tuple[str, str]:
    """The first problem of loading the node: (field, message)."""
    with pytest.raises(RuleFileError) as err:
        trial(logic)
    return err.value.problems[0]
