"""The status-only graph runner (:class:`eligimatch.engine.graph.Program`) decides exactly as the
explaining runner (``Trial.evaluate``).

``Trial.evaluate`` is the reference (it also explains); the program shares identical nodes across
trials, shares a quantity's reading between comparisons and compares floats when they are
clearly apart.  Each of those is checked here against the reference: on every example patient,
every example of every criterion, property-generated profiles, and a synthetic catalogue with a
synthetic cohort (benchmarks/); plus the cases where sharing would be wrong (attestations are
per trial and criterion, recency windows per trial) and boundaries too close for floats.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import strategies as S
from eligimatch.api import read_patient
from eligimatch.engine import Program, Trial, load_rule_file, load_rules
from eligimatch.facts import Facts, build_facts
from eligimatch.patient import Patient
from eligimatch.rulesource import load_shared
from rulefiles import criterion, header

ROOT = Path(__file__).resolve().parents[1]
TRIALS = S.load_trials()
PROGRAM = Program(TRIALS)


def reference(trials: tuple[Trial, ...] | list[Trial], facts: Facts) -> list[Any]:
    out = []
    for t in trials:
        r = t.evaluate(facts, explain=False)
        out.append(
            (
                r.verdict,
                [k for k, c in enumerate(r.criteria) if c.status == "fail"],
                [k for k, c in enumerate(r.criteria) if c.status == "unknown"],
            )
        )
    return out


def _example_patients(_synthetic: Any) -> Iterator[tuple[tuple[Trial, ...], Facts]]:
    paths = sorted((ROOT / "patients").glob("*.json"))
    assert len(paths) >= 16
    for path in paths:
        yield TRIALS, build_facts(read_patient(path))


def _criterion_examples(_synthetic: Any) -> Iterator[tuple[tuple[Trial, ...], Facts]]:
    """620 small profiles written to sit on the edges of their criteria (censored values,
    ULN multiples, grades, windows, any_recorded, expressions, histology lists)."""
    n = 0
    for t in TRIALS:
        for c in t.criteria:
            for ex in c.spec.examples:
                n += 1
                yield TRIALS, build_facts(Patient.model_validate({"id": "ex", **ex.patient}), ex.as_of)
    assert n >= 600


def _synthetic_cohort(synthetic: Any) -> Iterator[tuple[tuple[Trial, ...], Facts]]:
    trials, cohort = synthetic
    for facts in cohort:
        yield trials, facts


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A synthetic catalogue (varied copies of the real trials) and a synthetic cohort
    (benchmarks/)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import catalogue
        import synth
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    out = tmp_path_factory.mktemp("catalogue")
    catalogue.build(out, 25, 7)
    trials = load_rules(out).trials
    cohort = [build_facts(Patient.model_validate(p)) for p in synth.profiles(60, 7)]
    return tuple(trials), cohort


_PROGRAMS: dict[tuple[int, ...], Program] = {}


def agree(trials: tuple[Trial, ...], facts: Facts) -> None:
    """Both runners give every criterion of every trial the same status, and the same verdict."""
    key = tuple(id(t) for t in trials)
    program = _PROGRAMS.get(key) or _PROGRAMS.setdefault(key, Program(trials))
    assert program.run(facts) == reference(trials, facts), facts.patient_id


CORPUS = {
    "example patients": _example_patients,
    "criterion examples": _criterion_examples,
    "synthetic catalogue and cohort": _synthetic_cohort,
}


@pytest.mark.parametrize("part", list(CORPUS))
def test_both_runners_agree_on_the_corpus(part, synthetic):
    n = 0
    for trials, facts in CORPUS[part](synthetic):
        agree(trials, facts)
        n += 1
    assert n > 0


@settings(max_examples=150)
@given(S.patients())
def test_both_runners_agree_on_generated_profiles(patient):
    agree(TRIALS, build_facts(patient))


def test_the_synthetic_copies_share_most_of_their_nodes(synthetic):
    trials, _ = synthetic
    nodes = sum(len(list(S.walk(c.node))) for t in trials for c in t.criteria)
    assert Program(trials).size < nodes / 2


def _copy(trial_file: Path, tmp_path: Path, new_id: str, *, lab_days: int | None = None) -> Trial:
    text = trial_file.read_text(encoding="utf-8")
    old_id = load_rule_file(trial_file).id
    text = text.replace(f'id = "{old_id}"', f'id = "{new_id}"', 1)
    if lab_days is not None:
        lines = [
            f"lab_max_age_days = {lab_days}" if ln.startswith("lab_max_age_days") else ln
            for ln in text.splitlines()
        ]
        text = "\n".join(lines) + "\n"
    path = tmp_path / f"{new_id}.toml"
    path.write_text(text, encoding="utf-8")
    return load_rule_file(path, load_shared(trial_file))


def _rule_file(trial_id: str) -> Path:
    return next(p for p in (ROOT / "rules").glob("*.toml") if load_rule_file(p).id == trial_id)


def test_a_copy_of_a_trial_adds_nothing_to_the_graph(tmp_path):
    original = TRIALS[0]
    twin = _copy(_rule_file(original.id), tmp_path, "TWIN")
    assert Program([original, twin]).size == Program([original]).size


REVIEWED = (
    header("R1", "review")
    + criterion(
        '{ review = "whether the patient is fit for the trial" }',
        "I1",
        text="investigator judges the patient fit",
    )
    + criterion(
        '{ all = [ { fact = "sex", is = "female" }, { review = "whether a pregnancy is possible" } ] }',
        "E1",
        "exclusion",
        "female and investigator judges a pregnancy possible",
    )
)


def test_attestations_stay_with_their_trial(tmp_path):
    """Twin trials share every criterion; an attestation for one trial's review criterion
    must not answer the twin's."""
    path = tmp_path / "r1.toml"
    path.write_text(REVIEWED, encoding="utf-8")
    original = load_rule_file(path)
    twin = _copy(path, tmp_path, "TWIN")
    patient = Patient.model_validate(
        {
            "id": "r",
            "as_of": "2026-11-01",
            "sex": "female",
            "attestations": [
                {"trial": "R1", "criterion": "I1", "answer": "yes", "by": "Dr A", "date": "2026-10-30"},
                {"trial": "TWIN", "criterion": "E1", "answer": "yes", "by": "Dr B", "date": "2026-10-30"},
            ],
        }
    )
    facts = build_facts(patient)
    got = Program([original, twin]).run(facts)
    assert got == reference([original, twin], facts)
    assert got == [("undetermined", [], [1]), ("ineligible", [1], [0])]
    # without attestations, every review is unknown in both
    facts = build_facts(patient.model_copy(update={"attestations": []}))
    assert Program([original, twin]).run(facts) == [("undetermined", [], [0, 1])] * 2


def test_recency_windows_stay_with_their_trial(tmp_path):
    """The same comparison under two trials' lab windows reads the lab under each window."""
    original = next(t for t in TRIALS if t.meta.lab_max_age_days)
    strict = _copy(_rule_file(original.id), tmp_path, "STRICT", lab_days=1)
    patient = json.loads((ROOT / "patients" / "p01_ups_metastatic_eligible.json").read_text())
    facts = build_facts(Patient.model_validate(patient))
    program = Program([original, strict])
    got = program.run(facts)
    assert got == reference([original, strict], facts)
    assert got[0] != got[1], "a 1-day lab window must leave older labs unknown"


BOUNDARY = header("B1", "boundaries") + "".join(
    criterion(*c)
    for c in (
        (
            '{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L" }',
            "I1",
            "inclusion",
            "ANC >= 1.5 x 10^9/L",
        ),
        ('{ quantity = "bilirubin", op = "<=", uln = 1.5 }', "I2", "inclusion", "bilirubin <= 1.5 x ULN"),
        (
            '{ quantity = "anc", op = ">", value = 1.5, unit = "10^9/L" }',
            "E1",
            "exclusion",
            "ANC > 1.5 x 10^9/L (an exclusion on the same reading)",
        ),
        # in U/L, the canonical unit: 1.5 x 20.2 is 30.299999999999997 in floats (a ULN of 1.2 U/L,
        # whose 1.5 x is 1.7999999999999998, is no plausible ALT ULN: an error)
        ('{ quantity = "alt", op = "<=", uln = 1.5 }', "I3", "inclusion", "ALT <= 1.5 x ULN"),
    )
)


@pytest.mark.parametrize(
    ("anc", "bili", "alt", "expect"),
    [
        ("1500", "1.8", "30.3", ("eligible", [], [])),  # all exactly on the limit
        ("1499.999999999999999999", "1.8", "30.3", ("ineligible", [0], [])),
        ("1500.000000000000000001", "1.8", "30.3", ("ineligible", [2], [])),
        ("1500", "1.800000000000000000001", "30.3", ("ineligible", [1], [])),
        ("1500", "1.799999999999999999999", "30.3000000000000001", ("ineligible", [3], [])),
        ("3000", "0.3", "3", ("ineligible", [2], [])),  # far apart: floats decide
        ("1000", "9", "900", ("ineligible", [0, 1, 3], [])),
    ],
)
def test_boundaries_closer_than_floats_are_decided_exactly(tmp_path, anc, bili, alt, expect):
    path = tmp_path / "b1.toml"
    path.write_text(BOUNDARY, encoding="utf-8")
    trial = load_rule_file(path)
    as_of = date(2026, 11, 1)
    patient = Patient.model_validate(
        {
            "id": "b",
            "as_of": as_of.isoformat(),
            "labs": [
                {"test": "anc", "value": anc, "unit": "/uL", "date": "2026-10-30"},
                {
                    "test": "bilirubin",
                    "value": bili,
                    "unit": "mg/dL",
                    "date": "2026-10-30",
                    "reference_range": {"high": "1.2", "unit": "mg/dL"},
                },
                {
                    "test": "alt",
                    "value": alt,
                    "unit": "U/L",
                    "date": "2026-10-30",
                    "reference_range": {"high": "20.2", "unit": "U/L"},
                },
            ],
        }
    )
    facts = build_facts(patient)
    got = Program([trial]).run(facts)
    assert got == reference([trial], facts)
    assert got == [expect]
