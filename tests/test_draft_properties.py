"""Safety property of the drafter: for eligibility texts generated from the recognisers' own
phrase grammar (blood-count thresholds with units, comparators, "and" / "or" / lists, headings
and parentheses), a typed draft agrees with the generated truth on generated patients; a text
with a clause the grammar does not cover (an exception, a condition) is never typed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligimatch.compile import load_rule_file
from eligimatch.draft.clause import AS_OF
from eligimatch.draft.compose import compose
from eligimatch.draft.write import render
from eligimatch.evaluate import status_of
from eligimatch.facts import build_facts
from eligimatch.patient import Patient

NAMES = {"anc": ["ANC", "absolute neutrophil count", "neutrophils"],
         "platelets": ["platelets", "platelet count", "PLT"],
         "hemoglobin": ["hemoglobin", "Hb", "haemoglobin"]}
UNITS = {"anc": [("×10⁹/L", "10^9/L")], "platelets": [("x 10^9/L", "10^9/L")],
         "hemoglobin": [("g/dL", "g/dL"), ("g/L", "g/L")]}
OPS = [("≥", ">="), (">=", ">="), ("at least", ">="), (">", ">"), ("≤", "<="), ("<", "<")]
EXTRAS = ["unless on G-CSF", "except in patients with marrow infiltration",
          "without transfusion within 14 days", "(or ≥ 1.0 if Benign ethnic neutropenia)"]


@st.composite
def clause(draw: st.DrawFn, analyte: str) -> tuple[str, str, str, Decimal, str]:
    name = draw(st.sampled_from(NAMES[analyte]))
    shown, unit = draw(st.sampled_from(UNITS[analyte]))
    op_text, op = draw(st.sampled_from(OPS))
    if unit == "g/L":
        value = Decimal(draw(st.integers(50, 150)))
    elif unit == "g/dL":
        value = Decimal(draw(st.integers(50, 150))) / 10
    else:
        value = Decimal(draw(st.integers(1, 150))) / draw(st.sampled_from([Decimal(1),
                                                                          Decimal(10)]))
    return f"{name} {op_text} {value} {shown}", analyte, op, value, unit


@st.composite
def item(draw: st.DrawFn) -> tuple[str, list[tuple[str, str, str, Decimal, str]], str, bool]:
    analytes = draw(st.lists(st.sampled_from(sorted(NAMES)), min_size=1, max_size=3,
                             unique=True))
    parts = [draw(clause(a)) for a in analytes]
    join = draw(st.sampled_from([", ", " and ", " or "]))
    text = join.join(p[0] for p in parts)
    if draw(st.booleans()):
        text = draw(st.sampled_from(["Hematology: ", "Adequate bone marrow function: "])) + text
    extra = draw(st.booleans())
    if extra:
        text += " " + draw(st.sampled_from(EXTRAS))
    return text, parts, join.strip() or "list", extra


def _holds(value: Decimal, op: str, threshold: Decimal) -> bool:
    return {">=": value >= threshold, ">": value > threshold, "<=": value <= threshold,
            "<": value < threshold}[op]


@settings(max_examples=60, deadline=None)
@given(item(), st.data())
def test_typed_drafts_agree_with_the_generated_truth(
        tmp_path_factory: pytest.TempPathFactory,
        spec: tuple[str, list[tuple[str, str, str, Decimal, str]], str, bool],
        data: st.DataObject) -> None:
    text, parts, join, extra = spec
    d = compose(text, "inclusion")
    if extra:
        assert not d.typed, text
        return
    assert d.typed, (text, d.reason, d.leftover)
    path = tmp_path_factory.mktemp("prop") / "t.toml"
    trial = {"id": "T", "title": "t", "phase": "NA", "status": "X", "seed": "s"}
    path.write_text(render(trial, [{"id": "I1", "kind": "inclusion", "text": text,
                                    "logic": d.logic}]), encoding="utf-8")
    loaded = load_rule_file(path)
    crit = loaded.criteria[0]
    for _ in range(4):
        labs, truths = [], []
        for _, analyte, op, value, unit in parts:
            if data.draw(st.integers(0, 4)) == 0:
                truths.append(None)
                continue
            v = value + Decimal(data.draw(st.integers(-2, 2))) / 10
            v = max(v, Decimal(0))
            labs.append({"test": analyte, "value": v, "unit": unit,
                         "date": AS_OF - dt.timedelta(days=2)})
            truths.append(_holds(v, op, value))
        if join == "or":
            truth = True if True in truths else (None if None in truths else False)
        else:
            truth = False if False in truths else (None if None in truths else True)
        facts = build_facts(Patient.model_validate({"id": "g", "labs": labs}), AS_OF, "g")
        got = status_of("inclusion", crit.node.evaluate(facts, loaded.context("I1")).value)
        assert got == status_of("inclusion", truth), (text, labs, got, truth)
