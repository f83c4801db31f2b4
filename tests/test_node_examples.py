"""Every example of every node kind, as the registry lists them, through both runners.

A node kind's examples are data in its module (:class:`eligimatch.engine.nodes.base.Example`):
``logic`` is the node as a rule file writes it, compiled as the only criterion (``I1``, an
inclusion) of a trial ``EXAMPLE`` without windows of its own; the profile ``patient`` is read as a
patient file is, as of ``as_of``.  The example gives ``value`` in the explaining runner and in the
status-only graph runner alike (``explains``, when given, is part of the explanation), or fails to
load with exactly ``error``: the one problem, as ``eligimatch check`` prints it after
``<file>: criteria[I1].``.  A meta-test fails a node kind without documentation or without
examples of each value it can give and of its load errors.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from eligimatch.api import parse_patient
from eligimatch.engine import Program, compile_bytes, registry
from eligimatch.engine.nodes.base import Example, NodeKind
from eligimatch.engine.registry import kinds
from eligimatch.errors import RuleFileError
from eligimatch.facts import build_facts
from rulefiles import criterion, header

TRIAL, CRITERION = "EXAMPLE", "I1"
VALUES = {"pass": "true", "fail": "false", "unknown": "unknown"}
# node kinds that cannot give a value, and why (the meta-test asks every other for an example of it)
NEVER = {("recorded", "false"): "a result not recorded can still be obtained: unknown, not false"}


def rule_file(logic: str) -> bytes:
    return (header(TRIAL, "node kind example") + criterion(logic, CRITERION)).encode()


@dataclass(frozen=True)
class Ran:
    value: str  # the explaining runner's
    graph_value: str  # the status-only graph runner's
    explanation: str


def load_problems(logic: str) -> list[str]:
    """The problems of loading ``logic`` as the example criterion, each as ``field: message``."""
    try:
        compile_bytes(rule_file(logic), "example.toml")
    except RuleFileError as exc:
        prefix = f"criteria[{CRITERION}]."
        return [f"{w.removeprefix(prefix)}: {m}" for w, m in exc.problems]
    return []


def run(example: Example) -> Ran:
    trial = compile_bytes(rule_file(example.logic), "example.toml")
    patient = parse_patient(json.dumps({"id": "example", **example.patient}), "example.json")
    facts = build_facts(patient, date.fromisoformat(example.as_of), "example.json")
    (result,) = trial.evaluate(facts).criteria
    ((_, failing, unknown),) = Program([trial]).run(facts)
    graph = "false" if failing else "unknown" if unknown else "true"
    return Ran(VALUES[result.status], graph, result.explanation)


def _examples() -> list[tuple[str, int, Example]]:
    return [(k.key, i, ex) for k in kinds().values() for i, ex in enumerate(k.examples)]


@pytest.mark.parametrize(("key", "i", "example"), _examples(), ids=[f"{k}[{i}]" for k, i, _ in _examples()])
def test_every_example_of_every_node_kind(key, i, example):
    assert (example.value is None) != (example.error is None), "give value or error, not both"
    if example.error is not None:
        assert load_problems(example.logic) == [example.error]
        return
    assert load_problems(example.logic) == []
    ran = run(example)
    assert (ran.value, ran.graph_value) == (example.value, example.value), ran.explanation
    assert example.explains in ran.explanation


@pytest.mark.parametrize("kind", list(kinds().values()), ids=list(kinds()))
def test_every_node_kind_is_documented_with_examples(kind: NodeKind):
    check_documented(kind)


def check_documented(kind: NodeKind) -> None:
    for name in ("summary", "syntax", "unknown"):
        assert getattr(kind, name).strip(), f"{kind.key} has no {name}"
    assert f"{kind.key} =" in kind.syntax, f"the syntax of {kind.key} does not show its key"
    for key in kind.keys:
        assert key in kind.syntax, f"the syntax of {kind.key} does not show its key {key!r}"
    given = {ex.value for ex in kind.examples if ex.value is not None}
    for value in ("true", "false", "unknown"):
        if (kind.key, value) not in NEVER:
            assert value in given, f"{kind.key} has no example that gives {value}"
        else:
            assert value not in given
    assert any(ex.error for ex in kind.examples), f"{kind.key} has no load-error example"
    for ex in kind.examples:
        assert f"{kind.key} =" in ex.logic, f"an example of {kind.key} does not use it"


# ---------------------------------------------------------------- adding a node kind

ROOT = Path(__file__).resolve().parents[1]


def _contributing_module() -> str:
    """The node kind module of CONTRIBUTING.md's worked example, as written there."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## Worked example: add a node kind", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def count_kind(tmp_path, monkeypatch):
    """CONTRIBUTING.md's ``items`` node kind, in a module of its own, registered by one line."""
    path = tmp_path / "count_nodes.py"
    path.write_text(_contributing_module(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("count_nodes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "count_nodes", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    monkeypatch.setattr(registry, "FAMILIES", list(registry.FAMILIES))
    monkeypatch.setattr(registry, "_kinds", None)
    registry.register(module)  # the one registry line
    yield registry.kinds()["items"]
    monkeypatch.setattr(registry, "_kinds", None)  # forget it again


def test_a_node_kind_is_one_module_plus_one_registry_line(count_kind):
    assert list(registry.kinds())[-1] == "items"
    check_documented(count_kind)
    for example in count_kind.examples:
        if example.error is not None:
            assert load_problems(example.logic) == [example.error]
        else:
            ran = run(example)
            assert (ran.value, ran.graph_value) == (example.value, example.value)
            assert example.explains in ran.explanation
    # a rule file using it loads, and both runners screen with it (an exclusion too)
    rules = (
        header("T9")
        + criterion('{ items = "treatments", at_least = 2 }', "I4")
        + criterion('{ items = "conditions", at_least = 1 }', "E2", "exclusion")
    ).encode()
    trial = compile_bytes(rules, "t9.toml")
    chemo = {"type": "chemotherapy", "start": "2025-01-01", "end": "2025-03-01"}
    for profile, verdict in [
        ({"treatments": [chemo, chemo], "conditions": []}, "eligible"),
        ({"treatments": [chemo], "conditions": []}, "ineligible"),
        ({"treatments": [chemo, chemo]}, "undetermined"),
    ]:
        patient = parse_patient(json.dumps({"id": "p", **profile}), "p.json")
        facts = build_facts(patient, date(2026, 11, 16), "p.json")
        assert trial.evaluate(facts).verdict == verdict
        ((graph_verdict, _, _),) = Program([trial]).run(facts)
        assert graph_verdict == verdict
    # a misspelt key of the new kind is refused with a suggestion, like any other kind's
    assert load_problems('{ items = "treatments", at_leest = 2 }') == [
        "logic.at_leest: unknown key for a 'items' node; did you mean 'at_least'?"
    ]


def test_the_generated_docs_take_a_new_node_kind(count_kind):
    spec = importlib.util.spec_from_file_location("update_docs", ROOT / "scripts" / "update_docs.py")
    assert spec is not None and spec.loader is not None
    update_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update_docs)
    text = update_docs.rule_reference()
    assert "\n### `items`\n" in text and "2 treatments recorded (at least 2)" in text


@pytest.mark.parametrize(
    "missing", ["summary", "syntax", "unknown", "true", "false", "unknown example", "error"]
)
def test_the_meta_test_fails_a_kind_without_docs_or_examples(count_kind, missing):
    import dataclasses

    kind = count_kind
    if missing in ("summary", "syntax", "unknown"):
        kind = dataclasses.replace(kind, **{missing: " "})
    else:
        value = {"unknown example": "unknown"}.get(missing, missing)
        kept = tuple(
            ex for ex in kind.examples if (ex.error is None if missing == "error" else ex.value != value)
        )
        kind = dataclasses.replace(kind, examples=kept)
    with pytest.raises(AssertionError):
        check_documented(kind)
