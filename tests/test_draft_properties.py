"""Safety property of the drafter: for eligibility texts generated from the recognisers' own
phrase grammar (blood-count thresholds with units, comparators, "and" / "or" / lists, headings
and parentheses; age limits and ranges; ECOG ranges; × ULN limits), a typed draft agrees with the
generated truth on generated patients; a text with a clause the grammar does not cover (an
exception, a condition, an alternative) is never typed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eligimatch.draft.clause import AS_OF
from eligimatch.draft.compose import compose
from eligimatch.draft.write import render
from eligimatch.engine import Trial, load_rule_file, status_of
from eligimatch.facts import build_facts
from eligimatch.patient import Patient

NAMES = {
    "anc": ["ANC", "absolute neutrophil count", "neutrophils"],
    "platelets": ["platelets", "platelet count", "PLT"],
    "hemoglobin": ["hemoglobin", "Hb", "haemoglobin"],
}
UNITS = {
    "anc": [("×10⁹/L", "10^9/L")],
    "platelets": [("x 10^9/L", "10^9/L")],
    "hemoglobin": [("g/dL", "g/dL"), ("g/L", "g/L")],
}
OPS = [("≥", ">="), (">=", ">="), ("at least", ">="), (">", ">"), ("≤", "<="), ("<", "<")]
EXTRAS = [
    "unless on G-CSF",
    "except in patients with marrow infiltration",
    "without transfusion within 14 days",
    "(or ≥ 1.0 if Benign ethnic neutropenia)",
]


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
        value = Decimal(draw(st.integers(1, 150))) / draw(st.sampled_from([Decimal(1), Decimal(10)]))
    return f"{name} {op_text} {value} {shown}", analyte, op, value, unit


@st.composite
def item(draw: st.DrawFn) -> tuple[str, list[tuple[str, str, str, Decimal, str]], str, bool]:
    analytes = draw(st.lists(st.sampled_from(sorted(NAMES)), min_size=1, max_size=3, unique=True))
    parts = [draw(clause(a)) for a in analytes]
    join = draw(st.sampled_from([", ", " and ", " or "]))
    text = join.join(p[0] for p in parts)
    if draw(st.booleans()):
        text = draw(st.sampled_from(["Hematology: ", "Adequate bone marrow function: "])) + text
    extra = draw(st.booleans())
    if extra:
        text += " " + draw(st.sampled_from(EXTRAS))
    return text, parts, join.strip() or "list", extra


def _drafted_trial(tmp_path_factory: pytest.TempPathFactory, text: str, logic: dict[str, object]) -> Trial:
    """A rule file of one inclusion drafted from ``text``, loaded as screening loads it."""
    path = tmp_path_factory.mktemp("prop") / "t.toml"
    trial = {"id": "T", "title": "t", "phase": "NA", "status": "X", "seed": "s"}
    path.write_text(
        render(trial, [{"id": "I1", "kind": "inclusion", "text": text, "logic": logic}]), encoding="utf-8"
    )
    return load_rule_file(path)


def _holds(value: Decimal, op: str, threshold: Decimal) -> bool:
    return {
        ">=": value >= threshold,
        ">": value > threshold,
        "<=": value <= threshold,
        "<": value < threshold,
    }[op]


@settings(max_examples=60, deadline=None)
@given(item(), st.data())
def test_typed_drafts_agree_with_the_generated_truth(
    tmp_path_factory: pytest.TempPathFactory,
    spec: tuple[str, list[tuple[str, str, str, Decimal, str]], str, bool],
    data: st.DataObject,
) -> None:
    text, parts, join, extra = spec
    d = compose(text, "inclusion")
    if extra:
        assert not d.typed, text
        return
    assert d.typed, (text, d.reason, d.leftover)
    loaded = _drafted_trial(tmp_path_factory, text, d.logic)
    crit = loaded.criteria[0]
    for _ in range(4):
        labs, truths = [], []
        for _, analyte, op, value, unit in parts:
            if data.draw(st.integers(0, 4)) == 0:
                truths.append(None)
                continue
            v = value + Decimal(data.draw(st.integers(-2, 2))) / 10
            v = max(v, Decimal(0))
            labs.append({"test": analyte, "value": v, "unit": unit, "date": AS_OF - dt.timedelta(days=2)})
            truths.append(_holds(v, op, value))
        if join == "or":
            truth = True if True in truths else (None if None in truths else False)
        else:
            truth = False if False in truths else (None if None in truths else True)
        facts = build_facts(Patient.model_validate({"id": "g", "labs": labs}), AS_OF, "g")
        got = status_of("inclusion", crit.node.evaluate(facts, loaded.context("I1")).value)
        assert got == status_of("inclusion", truth), (text, labs, got, truth)


# ---------------------------------------------------------------- age, ECOG and × ULN phrases
# Items drawn from the age, performance-status and × ULN recognisers' phrase shapes, with and
# without a clause the grammar does not cover.  Whatever the drafter types must decide like the
# generated truth; an item with an uncovered clause is never typed.

AGE_FORMS = [
    "Age ≥ {lo} years",
    "Aged ≥{lo} years;",
    "Patients {lo} years of age or older",
    "Age: {lo}-{hi} years old",
    "aged {lo} years or above and {hi} years or below",
]
ECOG_FORMS = [
    "ECOG performance status 0-{hi}",
    "ECOG PS 0-{hi};",
    "Eastern Cooperative Oncology Group (ECOG) performance status 0 - {hi}.",
]
ULN_FORMS = [
    ("Total bilirubin ≤{k}× upper limit of normal (ULN)", "bilirubin", "umol/L"),
    ("ALT ≤ {k} x ULN", "alt", "U/L"),
    ("AST/ALT ≤ {k} x ULN", "ast", "U/L"),
]
UNCOVERED = [
    ", or ≥ 16 years with parental consent",
    " (≤ 3 × ULN in Gilbert's syndrome)",
    ", or 2 if due to the tumour",
    " at diagnosis",
]


@st.composite
def simple_item(draw: st.DrawFn) -> tuple[str, str, dict[str, Decimal], bool]:
    kind = draw(st.sampled_from(["age", "ecog", "uln"]))
    if kind == "age":
        lo = draw(st.integers(12, 40))
        form = draw(st.sampled_from(AGE_FORMS))
        params = {"lo": Decimal(lo), "hi": Decimal(draw(st.integers(lo + 10, 90)))}
        text = form.format(lo=lo, hi=params["hi"])
        if "{hi}" not in form:
            params.pop("hi")
    elif kind == "ecog":
        hi = draw(st.integers(1, 3))
        text, params = draw(st.sampled_from(ECOG_FORMS)).format(hi=hi), {"hi": Decimal(hi)}
    else:
        form, analyte, _ = draw(st.sampled_from(ULN_FORMS))
        k = draw(st.sampled_from(["1.5", "2", "2.5", "3"]))
        text, params = form.format(k=k), {"k": Decimal(k)}
        kind = f"uln:{analyte}"
    extra = draw(st.booleans())
    if extra:
        text = text.rstrip(";.") + draw(st.sampled_from(UNCOVERED))
    return text, kind, params, extra


def _age_on(birth: dt.date, when: dt.date) -> int:
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


@settings(max_examples=60, deadline=None)
@given(simple_item(), st.data())
def test_typed_age_ecog_and_uln_drafts_agree_with_the_generated_truth(
    tmp_path_factory: pytest.TempPathFactory,
    spec: tuple[str, str, dict[str, Decimal], bool],
    data: st.DataObject,
) -> None:
    text, kind, params, extra = spec
    d = compose(text, "inclusion")
    if extra:
        assert not d.typed, (text, d.logic)
        return
    assert d.typed, (text, d.reason, d.leftover)  # every covered form is typed
    loaded = _drafted_trial(tmp_path_factory, text, d.logic)
    crit = loaded.criteria[0]
    for _ in range(4):
        profile: dict[str, object] = {"id": "g"}
        if kind == "age":
            birth = AS_OF - dt.timedelta(days=data.draw(st.integers(8 * 365, 95 * 365)))
            profile["birth_date"] = birth
            age = _age_on(birth, AS_OF)
            truth: bool | None = age >= params["lo"] and ("hi" not in params or age <= params["hi"])
        elif kind == "ecog":
            score = data.draw(st.integers(0, 5))
            profile["ecog"] = {"value": score, "date": AS_OF - dt.timedelta(days=1)}
            truth = score <= params["hi"]
        else:
            analyte = kind.split(":")[1]
            unit = "umol/L" if analyte == "bilirubin" else "U/L"
            uln = Decimal(20 if analyte == "bilirubin" else 40)
            value = uln * params["k"] + Decimal(data.draw(st.integers(-3, 3)))
            tests = ["alt", "ast"] if "AST/ALT" in text else [analyte]
            profile["labs"] = [
                {
                    "test": t,
                    "value": value,
                    "unit": unit,
                    "date": AS_OF - dt.timedelta(days=1),
                    "reference_range": {"high": uln, "unit": unit},
                }
                for t in tests
            ]
            truth = value <= uln * params["k"]
        facts = build_facts(Patient.model_validate(profile), AS_OF, "g")
        got = status_of("inclusion", crit.node.evaluate(facts, loaded.context("I1")).value)
        assert got == status_of("inclusion", truth), (text, profile, got, truth)
