"""The batch graph's columnar runner (``Program.run_chunk``) decides exactly as the explaining
runner and as the graph run patient by patient: on the whole equivalence corpus of
tests/test_graph.py, cut into chunks that mix patients with and without attestations, and on
generated chunks whose values sit on, just inside and just outside their thresholds (closer than
floats can tell, at 1e-9 relative and a little beyond), censored, without the lab's reference
range (a band of plausible ULNs), stale, undated or missing."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import strategies as S
from eligimatch.engine import Program, compile_bytes
from eligimatch.engine.columns import FALSE, TRUE, UNKNOWN, code, value_of
from eligimatch.engine.core import junction
from eligimatch.facts import build_facts
from eligimatch.patient import Patient
from eligimatch.units import analytes
from rulefiles import criterion, header
from test_graph import CORPUS, reference, synthetic  # noqa: F401 (a fixture)

CHUNK = 37  # not a divisor of anything in particular: chunks of every make-up


def chunked(program: Program, facts: list[Any]) -> list[Any]:
    out = []
    for i in range(0, len(facts), CHUNK):
        part = program.run_chunk(facts[i : i + CHUNK])
        out.extend(part.patient(p) for p in range(part.n))
    return out


@pytest.mark.parametrize("part", list(CORPUS))
def test_the_columnar_runner_agrees_on_the_corpus(part, synthetic):  # noqa: F811
    groups: dict[int, tuple[Any, list[Any]]] = {}
    for trials, facts in CORPUS[part](synthetic):
        groups.setdefault(id(trials), (trials, []))[1].append(facts)
    for trials, cohort in groups.values():
        program = Program(trials)
        got = chunked(program, cohort)
        for facts, mine in zip(cohort, got, strict=True):
            assert mine == reference(trials, facts), facts.patient_id
            assert mine == program.run(facts)


def test_truth_codes_order_false_unknown_true():
    """FALSE < UNKNOWN < TRUE: on codes Kleene's AND is the minimum and OR the maximum."""
    assert tuple(code(v) for v in (False, None, True)) == (FALSE, UNKNOWN, TRUE)
    for n in range(1, 4):
        for combo in itertools.product((FALSE, UNKNOWN, TRUE), repeat=n):
            values = [value_of(c) for c in combo]
            assert code(junction(values, any_=False)) == min(combo)
            assert code(junction(values, any_=True)) == max(combo)


# ---------------------------------------------------------------------------- boundaries

AS_OF = date(2026, 11, 1)
OPS = ("<", "<=", ">", ">=", "==", "!=")
BILIRUBIN_RANGE = Decimal("20.5")  # umol/L: the lab's ULN when it reports one
ALT_RANGE = Decimal("40")  # U/L


def _trial() -> Any:
    parts = []
    for i, op in enumerate(OPS):
        kind = "exclusion" if i % 2 else "inclusion"
        parts.append(
            criterion(
                f'{{ quantity = "anc", op = "{op}", value = 1.5, unit = "10^9/L" }}',
                f"I{i}" if kind == "inclusion" else f"E{i}",
                kind,
            )
        )
        parts.append(
            criterion(
                f'{{ quantity = "bilirubin", op = "{op}", uln = 1.5 }}',
                f"I{i}.bili" if kind == "inclusion" else f"E{i}.bili",
                kind,
            )
        )
        parts.append(
            criterion(
                f'{{ quantity = "alt", op = "{op}", uln = 2.5, within_days = 14 }}', f"I{i}.alt", "inclusion"
            )
        )
        parts.append(
            criterion(
                f'{{ quantity = "ecog", op = "{op}", value = 1, unit = "1" }}', f"I{i}.ecog", "inclusion"
            )
        )
    parts.append(criterion('{ recorded = "platelets" }', "I9"))
    parts.append(
        criterion(
            '{ any = [ { quantity = "anc", op = ">=", value = 1, unit = "10^9/L" }, '
            '{ not = { recorded = "alt" } } ] }',
            "I10",
        )
    )
    text = header("B2", "boundaries", "lab_max_age_days = 28") + "".join(parts)
    return compile_bytes(text.encode(), "b2.toml")


TRIAL = _trial()
PROGRAM = Program([TRIAL])
# how far from the threshold, relative: on it, closer than floats can tell, at the margin, beyond
SHIFTS = (
    "0",
    "1e-18",
    "-1e-18",
    "1e-12",
    "-1e-12",
    "1e-9",
    "-1e-9",
    "1.0000001e-9",
    "-1.0000001e-9",
    "2e-9",
    "-2e-9",
    "1e-6",
    "-0.3",
    "0.5",
)


def _near(threshold: Decimal) -> st.SearchStrategy[Decimal]:
    return st.sampled_from(SHIFTS).map(lambda s: threshold * (1 + Decimal(s)))


def _dated(k: int | None) -> dict[str, Any]:
    return {} if k is None else {"date": (AS_OF - timedelta(days=k)).isoformat()}


AGES = st.sampled_from([0, 1, 13, 14, 15, 27, 28, 29, 400])
COMPARATOR = st.sampled_from([None, None, None, "<", "<=", ">", ">="])


@st.composite
def labs(draw: Any) -> list[dict[str, Any]]:
    out = []
    if draw(st.booleans()):  # ANC in /uL: 1.5 x 10^9/L is 1500
        lab = {"test": "anc", "value": str(draw(_near(Decimal(1500)))), "unit": "/uL", **_dated(draw(AGES))}
        if (c := draw(COMPARATOR)) is not None:
            lab["comparator"] = c
        out.append(lab)
    for test, own, unit in (("bilirubin", BILIRUBIN_RANGE, "umol/L"), ("alt", ALT_RANGE, "U/L")):
        if not draw(st.booleans()):
            continue
        band = analytes()[test].uln_band
        assert band is not None
        ranged = draw(st.booleans())
        # around k x ULN: the lab's own ULN, or either end of the band of plausible ULNs
        k = Decimal("1.5") if test == "bilirubin" else Decimal("2.5")
        uln = own if ranged else Decimal(draw(st.sampled_from([band[0], band[1]])).numerator)
        lab = {"test": test, "value": str(draw(_near(k * uln))), "unit": unit, **_dated(draw(AGES))}
        if ranged:
            lab["reference_range"] = {"high": str(own), "unit": unit}
        if (c := draw(COMPARATOR)) is not None:
            lab["comparator"] = c
        out.append(lab)
    if draw(st.booleans()):
        out.append({"test": "platelets", "value": "150", "unit": "10^9/L", **_dated(draw(AGES))})
    return out


@st.composite
def profiles(draw: Any) -> Any:
    raw: dict[str, Any] = {
        "id": f"p{draw(st.integers(0, 10**6))}",
        "as_of": AS_OF.isoformat(),
        "labs": draw(labs()),
    }
    if draw(st.booleans()):
        raw["ecog"] = {"value": draw(st.integers(0, 4)), **_dated(draw(AGES))}
    return build_facts(Patient.model_validate(raw))


@settings(max_examples=60)
@given(st.lists(profiles(), min_size=1, max_size=12))
@example(
    [
        build_facts(
            Patient.model_validate(
                {
                    "id": "edge",
                    "as_of": "2026-11-01",
                    "labs": [
                        {
                            "test": "anc",
                            "value": "1500.0000000000000001",
                            "unit": "/uL",
                            "date": "2026-10-30",
                        },
                        {"test": "bilirubin", "value": "39", "unit": "umol/L", "date": "2026-10-30"},
                    ],
                }
            )
        )
    ]
)
def test_values_on_and_around_their_thresholds(chunk):
    got = PROGRAM.run_chunk(chunk)
    for p, facts in enumerate(chunk):
        assert got.patient(p) == reference([TRIAL], facts) == PROGRAM.run(facts)


@settings(max_examples=30)
@given(st.lists(S.patients(), min_size=1, max_size=6))
def test_generated_chunks_of_generated_profiles(patients):
    trials = S.load_trials()
    program = _program(trials)
    facts = [build_facts(p) for p in patients]
    got = program.run_chunk(facts)
    for p, f in enumerate(facts):
        assert got.patient(p) == reference(trials, f)


_PROGRAMS: dict[int, Program] = {}


def _program(trials: Any) -> Program:
    return _PROGRAMS.setdefault(id(trials), Program(trials))


def test_attrition_counts_are_those_of_the_patterns(synthetic):  # noqa: F811
    """The chunk's attrition arrays equal counting every patient's statuses one by one."""
    trials, cohort = synthetic
    attrition_is_counted(trials, Program(trials).run_chunk(cohort))


def attrition_is_counted(trials: Any, got: Any) -> None:
    """Assert that a chunk's attrition arrays are what counting its patients' statuses one by
    one gives."""
    from eligimatch.batch.attrition import Attrition

    for t, trial in enumerate(trials):
        one = Attrition(trial.id, "", tuple((c.id, c.spec.kind) for c in trial.criteria))
        for p in range(got.n):
            verdict, fail_at, unknown_at = got.patient(p)[t]
            one.add_indices(fail_at, unknown_at, verdict)
        n, fail, unknown, first_fail, first_not_pass, verdicts = got.attrition[t]
        assert (n, fail, unknown, first_fail, first_not_pass) == (
            one.patients,
            one.fail,
            one.unknown,
            one.first_fail,
            one.first_not_pass,
        )
        assert {v: verdicts.get(v, 0) for v in one.verdicts} == one.verdicts


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_chunk_writer_writes_the_bytes_of_the_record_writer(tmp_path, fmt):
    """Records made once per status pattern are byte for byte the records written patient by
    patient and trial by trial (ids needing JSON escapes and CSV quotes, a trial with drafts)."""
    import shutil
    from pathlib import Path

    from eligimatch.batch import make_plan
    from eligimatch.batch.chunk import _resting
    from eligimatch.batch.output import RecordWriter
    from eligimatch.batch.plan import compiled
    from eligimatch.engine import load_rules

    root = Path(__file__).resolve().parents[1]
    rules = tmp_path / "rules"
    shutil.copytree(root / "rules", rules)
    first = sorted(rules.glob("*.toml"))[0]
    text = first.read_text("utf-8")
    first.write_text(text.replace('kind = "inclusion"\n', 'kind = "inclusion"\ndraft = "age"\n', 1), "utf-8")
    plan = make_plan(load_rules(rules), None, None, fmt)  # type: ignore[arg-type]
    done = compiled(plan)
    assert any(done.drafts)
    facts = _cohort()
    people = [
        (f.patient_id if i % 3 else f'quote " and, comma {i}', f'src,{i}:"x"', f.as_of.isoformat())
        for i, f in enumerate(facts)
    ]
    one = RecordWriter(plan, done)
    for (pid, source, as_of), f in zip(people, facts, strict=True):
        one.patient(pid, source, as_of)
        for k, status in enumerate(done.program.run(f)):
            one.trial(k, *status, _resting(done, k, status))
    many = RecordWriter(plan, done)
    many.chunk(people, done.program.run_chunk(facts), lambda k, s: _resting(done, k, s))
    assert many.text() == one.text()


def _cohort() -> list[Any]:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import synth
    finally:
        sys.path.pop(0)
    return [build_facts(Patient.model_validate(p)) for p in synth.profiles(40, 3)]


# ---------------------------------------------------------------------------- windows


def _exists_trial() -> Any:
    parts = [
        criterion(
            '{ exists = "treatments", where = { type = "chemotherapy" }, within = "P4W" }', "E1", "exclusion"
        ),
        criterion(
            '{ exists = "treatments", where = { type = "chemotherapy" }, within = "P6M" }', "E2", "exclusion"
        ),
        criterion(
            '{ exists = "treatments", where = { classes = "anthracycline" }, within = "P1Y" }',
            "E3",
            "exclusion",
        ),
        criterion(
            '{ exists = "treatments", where = { type = "radiotherapy" }, current = true }', "E4", "exclusion"
        ),
        criterion(
            '{ exists = "treatments", where = { any = [ { type = "surgery" }, '
            '{ type = "radiotherapy", intent = "palliative" } ] } }',
            "I1",
        ),
    ]
    return compile_bytes((header("W1", "windows") + "".join(parts)).encode(), "w1.toml")


W_TRIAL = _exists_trial()
W_PROGRAM = Program([W_TRIAL])
# month ends and a leap day: calendar windows clamp the day to the month's length
AS_OF_DATES = [date(2024, 2, 29), date(2024, 3, 31), date(2025, 8, 31), date(2026, 11, 1)]
AROUND = [-1, 0, 1]


@st.composite
def treated(draw: Any) -> Any:
    as_of = draw(st.sampled_from(AS_OF_DATES))
    windows = [timedelta(days=d) for d in (0, 28, 183, 184, 365, 366)]
    items = []
    for _ in range(draw(st.integers(0, 4))):
        edge = as_of - draw(st.sampled_from(windows)) + timedelta(days=draw(st.sampled_from(AROUND)))
        item: dict[str, Any] = {
            "type": draw(st.sampled_from(["chemotherapy", "radiotherapy", "surgery", None]))
        }
        if item["type"] is None:
            item = {"name": "an unplaced procedure"}
        when = draw(st.sampled_from(["start", "end", "both", "date", "none"]))
        if when in ("start", "both"):
            item["start"] = min(edge, as_of).isoformat()
        if when in ("end", "both"):
            item["end"] = min(edge + timedelta(days=draw(st.integers(0, 3))), as_of).isoformat()
        if when == "date":
            item["date"] = min(edge, as_of).isoformat()
        ongoing = draw(st.sampled_from([None, True, False]))
        if ongoing is not None and "end" not in item and "date" not in item:
            item["ongoing"] = ongoing
        if item.get("type") == "chemotherapy" and draw(st.booleans()):
            item["agents"] = [draw(st.sampled_from(["doxorubicin", "gemcitabine", "mystery-mab"]))]
        if item.get("type") == "radiotherapy" and draw(st.booleans()):
            item["intent"] = draw(st.sampled_from(["palliative", "curative"]))
        items.append(item)
    raw = {"id": "w", "as_of": as_of.isoformat(), "treatments": items}
    if draw(st.integers(0, 9)) == 0:
        del raw["treatments"]  # not recorded
    return build_facts(Patient.model_validate(raw))


@settings(max_examples=60)
@given(st.lists(treated(), min_size=1, max_size=10))
def test_exists_windows_on_their_edges(chunk):
    """Items starting or ending on, a day before and a day after each window's first day, on
    month ends and a leap day, several as-of dates in one chunk; ongoing, undated, unplaced and
    partly known items; a collection not recorded."""
    got = W_PROGRAM.run_chunk(chunk)
    for p, facts in enumerate(chunk):
        assert got.patient(p) == reference([W_TRIAL], facts) == W_PROGRAM.run(facts)


@pytest.mark.parametrize("piece", [1, 2, 7])
def test_trials_cut_into_pieces_keep_their_patterns(synthetic, monkeypatch, piece):  # noqa: F811
    """A trial with more criteria than one number holds is cut into pieces whose numbers are
    ranked and combined: the patterns stay those of the patients' statuses."""
    from eligimatch.engine import chunked as chunked_module

    monkeypatch.setattr(chunked_module, "_PIECE", piece)
    trials, cohort = synthetic
    program = Program(trials)
    got = chunked(program, cohort)
    for facts, mine in zip(cohort, got, strict=True):
        assert mine == program.run(facts)
