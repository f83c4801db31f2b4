"""The columnar runner's bulk paths against the explaining runner, case by case: many small trials
decided together (their patterns counted or sorted, their comparisons one array per quantity with
a recency window per trial), values on their thresholds, censored, stale, undated or missing,
ULNs from the lab or a band of plausible ones; date tests inside ``exists`` with offsets and open
ends; empty and absent collections; chunks of one patient and an empty chunk."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligimatch.engine import Program, compile_bytes
from eligimatch.facts import build_facts
from eligimatch.patient import Patient
from rulefiles import criterion, header
from test_columns import attrition_is_counted
from test_graph import reference

AS_OF = date(2026, 11, 1)
OPS = ("<", "<=", ">", ">=", "==", "!=")
# (logic template, values on the threshold and around it)
LABS = {
    "anc": ('{{ quantity = "anc", op = "{op}", value = {v}, unit = "10^9/L" }}', ["1", "1.5", "2"]),
    "platelets": ('{{ quantity = "platelets", op = "{op}", value = {v}, unit = "10^9/L" }}', ["75", "100"]),
    "bilirubin": ('{{ quantity = "bilirubin", op = "{op}", uln = {v} }}', ["1", "1.5", "3"]),
    "ecog": ('{{ quantity = "ecog", op = "{op}", value = {v}, unit = "1" }}', ["0", "1", "2"]),
}


def _trials() -> list[Any]:
    """Trials of 1 to 6 criteria (so that some sizes are counted, some sorted), several windows."""
    out = []
    names = list(LABS)
    for t in range(40):
        parts = []
        for j in range(1 + t % 6):
            name = names[(t + j) % len(names)]
            template, values = LABS[name]
            logic = template.format(op=OPS[(t * 7 + j) % len(OPS)], v=values[(t + 2 * j) % len(values)])
            kind = "exclusion" if (t + j) % 3 == 0 else "inclusion"
            parts.append(criterion(logic, f"{'E' if kind == 'exclusion' else 'I'}{j}.{name}", kind))
        extra = f"lab_max_age_days = {(7, 14, 28)[t % 3]}"
        text = header(f"C{t}", "columnar cases", extra) + "".join(parts)
        out.append(compile_bytes(text.encode(), f"c{t}.toml"))
    return out


TRIALS = _trials()
PROGRAM = Program(TRIALS)


def _lab(draw: Any, test: str, values: list[str], unit: str) -> dict[str, Any] | None:
    """A result on one of the trials' thresholds, near one or away from all; of any age."""
    if draw(st.integers(0, 5)) == 0:
        return None
    value = draw(st.sampled_from(values))
    if draw(st.integers(0, 3)) == 0:
        factor = draw(st.sampled_from(["1.0000000001", "0.9999999999", "0.5", "1.5"]))
        value = str(Decimal(value) * Decimal(factor))
    age = draw(st.sampled_from([0, 6, 7, 8, 14, 15, 28, 29]))
    lab: dict[str, Any] = {"test": test, "value": value, "unit": unit}
    lab["date"] = (AS_OF - timedelta(days=age)).isoformat()
    if draw(st.integers(0, 6)) == 0:
        lab["comparator"] = draw(st.sampled_from(["<", ">", "<=", ">="]))
    return lab


@st.composite
def profiles(draw: Any) -> Any:
    labs = []
    for test, values, unit in (("anc", ["1", "1.5", "2"], "10^9/L"), ("platelets", ["75", "100"], "10^9/L")):
        lab = _lab(draw, test, values, unit)
        if lab is not None:
            labs.append(lab)
    bili = _lab(draw, "bilirubin", ["20.5", "30.75", "61.5", "21", "34"], "umol/L")
    if bili is not None:
        if draw(st.booleans()):  # the lab's range, or none: a band of plausible ULNs
            bili["reference_range"] = {"high": draw(st.sampled_from(["20.5", "21"])), "unit": "umol/L"}
        labs.append(bili)
    raw: dict[str, Any] = {"id": f"p{draw(st.integers(0, 99))}", "as_of": AS_OF.isoformat(), "labs": labs}
    if draw(st.booleans()):
        raw["ecog"] = {"value": draw(st.integers(0, 3))}
        if draw(st.booleans()):
            raw["ecog"]["date"] = (AS_OF - timedelta(days=draw(st.sampled_from([0, 20, 40])))).isoformat()
    return build_facts(Patient.model_validate(raw))


def _agree(program: Program, trials: list[Any], cohort: list[Any], size: int) -> None:
    for i in range(0, len(cohort), size):
        part = cohort[i : i + size]
        got = program.run_chunk(part)
        assert got.n == len(part)
        for p, facts in enumerate(part):
            assert got.patient(p) == reference(trials, facts) == program.run(facts)


@settings(max_examples=40, deadline=None)
@given(st.lists(profiles(), min_size=1, max_size=30), st.sampled_from([1, 3, 30]))
def test_many_small_trials_decided_together(cohort, size):
    _agree(PROGRAM, TRIALS, cohort, size)


@settings(max_examples=10, deadline=None)
@given(st.lists(profiles(), min_size=40, max_size=60))
def test_attrition_of_counted_and_sorted_patterns(cohort):
    """Trials of 1 to 6 criteria (counted keys up to 5, sorted beyond): the chunk's attrition
    equals counting the patients' statuses one by one."""
    attrition_is_counted(TRIALS, PROGRAM.run_chunk(cohort))


def test_an_empty_chunk():
    got = PROGRAM.run_chunk([])
    assert got.n == 0
    for t, trial in enumerate(TRIALS):
        size = len(trial.criteria)
        assert got.patterns[t] == [] and len(got.which[t]) == 0
        assert got.attrition[t][:5] == (0, [0] * size, [0] * size, [0] * (size + 1), [0] * (size + 1))


# ---------------------------------------------------------------------------- exists


def _exists_trial() -> Any:
    parts = [
        criterion(
            '{ exists = "conditions", where = { category = "thromboembolic", '
            'onset = { op = ">", ref = "as_of", minus = "P12M" } } }',
            "E1",
            "exclusion",
        ),
        criterion(
            '{ exists = "treatments", where = { type = "chemotherapy", '
            'progression_date = [{ op = ">=", ref = "start" }, { op = "<=", ref = "end", plus = "P3M" }] } }',
            "I1",
        ),
        criterion(
            '{ exists = "treatments", where = { any = [ { best_response = ["CR", "PR"], '
            'progression_date = { op = ">", ref = "start", plus = "P12W" } }, '
            "{ stopped_for_toxicity = true } ] } }",
            "I2",
        ),
        criterion(
            '{ exists = "treatments", where = { type = "radiotherapy" }, within = "P6M" }', "E2", "exclusion"
        ),
    ]
    return compile_bytes((header("X1", "exists cases") + "".join(parts)).encode(), "x1.toml")


X_TRIAL = _exists_trial()
X_PROGRAM = Program([X_TRIAL])
DAYS = st.sampled_from([-400, -366, -365, -120, -90, -84, -30, -1, 0])


def _day(draw: Any) -> str:
    return (AS_OF + timedelta(days=draw(DAYS))).isoformat()


@st.composite
def histories(draw: Any) -> Any:
    raw: dict[str, Any] = {"id": "x", "as_of": AS_OF.isoformat()}
    shape = draw(st.sampled_from(["absent", "empty", "items"]))
    if shape != "absent":
        raw["treatments"] = []
        raw["conditions"] = []
    if shape == "items":
        for _ in range(draw(st.integers(0, 3))):
            item: dict[str, Any] = {"type": draw(st.sampled_from(["chemotherapy", "radiotherapy"]))}
            if draw(st.booleans()):
                item["start"] = _day(draw)
            if draw(st.booleans()):
                item["end"] = max(item.get("start", ""), _day(draw)) or _day(draw)
            elif draw(st.booleans()):
                item["ongoing"] = draw(st.booleans())
            if draw(st.booleans()):
                item["progression_date"] = _day(draw)
            if draw(st.booleans()):
                item["best_response"] = draw(st.sampled_from(["CR", "PR", "SD", "PD"]))
            if draw(st.booleans()):
                item["stopped_for_toxicity"] = draw(st.booleans())
            raw["treatments"].append(item)
        for _ in range(draw(st.integers(0, 2))):
            condition: dict[str, Any] = {"type": "pulmonary_embolism"}
            if draw(st.booleans()):
                condition["onset"] = _day(draw)
            raw["conditions"].append(condition)
    return build_facts(Patient.model_validate(raw))


@settings(max_examples=60, deadline=None)
@given(st.lists(histories(), min_size=1, max_size=12), st.sampled_from([1, 12]))
def test_exists_with_date_tests_and_open_ends(cohort, size):
    _agree(X_PROGRAM, [X_TRIAL], cohort, size)


@pytest.mark.parametrize("shape", ["absent", "empty"])
def test_an_empty_collection_is_not_an_absent_one(shape):
    raw: dict[str, Any] = {"id": "x", "as_of": AS_OF.isoformat()}
    if shape == "empty":
        raw["treatments"], raw["conditions"] = [], []
    facts = build_facts(Patient.model_validate(raw))
    _agree(X_PROGRAM, [X_TRIAL], [facts], 1)


@pytest.mark.parametrize("text", ["P3M", "P6M", "P12W", "P1Y", "P14D", "P1Y6M2W3D", "P200Y", "P2400M"])
def test_dates_shifted_on_arrays_as_one_by_one(text):
    """Calendar shifts on day numbers are Duration.after / before, date by date: month ends, leap
    days, the first and the last years."""
    import numpy as np

    from eligimatch.dates import parse_duration
    from eligimatch.engine.itemcolumns import shifted

    duration = parse_duration(text)
    spans = [
        (date(1, 1, 1), date(1, 4, 1)),
        (date(1999, 12, 1), date(2001, 3, 31)),
        (date(9999, 10, 1), date.max),
    ]
    days = np.array([d for a, b in spans for d in range(a.toordinal(), b.toordinal() + 1)], np.int64)
    for sign, move in ((1, duration.after), (-1, duration.before)):
        want = [move(date.fromordinal(d)).toordinal() for d in days.tolist()]
        assert shifted(duration, sign, days).tolist() == want


# ---------------------------------------------------------------------------- evidence

RESULTS = ["positive", "negative", "indeterminate"]


@st.composite
def evidence_profiles(draw: Any) -> Any:
    raw: dict[str, Any] = {"id": "e", "as_of": AS_OF.isoformat(), "labs": []}
    for test in ("hiv_antibody", "hbsag", "anti_hbc", "anti_hcv"):
        if draw(st.integers(0, 2)) == 0:
            days = draw(st.sampled_from([0, 30, 90, 400]))
            raw["labs"].append(
                {
                    "test": test,
                    "result": draw(st.sampled_from(RESULTS)),
                    "date": (AS_OF - timedelta(days=days)).isoformat(),
                }
            )
    for test in ("hbv_dna_iu", "hcv_rna_iu"):
        if draw(st.integers(0, 2)) == 0:
            lab = {"test": test, "value": draw(st.sampled_from([0, 20, 3500])), "unit": "IU/mL"}
            lab["date"] = (AS_OF - timedelta(days=draw(st.sampled_from([0, 60])))).isoformat()
            if draw(st.booleans()):
                lab["comparator"] = "<"
            raw["labs"].append(lab)
    if draw(st.integers(0, 3)):
        raw["conditions"] = [
            {"type": t, "status": draw(st.sampled_from(["active", "resolved", None]))}
            if t
            else {"name": "an unplaced condition"}
            for t in draw(st.lists(st.sampled_from(["hiv", "hepatitis_b", "hepatitis_c", "asthma", None])))
        ]
    if draw(st.integers(0, 3)):
        meds = []
        for klass in draw(st.lists(st.sampled_from(["antiretroviral", "hbv_antiviral", "anticoagulant"]))):
            med: dict[str, Any] = {"name": f"a {klass}", "classes": [klass]}
            when = draw(st.sampled_from(["ended", "later", "ongoing", "stopped", "unsaid"]))
            if when in ("ended", "later"):
                med["end"] = (AS_OF + timedelta(days=-10 if when == "ended" else 0)).isoformat()
            elif when != "unsaid":
                med["ongoing"] = when == "ongoing"
            meds.append(med)
        raw["medications"] = meds
    return build_facts(Patient.model_validate(raw))


@settings(max_examples=60, deadline=None)
@given(st.lists(evidence_profiles(), min_size=1, max_size=15))
def test_evidence_parts_on_arrays_as_one_by_one(cohort):
    """The parts of every evidence concept over a chunk are those evidence.parts gives patient by
    patient: conditions resolved or not, unclassified ones, results of every kind and age,
    medications of review classes current, over or not said."""
    import numpy as np

    from eligimatch.engine.columns import UNDATED, Chunk, code
    from eligimatch.engine.evidencecolumns import parts as columnar_parts
    from eligimatch.evidence import concepts, parts

    chunk = Chunk(cohort)
    for concept in concepts().values():
        for rule_out in ("record", "test"):
            positive, age, otherwise = columnar_parts(concept, chunk, rule_out)
            want = [parts(concept, f, rule_out) for f in cohort]
            assert positive.tolist() == [p for p, _, _ in want]
            assert age.tolist() == [UNDATED if a is None else a for _, a, _ in want]
            assert otherwise.tolist() == [code(v) for _, _, v in want]
            assert isinstance(otherwise, np.ndarray)
