"""Properties of the engine that hold for every criterion of every rule file.

The rule files are read when the tests run, so every property covers trials added later.  The
statements, precisely:

1. Unit invariance.  Writing any quantity of a profile in another unit of the same quantity (mass
   and substance concentrations for analytes with a molar mass; /µL, /mm³, 10⁹/L, 10³/µL for
   counts; kPa for mmHg; days for months ...) with its exact value there changes no canonical
   value, no criterion's status and no verdict.  The engine's factors equal an independent table.
2. Information monotonicity (safety).  Forgetting one recorded fact (a field, a nested field, a
   field of one item, a whole list, every result of one lab test, an attestation) changes each
   criterion's status only from pass or fail to unknown, never between pass and fail and never
   away from unknown; hence a trial's verdict either stays or becomes "undetermined": a profile
   missing a fact is never eligible unless the full profile is, never ineligible unless the full
   profile is.  At the level of facts: every canonical value and scalar either stays or
   disappears.  The exceptions are the documented fallbacks, and a status they change shows
   the fallback in its explanation: a measured CrCl gives way to the Cockcroft–Gault estimate;
   an ``evidence`` node's positive result, forgotten, lets a negative test or the problem list
   rule the condition out; and ``any_recorded`` (one measurement in units that do not convert,
   HBV DNA in IU/mL or copies/mL) sets aside a test with no result at all, or lets
   ``otherwise`` decide when none has one, so forgetting every result of one of its tests can
   let the others decide.  Forgetting covers an item's ``classes``, ``agents`` and ``name``
   (read through the drug catalogue), a condition's ``category``, a lab's reference range
   (× ULN is then decided only where every ULN of the analyte's band agrees; a range outside the
   band is an input error) and every date.  Adding evidence (a positive HIV or
   hepatitis result, a high viral load, an antiretroviral, immunosuppressant, corticosteroid or
   anticancer medication, a condition) never lifts an exclusion that applies.  The engine gaps
   this found are pinned as regression tests below.
3. Threshold monotonicity.  For a lower bound (``>``, ``>=``), raising the value never lowers
   the comparison in the order false < unknown < true (mirrored for upper bounds); a criterion
   in which every comparison of the quantity pulls the same way (through ``not`` and exclusion)
   moves monotonically in the order fail < unknown < pass.  At the threshold, a hair above and a
   hair below it, in every unit in which the threshold is exact, ``>=`` and ``>`` (and ``<=``,
   ``<``) decide exactly.
4. Kleene laws.  ``all`` / ``any`` / ``not`` follow the strong three-valued tables in any order;
   De Morgan and double negation hold, on constant children and on the rules' own leaves; every
   ``all`` / ``any`` / ``not`` in the rules equals the table applied to its children; an
   exclusion passes exactly when its condition is false.
5. Determinism.  The same input gives byte-identical JSON, in one process and across processes
   with different hash seeds; permuting the profile's lists, the trials, or a trial's criteria
   changes nothing (criteria compared by id).
6. Explanations.  Every trial and criterion appears once; every decisive comparison, condition or
   item shows in the criterion's explanation; every failing comparison shows the value with its
   unit (as converted, and as reported), and the threshold with its unit; every unknown names
   what is missing or what a clinician must review; the verdict names what decided it.
7. Round trips.  Profile → JSON (numbers as JSON numbers or as strings) → profile; rule file →
   model → TOML → model (a fixed point), and the rewritten file compiles to the same criteria
   and decides every generated profile exactly as the original.
8. Robustness.  Arbitrary JSON, profiles with one part replaced by arbitrary JSON, arbitrary unit
   strings, dates anywhere in the calendar, and malformed rule logic and expressions raise only
   :class:`~eligimatch.errors.EligimatchError` subclasses; ``eligimatch screen FILE`` exits 0,
   or 2 with exactly one line on stderr.

Counter-examples found while writing these are pinned with ``@example`` (or, for properties drawn
interactively, as explicit regression tests next to them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import assume, example, given, note
from hypothesis import strategies as st

import strategies as S
from eligimatch import cli, explain, rulesource
from eligimatch.api import parse_patient, screen
from eligimatch.engine import RuleSet, Trial, load_rule_file
from eligimatch.engine.core import Outcome, kleene_and, kleene_not, kleene_or, status_of
from eligimatch.engine.nodes import OPS, All, Any_, Compare, EvalContext, Evidence, Expr, Node, Not
from eligimatch.errors import EligimatchError, PatientError, RuleFileError, UnitError
from eligimatch.facts import Facts, build_facts
from eligimatch.patient import Patient, ReferenceRange
from eligimatch.rulefile import RuleFile
from eligimatch.units import analytes, parse_unit

TRIALS: tuple[Trial, ...] = S.load_trials()
RULES = RuleSet(TRIALS, "rules")
RANK = {False: 0, None: 1, True: 2}
STATUS_RANK = {"fail": 0, "unknown": 1, "pass": 2}
LISTS = (
    "labs",
    "blood_pressure",
    "metastases",
    "lesions",
    "conditions",
    "medications",
    "treatments",
    "toxicities",
    "allergies",
    "other_malignancies",
    "attestations",
)


def run(
    p: Patient, rules: RuleSet | list[Trial] = RULES, as_of: dt.date | None = None
) -> tuple[Facts, list[Any]]:
    return screen(p, rules, as_of, "<test>")


def statuses(results: list[Any]) -> dict[tuple[str, str], str]:
    return {(r.trial_id, c.id): c.status for r in results for c in r.criteria}


def explanations(results: list[Any]) -> dict[tuple[str, str], str]:
    return {(r.trial_id, c.id): c.explanation for r in results for c in r.criteria}


def verdicts(results: list[Any]) -> dict[str, str]:
    return {r.trial_id: r.verdict for r in results}


def json_bytes(facts: Facts, results: list[Any], rules: RuleSet = RULES) -> str:
    return explain.dumps(
        explain.document(facts.patient_id, "<test>", facts.as_of, results, rules.sha256, "test")
    )


def context(trial: Trial, criterion: Any) -> EvalContext:
    return trial.context(criterion.id)  # the trial's lab and attestation windows


def canonical_facts(f: Facts) -> dict[str, Any]:
    return {k: (q.value, q.comparator, q.result, q.uln, q.date) for k, q in f.quantities.items()}


# ============================================================================ 1 unit invariance

ORACLE = [
    pytest.param(k, u, f, id=f"{k}:{u}")
    for k, a in sorted(analytes().items())
    if a.kind == "quantity"
    for u, f in sorted(S.unit_factors(k).items())
]


@pytest.mark.parametrize(("key", "unit", "factor"), ORACLE)
def test_engine_conversion_factors_are_the_exact_ones(key, unit, factor):
    """1 unit in the analyte's canonical unit is exactly the oracle's factor (no float, no
    rounded decimal: 1 kPa is 10⁹/133322387415 mmHg, 1 day is 16/487 month)."""
    a = analytes()[key]
    spec = a.unit_for(unit)
    assert a.to_canonical(Decimal(1), spec) == factor
    assert a.to_canonical(Decimal("1.5"), spec) == Fraction(3, 2) * factor


@given(p=S.patients(), data=st.data())
def test_re_expressing_any_quantity_in_another_unit_changes_nothing(p, data):
    d2 = S.re_express(S.to_dict(p), lambda opts: data.draw(st.sampled_from(sorted(opts))))
    p2 = Patient.model_validate(d2)
    f1, r1 = run(p)
    f2, r2 = run(p2)
    assert canonical_facts(f1) == canonical_facts(f2)
    assert statuses(r1) == statuses(r2)
    assert verdicts(r1) == verdicts(r2)


# ============================================================================ 2 monotonicity


def assert_facts_only_forgotten(f1: Facts, f2: Facts, removal: S.Removal) -> None:
    full, less = canonical_facts(f1), canonical_facts(f2)
    for k, v in less.items():
        was = full.get(k)
        if was is not None and all(x is None or x == y for x, y in zip(v, was, strict=True)):
            continue  # the same, or with a part (a date) forgotten
        q = f2.quantities[k]
        assert removal.substitute and removal.substitute in (q.derived + q.uln_note), (
            f"forgetting {removal.label} changed {k}: {full.get(k)} -> {v}"
        )
    for k, v in f2.scalars.items():
        assert v is None or v == f1.scalars.get(k), f"forgetting {removal.label} changed {k}"
    assert f2.histology in (None, f1.histology)


def _recorded(key: str, facts: Facts) -> bool:
    return key in facts.quantities or key in facts.quantity_gaps


def fallbacks_taken(trial: Trial, criterion: Any, facts: Facts, removal: S.Removal) -> list[str]:
    """Documented rules of ``any_recorded`` (one measurement reported in units that do not
    convert, e.g. HBV DNA in IU/mL or copies/mL) that let a criterion decide on ``facts``:

    * ``otherwise`` decides when none of its quantities has a result;
    * a comparison whose quantity has no result at all is set aside while another has one, so
      forgetting every result of one of the tests lets the others decide alone;
    * an ``evidence`` node: a positive result wins over a negative test or a problem list that
      does not record the condition, so forgetting every result of a positive test lets those
      rule the condition out.

    Returns the texts the explanation must contain (empty: no such rule applied).
    """
    out = []
    forgotten = removal.label.removeprefix("labs[test=").removesuffix("]")
    for n in S.walk(criterion.node):
        gone = set(analytes()) if removal.label == "labs" else {forgotten}
        if isinstance(n, Evidence) and gone & {t.test for t in n.concept.positive}:
            # a positive result wins over a negative test or a problem list without the
            # condition; forgotten, those rule the condition out (data/evidence.toml)
            now = n.evaluate(facts, context(trial, criterion))
            if now.value is False:
                out.append(now.text)
            continue
        kids = [k for k in S.children(n) if isinstance(k, Compare)]
        if not hasattr(n, "otherwise") or not kids:
            continue
        keys = {k.analyte.key for k in kids}
        some = any(_recorded(k, facts) for k in keys)
        otherwise_decides = n.otherwise is not None and not some
        set_aside = forgotten in keys and some
        if otherwise_decides or set_aside:
            out.append(n.evaluate(facts, context(trial, criterion)).text)
    return out


@given(p=S.patients(), data=st.data())
def test_forgetting_a_fact_only_moves_statuses_towards_unknown(p, data):
    rems = S.removals(S.to_dict(p))
    assume(rems)
    picked = data.draw(st.lists(st.sampled_from(rems), min_size=1, max_size=8, unique_by=lambda r: r.label))
    check_forgetting(p, picked)


def states_its_classes(d: dict[str, Any], rem: S.Removal) -> bool:
    """Forgetting a drug item's name or agents while the item states its ``classes``: the file's
    own statement ("classes": [] is "none") then stands alone.  A documented exception, like a
    negative test that rules a condition out once a positive result is forgotten."""
    m = re.fullmatch(r"(treatments|medications)\[(\d+)\]\.(name|agents)", rem.label)
    return m is not None and d[m[1]][int(m[2])].get("classes") is not None


def check_forgetting(p: Patient, picked: list[S.Removal]) -> None:
    f1, r1 = run(p)
    before, verdict = statuses(r1), verdicts(r1)
    criteria = {(t.id, c.id): (t, c) for t in TRIALS for c in t.criteria}
    d = S.to_dict(p)
    for rem in picked:
        note(rem.label)
        if states_its_classes(d, rem):
            continue
        f2, r2 = run(Patient.model_validate(rem.profile))
        assert_facts_only_forgotten(f1, f2, rem)
        why = explanations(r2)
        substituted = False
        for key, now in statuses(r2).items():
            if now == before[key] or now == "unknown":
                continue
            fallback = fallbacks_taken(*criteria[key], f2, rem)
            assert (rem.substitute and rem.substitute in why[key]) or (
                fallback and all(f in why[key] for f in fallback)
            ), f"forgetting {rem.label} turned {key} from {before[key]} into {now}: {why[key]}"
            substituted = True
        if not substituted:
            for t, v in verdicts(r2).items():
                assert v in (verdict[t], "undetermined"), (rem.label, t, verdict[t], v)


@given(p=S.patients(), data=st.data())
def test_adding_evidence_never_lifts_an_exclusion_that_applies(p, data):
    """A positive HIV / HBsAg / anti-HBc / anti-HCV result or a high viral load (the newest
    result), a medication (an antiretroviral, an HBV antiviral, an immunosuppressant, a systemic
    corticosteroid, an anticancer drug) or a condition: an exclusion that applied (fail) still
    applies, and so no ineligible patient becomes eligible or undetermined through it."""
    d = S.to_dict(p)
    added = data.draw(S.additions(d))
    note(added.label)
    _, r1 = run(p)
    _, r2 = run(Patient.model_validate(added.profile))
    before, after, why = statuses(r1), statuses(r2), explanations(r2)
    kinds = {(r.trial_id, c.id): c.kind for r in r1 for c in r.criteria}
    for (trial, cid), was in before.items():
        if was == "fail" and kinds[(trial, cid)] == "exclusion":
            assert after[(trial, cid)] == "fail", (
                f"{added.label} turned {trial} {cid} from fail into {after[(trial, cid)]}: "
                f"{why[(trial, cid)]}"
            )


def _alt(rr: dict[str, Any] | None) -> Facts:
    lab: dict[str, Any] = {"test": "alt", "value": 40, "unit": "U/L", "date": "2026-03-01"}
    if rr is not None:
        lab["reference_range"] = rr
    return build_facts(Patient.model_validate({"id": "u", "as_of": "2026-03-01", "labs": [lab]}))


def test_pinned_forgetting_a_range_inside_the_band_never_decides_differently():
    """The band decides only where every adult ULN agrees, so for a lab whose ULN lies in the
    band, forgetting the range keeps the verdict or makes it unknown."""
    node = Compare(analytes()["alt"], "<=", uln_multiple=Decimal("2.5"))
    ctx = EvalContext("T", "I1", None)
    for high, value in ((19, True), (70, True), (20, True)):  # 40 U/L ≤ 2.5 × ULN?
        with_range = node.evaluate(_alt({"high": high}), ctx).value
        assert with_range is value
        without = node.evaluate(_alt(None), ctx)
        if S.in_band("alt", Fraction(high)):
            assert without.value in (with_range, None), without.text


def test_pinned_a_range_outside_the_band_is_an_error_not_a_fail_that_forgetting_passes():
    """Found here: ALT 40 U/L with a lab ULN of 12 U/L was accepted (3.33 × ULN, fails "≤ 2.5 ×
    ULN") while without the range the band (19-70 U/L) passed it.  One band now serves both: a
    ULN outside it is an input error, so the range cannot be forgotten into a pass."""
    with pytest.raises(PatientError, match="is not a plausible upper limit of normal of alanine"):
        _alt({"high": 12})


def _screened(profile: dict[str, Any], trial: str, criterion: str) -> str:
    _, results = run(Patient.model_validate({"id": "g", "as_of": "2026-03-01", **profile}))
    r = next(r for r in results if r.trial_id == trial)
    return next(c.status for c in r.criteria if c.id == criterion)


def test_pinned_forgetting_where_a_procedure_was_never_turns_unknown_into_pass():
    """A procedure at the tumour site whose name cannot tell whether it removed the tumour
    leaves NCT06593899 E1.unplanned_excision unknown; with the site forgotten it passed."""
    at_site = {
        "type": "procedure",
        "name": "lesion injection",
        "involves_target_site": True,
        "date": "2026-01-01",
    }
    assert _screened({"treatments": [at_site]}, "NCT06593899", "E1.unplanned_excision") == ("unknown")
    forgotten = {k: v for k, v in at_site.items() if k != "involves_target_site"}
    assert _screened({"treatments": [forgotten]}, "NCT06593899", "E1.unplanned_excision") != "pass"


def test_pinned_forgetting_a_treatment_type_keeps_its_amputation():
    done = {"type": "procedure", "agents": ["x"], "amputation": True, "date": "2026-01-01"}
    untyped = {k: v for k, v in done.items() if k != "type"}
    for t in (done, untyped):
        p = Patient.model_validate({"id": "a", "as_of": "2026-03-01", "treatments": [t]})
        assert build_facts(p).scalars["amputee"] is True, t


def test_pinned_forgetting_a_metastasis_status_makes_the_counts_unknown():
    """Counter-example: a resolved liver metastasis was not counted; with its status forgotten
    it was counted, so "≤ 3 metastatic organs" went from pass to fail."""
    mets = [{"site": s, "lesion_count": 1, "status": "active"} for s in ("bone", "lung", "adrenal")]
    full = Patient.model_validate(
        {
            "id": "m",
            "as_of": "2026-03-01",
            "metastases": [*mets, {"site": "liver", "lesion_count": 2, "status": "resolved"}],
        }
    )
    less = Patient.model_validate(
        {"id": "m", "as_of": "2026-03-01", "metastases": [*mets, {"site": "liver", "lesion_count": 2}]}
    )
    f1, f2 = build_facts(full), build_facts(less)
    assert f1.quantities["metastatic_organ_count"].value == 3
    assert f1.quantities["metastatic_lesion_count"].value == 3
    assert "metastatic_organ_count" not in f2.quantities
    assert "metastatic_lesion_count" not in f2.quantities
    assert "liver" in f2.gap("metastatic_organ_count")[0]


# ============================================================================ 3 thresholds


def _sites() -> dict[tuple[Any, ...], tuple[Trial, Any, Compare]]:
    out: dict[tuple[Any, ...], tuple[Trial, Any, Compare]] = {}
    for t in TRIALS:
        for c in t.criteria:
            for n in S.walk(c.node):
                if isinstance(n, Compare) and n.ordinal is None and S.placeable(n.analyte.key):
                    out.setdefault((n.analyte.key, n.op, n.threshold, n.uln_multiple), (t, c, n))
    return out


SITES = _sites()
SITE_PARAMS = [
    pytest.param(v, id=f"{k[0]}{k[1]}{k[2] if k[3] is None else f'{k[3]}xULN'}")
    for k, v in sorted(SITES.items(), key=lambda kv: repr(kv[0]))
]
SIDES = {"below": -1, "at": 0, "above": 1}


def _boundary_profile(
    node: Compare, as_of: dt.date, side: int, hair: int, pick: int
) -> tuple[dict[str, Any], str] | None:
    """A profile whose value of ``node``'s quantity is at its limit (or a hair from it), in the
    ``pick``-th unit in which the limit is exact; None when there is none."""
    a = node.analyte
    key = a.key
    rr = None
    if node.uln_multiple is not None:
        base = a.uln_band[0] if a.uln_band is not None else Fraction(40)
        highs = S.exact_units(key, base)
        ru, high = highs[pick % len(highs)]
        rr = ReferenceRange(high=high, unit=ru)
        limit = Fraction(node.uln_multiple) * S.canonical(key, high, ru)
    else:
        assert node.threshold is not None
        limit = node.threshold
    opts = S.exact_units(key, limit)
    if key == "age":  # placed as a birth date: whole years
        opts = [("year", Decimal(int(limit)))]
    if not opts:
        return None
    unit, value = opts[(pick // 7) % len(opts)]
    if a.integer:
        value += side
    elif side:
        with localcontext() as ctx:  # exactly: 28 digits could round the hair away
            ctx.prec = 100
            value += side * Decimal(1).scaleb(value.adjusted() - hair if value else -hair)
    if value < 0:
        return None
    d = S.place({"id": "boundary", "as_of": as_of}, key, value, unit, as_of, rr)
    return d, f"{value} {unit}" + (f" with ULN {rr.high} {rr.unit}" if rr else "")


@pytest.mark.parametrize("site", SITE_PARAMS)
@given(
    as_of=S.AS_OF, side=st.sampled_from(sorted(SIDES)), hair=st.integers(1, 20), pick=st.integers(0, 10**6)
)
@example(as_of=dt.date(2026, 3, 1), side="at", hair=1, pick=7 * 9)  # ANC 1500 /uL ≥ 1.5×10⁹/L
@example(as_of=dt.date(2026, 3, 1), side="below", hair=18, pick=7 * 9)
def test_boundaries_are_exact_in_every_unit(site, as_of, side, hair, pick):
    trial, criterion, node = site
    made = _boundary_profile(node, as_of, SIDES[side], hair, pick)
    assume(made is not None and (node.analyte.key != "ecog" or 0 <= made[0]["ecog"]["value"] <= 5))
    assert made is not None
    d, shown = made
    note(shown)
    try:
        facts = build_facts(Patient.model_validate(d))
    except PatientError:  # a hair outside the analyte's possible range
        assume(False)
    out = node.evaluate(facts, context(trial, criterion))
    assert out.value is OPS[node.op](SIDES[side], 0), f"{shown}: {out.text}"


PINNED_BOUNDARIES = [  # value, unit, threshold, unit: all equal, so >= and <= both hold
    ("anc", "1500", "/uL", "1.5", "10^9/L"),
    ("platelets", "60", "10*3/uL", "60000", "/mm3"),
    ("hemoglobin", "5", "g/dL", "50", "g/L"),
    ("life_expectancy", "90", "day", "3", "month"),  # an estimate: 1 month = 30 d
    ("life_expectancy", "84", "day", "12", "week"),
    ("life_expectancy", "1", "year", "12", "month"),  # 1 year = 12 × 30 days
    ("life_expectancy", "360", "d", "1", "a"),
    ("bp_systolic", "21.3315819864", "kPa", "160", "mmHg"),  # 1 mmHg = 133.322387415 Pa
    ("bp_systolic", "160", "mmHg", "21.3315819864", "kPa"),
    ("alt", "144", "U/L", "2.4", "ukat/L"),  # 1 U = 1/60 µkat
    ("crcl", "3", "L/h", "50", "mL/min"),
    ("creatinine", "1.1312", "mg/dL", "100", "umol/L"),  # molar mass 113.12 g/mol
]


@pytest.mark.parametrize(("key", "value", "unit", "limit", "limit_unit"), PINNED_BOUNDARIES)
def test_pinned_boundaries_after_conversion(key, value, unit, limit, limit_unit):
    """Found or named while writing the properties: a value equal to the threshold, written in
    another unit, satisfies both ``>=`` and ``<=`` (a rounded factor breaks one of them)."""
    a = analytes()[key]
    exact = a.to_canonical(Decimal(limit), a.unit_for(limit_unit))
    when = dt.date(2026, 3, 1)
    d = S.place({"id": "pin", "as_of": when}, key, Decimal(value), unit, when)
    facts = build_facts(Patient.model_validate(d))
    for op in (">=", "<="):
        out = Compare(a, op, threshold=exact).evaluate(facts, EvalContext("T", "I1", None))
        assert out.value is True, (key, value, unit, op, out.text)


def _pull(criterion: Any, key: str) -> set[int] | None:
    """How the criterion's status moves when ``key`` rises: {+1}, {-1}, both, or None when
    something other than a comparison reads it (an expression)."""
    derived = {"crcl": {"creatinine": -1, "age": -1, "weight": 1}}
    pulls: set[int] = set()

    def visit(node: Any, sign: int) -> bool:
        if isinstance(node, Not):
            return visit(node.child, -sign)
        if isinstance(node, Compare) and node.ordinal is None:
            way = {">": 1, ">=": 1, "<": -1, "<=": -1}.get(node.op)
            if node.analyte.key == key or key in derived.get(node.analyte.key, {}):
                if way is None:
                    pulls.update((1, -1))
                else:
                    pulls.add(sign * way * derived.get(node.analyte.key, {}).get(key, 1))
            return True
        kids = S.children(node)
        if not kids:
            return key not in (node.symbols() if hasattr(node, "symbols") else set())
        return all(visit(k, sign) for k in kids)

    ok = visit(criterion.node, 1 if criterion.spec.kind == "inclusion" else -1)
    return pulls if ok else None


ALL_SITES = [
    (t, c, n)
    for t in TRIALS
    for c in t.criteria
    for n in S.walk(c.node)
    if isinstance(n, Compare) and n.ordinal is None and S.placeable(n.analyte.key)
]


@given(p=S.patients(), data=st.data())
def test_raising_a_value_moves_comparisons_and_criteria_one_way(p, data):
    trial, criterion, node = data.draw(st.sampled_from(ALL_SITES))
    a, key = node.analyte, node.analyte.key
    when = data.draw(st.sampled_from([p.as_of, p.as_of - dt.timedelta(days=3)]))
    rr = None
    ulns: tuple[Fraction, ...] = ()
    if node.uln_multiple is not None and a.uln_band is not None and data.draw(st.booleans()):
        high = data.draw(st.sampled_from(S.uln_points(key)))
        ru, h = data.draw(st.sampled_from(S.exact_units(key, high)))
        rr, ulns = ReferenceRange(high=h, unit=ru), (high,)
    elif node.uln_multiple is not None and a.uln_band is not None:
        ulns = a.uln_band  # no range: the band decides, or leaves it unknown
    v1 = data.draw(S.quantity_values(key, ulns))
    v2 = data.draw(S.quantity_values(key, ulns))
    c1, c2 = S.canonical(key, *v1), S.canonical(key, *v2)
    assume(c1 != c2)
    if c2 < c1:
        (v1, c1), (v2, c2) = (v2, c2), (v1, c1)
    base = S.to_dict(p)
    outs = []
    for value, unit in (v1, v2):
        if key == "age":
            value = Decimal(int(S.canonical(key, value, unit)))
        facts = build_facts(Patient.model_validate(S.place(base, key, value, unit, when, rr)))
        node_out = node.evaluate(facts, context(trial, criterion))
        crit = criterion.node.evaluate(facts, context(trial, criterion))
        outs.append((node_out, status_of(criterion.spec.kind, crit.value)))
    (n1, s1), (n2, s2) = outs
    note(f"{v1} -> {v2}: {n1.text} | {n2.text}; {s1} -> {s2}")
    way = {">": 1, ">=": 1, "<": -1, "<=": -1}.get(node.op)
    if way is not None:
        assert way * (RANK[n2.value] - RANK[n1.value]) >= 0
    pulls = _pull(criterion, key)
    if pulls in ({1}, {-1}):
        (pull,) = pulls
        assert pull * (STATUS_RANK[s2] - STATUS_RANK[s1]) >= 0, (criterion.id, s1, s2)


# ============================================================================ 4 Kleene laws


@dataclasses.dataclass(frozen=True)
class Const(Node):
    value: bool | None
    label: str = "x"

    def evaluate(self, facts: Facts, ctx: EvalContext) -> Outcome:
        missing = (f"fact {self.label}",) if self.value is None else ()
        return Outcome(self.value, f"{self.label} is {self.value}", missing)


def ref_and(vs: list[bool | None]) -> bool | None:
    return min(vs, key=RANK.__getitem__)


def ref_or(vs: list[bool | None]) -> bool | None:
    return max(vs, key=RANK.__getitem__)


def ref_not(v: bool | None) -> bool | None:
    return None if v is None else not v


NO_FACTS = Facts(patient_id="k", as_of=dt.date(2026, 1, 1))
CTX = EvalContext("T", "I1", None)
TRUTHS = st.lists(st.sampled_from([True, False, None]), min_size=1, max_size=6)


@given(vs=TRUTHS, data=st.data())
@example(vs=[None, True], data=None)  # a left-to-right short circuit would answer unknown
@example(vs=[False, None, False], data=None)
def test_all_any_not_follow_the_three_valued_tables_in_any_order(vs, data):
    nodes = tuple(Const(v, f"c{i}") for i, v in enumerate(vs))
    order = data.draw(st.permutations(nodes)) if data is not None else nodes[::-1]
    for kids in (nodes, tuple(order)):
        a_all, a_any = All(kids).evaluate(NO_FACTS, CTX), Any_(kids).evaluate(NO_FACTS, CTX)
        assert a_all.value is ref_and(vs) and kleene_and(vs) is ref_and(vs)
        assert a_any.value is ref_or(vs) and kleene_or(vs) is ref_or(vs)
        for out in (a_all, a_any):
            if out.value is None:
                assert out.missing, "an unknown combination must say what is missing"
    # De Morgan, both ways; double negation
    negs = tuple(Not(n) for n in nodes)
    assert Not(All(nodes)).evaluate(NO_FACTS, CTX).value is Any_(negs).evaluate(NO_FACTS, CTX).value
    assert Not(Any_(nodes)).evaluate(NO_FACTS, CTX).value is All(negs).evaluate(NO_FACTS, CTX).value
    for n, v in zip(nodes, vs, strict=True):
        assert Not(Not(n)).evaluate(NO_FACTS, CTX).value is v
        assert Not(n).evaluate(NO_FACTS, CTX).value is ref_not(v) is kleene_not(v)
        assert status_of("exclusion", v) == {False: "pass", True: "fail", None: "unknown"}[v]
        assert status_of("inclusion", v) == {True: "pass", False: "fail", None: "unknown"}[v]


def _check_tree(node: Any, facts: Facts, ctx: EvalContext) -> bool | None:
    """Evaluate ``node`` and assert every all / any / not in it equals the reference tables."""
    value = node.evaluate(facts, ctx).value
    kids = [_check_tree(k, facts, ctx) for k in S.children(node)]
    if isinstance(node, All):
        assert value is ref_and(kids), f"all: {kids} gave {value}"
    elif isinstance(node, Any_):
        assert value is ref_or(kids), f"any: {kids} gave {value}"
    elif isinstance(node, Not):
        assert value is ref_not(kids[0]), f"not: {kids} gave {value}"
    return value


LEAVES = [
    (t, c, n)
    for t in TRIALS
    for c in t.criteria
    for n in S.walk(c.node)
    if not isinstance(n, All | Any_ | Not)
]


@given(p=S.patients(), data=st.data())
def test_rule_logic_obeys_the_kleene_laws(p, data):
    facts, results = run(p)
    by_id = {(r.trial_id, c.id): c for r in results for c in r.criteria}
    for t in TRIALS:
        for c in t.criteria:
            value = _check_tree(c.node, facts, context(t, c))
            got = by_id[(t.id, c.id)].status
            if c.spec.kind == "exclusion":  # passes exactly when its condition is false
                assert (got == "pass") == (value is False)
                assert (got == "fail") == (value is True)
            assert got == status_of(c.spec.kind, value)
    picked = data.draw(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=4))
    leaves = tuple(n for _, _, n in picked)
    ctx = context(picked[0][0], picked[0][1])
    vals = [n.evaluate(facts, ctx).value for n in leaves]
    negs = tuple(Not(n) for n in leaves)
    assert All(leaves).evaluate(facts, ctx).value is ref_and(vals)
    assert Any_(leaves).evaluate(facts, ctx).value is ref_or(vals)
    assert Not(All(leaves)).evaluate(facts, ctx).value is Any_(negs).evaluate(facts, ctx).value
    assert Not(Any_(leaves)).evaluate(facts, ctx).value is All(negs).evaluate(facts, ctx).value
    assert Not(Not(leaves[0])).evaluate(facts, ctx).value is vals[0]


# ============================================================================ 5 determinism


@given(p=S.patients())
def test_same_input_gives_byte_identical_json(p):
    first = json_bytes(*run(p))
    assert json_bytes(*run(p)) == first
    again = parse_patient(json_with_numbers(p), "<again>")
    assert json_bytes(*run(again)) == first


def test_separate_processes_give_byte_identical_json():
    """Across processes with different hash seeds (set and dict order), the JSON of every
    example patient is the same bytes."""
    root = Path(__file__).resolve().parents[1]
    files = sorted(str(p) for p in (root / "patients").glob("*.json"))
    outs = set()
    for seed in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-m", "eligimatch", "screen", "--format", "json", *files],
            cwd=root,
            capture_output=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert proc.returncode == 0, proc.stderr
        outs.add(proc.stdout)
    assert len(outs) == 1


@given(p=S.patients(), data=st.data())
def test_permuting_lists_trials_and_criteria_changes_nothing(p, data):
    facts, results = run(p)
    first = json_bytes(facts, results)
    d = S.to_dict(p)
    shuffled = {k: (data.draw(st.permutations(v)) if k in LISTS else v) for k, v in d.items()}
    assert json_bytes(*run(Patient.model_validate(shuffled))) == first
    trials = data.draw(st.permutations(TRIALS))
    assert json_bytes(*run(p, RuleSet(tuple(trials), "rules"))) == first
    by_trial = {r.trial_id: r for r in results}
    for t in TRIALS:
        crit = data.draw(st.permutations(t.criteria))
        r = dataclasses.replace(t, criteria=tuple(crit)).evaluate(facts)
        want = by_trial[t.id]
        assert r.verdict == want.verdict
        assert {c.id: c for c in r.criteria} == {c.id: c for c in want.criteria}
        assert set(r.missing) == set(want.missing) and set(r.review) == set(want.review)


def test_pinned_blood_pressure_readings_compare_in_one_unit():
    """Counter-example: two readings on one day, one in kPa: the "highest" was picked by the bare
    numbers (120 > 18.66...), so writing a reading in kPa changed which one counted."""
    kpa = S.exact_decimal(Fraction(140) / S.unit_factors("bp_systolic")["kPa"])
    kpa_d = S.exact_decimal(Fraction(90) / S.unit_factors("bp_systolic")["kPa"])
    readings = [
        {"systolic": 120, "diastolic": 80, "date": "2026-02-27"},
        {"systolic": str(kpa), "diastolic": str(kpa_d), "unit": "kPa", "date": "2026-02-27"},
    ]
    for order in (readings, readings[::-1]):
        f = build_facts(Patient.model_validate({"id": "bp", "as_of": "2026-03-01", "blood_pressure": order}))
        assert f.quantities["bp_systolic"].value == 140
        assert f.quantities["bp_diastolic"].value == 90


def test_pinned_items_are_listed_in_one_order():
    """Counter-example: two allergies in either order gave two different explanations."""
    allergies = [{"substance": "0"}, {"substance": "adriamycin"}]
    docs = set()
    for order in (allergies, allergies[::-1]):
        p = Patient.model_validate({"id": "o", "as_of": "2026-03-01", "allergies": order})
        docs.add(json_bytes(*run(p)))
    assert len(docs) == 1


# ============================================================================ 6 explanations


def decisive(node: Any, facts: Facts, ctx: EvalContext) -> list[tuple[Any, Outcome]]:
    """The leaves whose outcomes decide ``node``: for all / any, the children that agree with
    the result (all of them when every child had to be looked at)."""
    out = node.evaluate(facts, ctx)
    if isinstance(node, Not):
        return decisive(node.child, facts, ctx)
    if isinstance(node, All | Any_):
        everyone = out.value is (bool(isinstance(node, All)))
        kids = [k for k in node.children if everyone or k.evaluate(facts, ctx).value is out.value]
        return [x for k in kids for x in decisive(k, facts, ctx)]
    return [(node, out)]


@given(p=S.patients())
def test_every_result_explains_itself(p):
    facts, results = run(p)
    doc = explain.document(facts.patient_id, "<test>", facts.as_of, results, RULES.sha256, "t")
    assert sorted(t["trial_id"] for t in doc["trials"]) == sorted(t.id for t in TRIALS)
    by_trial = {r.trial_id: r for r in results}
    for t in TRIALS:
        r = by_trial[t.id]
        ids = [c.id for c in r.criteria]
        assert sorted(ids) == sorted(c.id for c in t.criteria) and len(set(ids)) == len(ids)
        results_by_id = {c.id: c for c in r.criteria}
        for c in t.criteria:
            res = results_by_id[c.id]
            assert res.explanation.strip()
            if res.status == "unknown":
                assert res.missing or res.review, f"{t.id} {c.id}: {res.explanation}"
            for leaf, out in decisive(c.node, facts, context(t, c)):
                assert out.text in res.explanation, (c.id, out.text, res.explanation)
                if res.status == "fail" and isinstance(leaf, Compare) and out.value is not None:
                    _assert_names_values_and_units(leaf, facts, out.text)
        fails = [c.id for c in r.criteria if c.status == "fail"]
        if r.verdict == "ineligible":
            assert fails and all(f in r.reason for f in fails)
        elif r.verdict == "undetermined":
            assert not fails and (r.missing or r.review)
        else:
            assert all(c.status == "pass" for c in r.criteria)


def _assert_names_values_and_units(node: Compare, facts: Facts, text: str) -> None:
    a = node.analyte
    q = facts.quantity(a.key)
    assert q is not None
    assert a.short in text
    if q.result is not None:
        assert q.result in text
        return
    assert q.value is not None and a.show(q.value) in text, (a.show(q.value), text)
    if q.reported:
        assert f"reported {q.reported}" in text, (q.reported, text)
    if node.threshold is not None:
        assert a.show(node.threshold) in text, (a.show(node.threshold), text)
    elif node.uln_multiple is not None:
        assert "× ULN" in text and q.uln_note in text


# ============================================================================ 7 round trips


def json_with_numbers(p: Patient) -> str:
    """The profile as a patient file writes it: numbers as JSON numbers, dates as strings."""

    def enc(o: Any) -> str:
        return f"@@{o}@@" if isinstance(o, Decimal) else o.isoformat()

    text = json.dumps(p.model_dump(exclude_none=True), default=enc, ensure_ascii=False)
    return re.sub(r'"@@([^"@]+)@@"', r"\1", text)


@given(p=S.patients())
@example(
    p=Patient(
        id="p",
        as_of=dt.date(2026, 3, 1),
        labs=[
            {
                "test": "anc",
                "value": Decimal("1499.99999999999999999"),
                "unit": "/uL",
                "date": dt.date(2026, 2, 27),
            }
        ],
    )
)  # read through a float, it became 1500.0
def test_profile_json_profile_round_trip(p):
    # (pydantic's model_dump_json writes decimals as strings, which the strict reader refuses)
    assert parse_patient(json_with_numbers(p), "<numbers>") == p
    assert Patient.model_validate(S.to_dict(p)) == p


RULE_FILES = sorted({Path(t.path) for t in TRIALS})


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def inline_toml(value: Any) -> str:
    """``value`` as one TOML inline value, keys in their order.  (A writer of standard tables
    must put a table's plain keys before its sub-tables, which reorders a `where` such as
    ``{ symptomatic = true, status = { not = "resolved" }, spine = "vertebral" }`` and with it the
    explanation; the rule files write logic inline, and so does this.)"""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | dt.date):
        return str(value) if isinstance(value, int) else value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(inline_toml(v) for v in value) + "]"
    assert isinstance(value, dict), value
    keys = (k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False) for k in value)
    return (
        "{ " + ", ".join(f"{k} = {inline_toml(v)}" for k, v in zip(keys, value.values(), strict=True)) + " }"
    )


def dump_rules(model: RuleFile) -> str:
    tomli_w = pytest.importorskip("tomli_w")  # the `test` extra installs it
    raw = model.model_dump(by_alias=True, exclude_none=True)
    logic = {}
    for i, c in enumerate(raw.get("criteria", [])):
        logic[f'"@@logic {i}@@"'] = inline_toml(c["logic"])
        c["logic"] = f"@@logic {i}@@"
    text = str(tomli_w.dumps(raw))
    for placeholder, inline in logic.items():
        text = text.replace(placeholder, inline, 1)
    return text


def resolved(path: Path) -> Any:
    """A rule file's document with its definitions expanded."""
    return rulesource.read(path.read_bytes(), rulesource.load_shared(path))[0]


def rewrite(path: Path) -> tuple[RuleFile, str]:
    raw = resolved(path)
    model = RuleFile.model_validate(raw)
    return model, dump_rules(model)


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.name for p in RULE_FILES])
def test_rule_file_model_file_round_trip(path, tmp_path):
    model, text = rewrite(path)
    again = RuleFile.model_validate(tomllib.loads(text, parse_float=Decimal))
    assert again == model
    assert dump_rules(again) == text
    out = tmp_path / path.name
    out.write_text(text, encoding="utf-8")  # and it compiles to the same criteria
    assert [c.spec for c in load_rule_file(out).criteria] == [c.spec for c in load_rule_file(path).criteria]


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory) -> list[Trial]:
    d = tmp_path_factory.mktemp("rewritten")
    out = []
    for path in RULE_FILES:
        target = d / path.name
        target.write_text(rewrite(path)[1], encoding="utf-8")
        out.append(load_rule_file(target))
    return out


@given(p=S.patients())
def test_rewritten_rule_files_decide_exactly_as_the_originals(rewritten, p):
    _, r1 = run(p)
    _, r2 = run(p, rewritten)
    assert [dataclasses.astuple(r) for r in r1] == [dataclasses.astuple(r) for r in r2]


# ============================================================================ 8 robustness


def screen_or_documented_error(text: str | bytes, as_of: dt.date | None) -> None:
    try:
        p = parse_patient(text, "<fuzz>")
        _facts, results = run(p, as_of=as_of)
    except EligimatchError as exc:
        assert str(exc).strip()
        return
    for r in results:
        for c in r.criteria:
            assert c.status != "unknown" or c.missing or c.review


@given(value=st.one_of(S.json_values(), S.FHIR_ISH), as_of=st.one_of(st.none(), st.dates()))
@example(
    value={"id": "x", "as_of": "2026-01-01", "weight": {"value": "1e-999999999", "unit": "kg"}}, as_of=None
)
def test_arbitrary_json_is_screened_or_a_documented_error(value, as_of):
    screen_or_documented_error(json.dumps(value), as_of)


@given(data=st.binary(max_size=64))
@example(data=b'{"id": ' + b"1" * 5000 + b"}")
@example(data=b"\xff\xfe{")
@example(data=b'{"id": "x", "ecog": {"value": 1e999999999}}')  # a billion-digit int: hung
@example(data=b'{"id": "x", "ecog": {"value": 1e999999}}')
@example(data=b'{"id": "x", "as_of": "2026-01-01", "weight": {"value": 1e29, "unit": "kg"}}')
def test_arbitrary_bytes_are_screened_or_a_documented_error(data):
    screen_or_documented_error(data, None)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@given(p=S.patients(), data=st.data())
def test_a_profile_with_one_part_replaced_by_junk_is_screened_or_a_documented_error(p, data):
    d = p.model_dump(mode="json", exclude_none=True)
    path = data.draw(st.sampled_from(_paths(d)))
    junk = data.draw(
        st.one_of(
            S.json_values(),
            st.sampled_from(
                [
                    "",
                    "1e-999999999",
                    "1e999999999",
                    "NaN",
                    "-1",
                    "2026-02-30",
                    "9999-12-31",
                    "0001-01-01",
                    "a\nb",
                    "10^9/L\n",
                    "µmol/L",
                    "P4W",
                    " ",
                ]
            ),
        )
    )
    if data.draw(st.booleans()) and isinstance(path[-1], str):  # a key the format lacks
        path = (*path[:-1], data.draw(st.sampled_from(["bogus", "a\nb", "valeur", "resourceType"])))
    screen_or_documented_error(
        json.dumps(_set_any(d, path, junk)), data.draw(st.one_of(st.none(), st.dates()))
    )


def _set_any(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    """Like :func:`_set`, but a missing dict key is added."""
    if not path:
        return value
    head, *rest = path
    if isinstance(obj, dict):
        return {**obj, head: _set_any(obj.get(head), tuple(rest), value)}
    if isinstance(obj, list) and isinstance(head, int) and head < len(obj):
        return [_set_any(x, tuple(rest), value) if i == head else x for i, x in enumerate(obj)]
    return value


@given(p=S.patients(as_of=None), as_of=st.dates())
def test_dates_anywhere_in_the_calendar_are_screened_or_a_documented_error(p, as_of):
    screen_or_documented_error(json_with_numbers(p), as_of)


@given(as_of=st.dates(), data=st.data())
def test_profiles_at_the_ends_of_the_calendar_are_screened(as_of, data):
    p = data.draw(S.patients(as_of=as_of))
    screen_or_documented_error(json_with_numbers(p), None)


@given(text=S.UNIT_TEXT)
@example(text="10^12^12")
@example(text="2**12**12")
@example(text="mg/12h")
@example(text="1e31")  # INR 2 "1e31" = 2e31: printing it in the error raised
@example(text="1e999999")  # a million-digit factor
def test_arbitrary_unit_strings_parse_or_raise_unit_error(text):
    try:
        spec = parse_unit(text)
    except UnitError as exc:
        assert str(exc).startswith("unit ")
        return
    for a in analytes().values():
        if a.kind == "quantity":
            with contextlib.suppress(UnitError):
                a.to_canonical(Decimal("1.5"), a.unit_for(text))
    assert spec.scale > 0
    for test in ("anc", "inr"):  # a count, and a pure number (where any scale is "a unit")
        screen_or_documented_error(
            json.dumps(
                {
                    "id": "u",
                    "as_of": "2026-01-01",
                    "labs": [{"test": test, "value": 2, "unit": text, "date": "2026-01-01"}],
                }
            ),
            None,
        )


TEMPLATE = resolved(Path(TRIALS[0].path))


def _load_logic(logic: Any) -> Trial | None:
    tomli_w = pytest.importorskip("tomli_w")
    raw = {**TEMPLATE, "criteria": [{"id": "I1", "kind": "inclusion", "text": "fuzz", "logic": logic}]}
    try:
        text = tomli_w.dumps(raw)
    except (TypeError, ValueError):  # not representable in TOML: nothing to load
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_rule_file(path)
        except RuleFileError as exc:
            assert exc.problems and all(m for _, m in exc.problems)
            return None


_PATIENT = Patient.model_validate(
    json.loads(
        (Path(__file__).resolve().parents[1] / "patients" / "p01_ups_metastatic_eligible.json").read_text(
            encoding="utf-8"
        )
    )
)


@given(logic=S.MALFORMED_LOGIC, p=st.one_of(st.just(_PATIENT), S.patients()))
@example(
    logic={"quantity": "anc", "op": ">=", "value": Decimal("1e-999999999"), "unit": "10^9/L"}, p=_PATIENT
)
@example(logic={"quantity": "anc", "op": ">=", "value": Decimal("1e999999999"), "unit": "10^9/L"}, p=_PATIENT)
def test_malformed_rule_logic_is_a_rule_file_error(logic, p):
    trial = _load_logic(logic)
    if trial is not None:
        for r in trial.evaluate(build_facts(p)).criteria:
            assert r.status != "unknown" or r.missing or r.review


@given(expr=S.EXPRESSIONS, p=st.one_of(st.just(_PATIENT), S.patients()))
@example(expr="anc / 0 > 1", p=_PATIENT)
@example(expr='sex[100] == "f"', p=_PATIENT)
@example(expr="(sex).to_flt > 1", p=_PATIENT)
@example(expr="anc >> 1 > 0", p=_PATIENT)
@example(expr="{}[{}] == 1", p=_PATIENT)
@example(expr="{}[{}]", p=_PATIENT)
def test_rule_expressions_compile_and_evaluate_or_are_rule_file_errors(expr, p):
    trial = _load_logic({"expr": expr})
    if trial is None:
        return
    (node,) = [c.node for c in trial.criteria]
    assert isinstance(node, Expr)
    facts = build_facts(p)
    out = node.evaluate(facts, EvalContext(trial.id, "I1", None))
    assert out.value is not None or out.missing or out.review


@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_as_a_rule_file_are_a_rule_file_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "junk.toml"
        path.write_bytes(data)
        with pytest.raises(RuleFileError):
            load_rule_file(path)


def run_cli(content: bytes, *args: str, cached_rules: bool = True) -> tuple[int, str, str]:
    """``eligimatch screen FILE`` through the console-script entry point (the rules, which do
    not depend on the input, loaded once rather than for every example)."""
    rules = (
        mock.patch.object(cli.common, "rules", lambda d: RULES)
        if cached_rules
        else (contextlib.nullcontext())
    )
    with tempfile.TemporaryDirectory() as tmp, rules:
        path = Path(tmp) / "patient.json"
        path.write_bytes(content)
        out, err = io.StringIO(), io.StringIO()
        argv = ["eligimatch", "screen", str(path), *args]
        old = sys.argv
        sys.argv = argv
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                cli.main()
            code = 0
        except SystemExit as exc:
            code = 0 if exc.code is None else int(exc.code)
        finally:
            sys.argv = old
    return code, out.getvalue(), err.getvalue()


CLI_INPUTS = st.one_of(
    S.json_values().map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
    S.patients().map(lambda p: json_with_numbers(p).encode()),
    S.patients().map(lambda p: json_with_numbers(p.model_copy(update={"as_of": None})).encode()),
    st.sampled_from(
        [
            b'{"id": "x", "as_of": "2026-01-01", "a\\nb": 1}',
            b'{"id": "x", "as_of": "2026-01-01", "labs": [{"test": "a\\nb", '
            b'"value": 1, "unit": "g/L", "date": "2026-01-01"}]}',
            b'{"id": ' + b"1" * 5000 + b"}",
        ]
    ),
)


@given(content=CLI_INPUTS)
@example(content=b'{"id": "x", "as_of": "2026-01-01", "a\\nb": 1}')
@example(content=b'{"id": ' + b"1" * 5000 + b"}")
def test_cli_screen_exits_0_or_2_with_one_line_on_stderr(content):
    code, out, err = run_cli(content)
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.startswith("eligimatch: error: ") and err.endswith("\n")
        assert len(err.splitlines()) == 1 and err.count("\n") == 1, err
        assert "Traceback" not in err
    else:
        assert err == "" and out.strip()


def test_cli_reports_a_bad_option_value_in_one_line():
    code, _, err = run_cli(b"{}", "--as-of", "2026-02-30", cached_rules=False)
    assert code == 2 and len(err.splitlines()) == 1


# ============================================================================ rule structure


def _way(n: Compare) -> int:
    return {">": 1, ">=": 1, "<": -1, "<=": -1}.get(n.op, 0)


@pytest.mark.parametrize("trial", TRIALS, ids=[t.id for t in TRIALS])
def test_no_comparison_is_implied_by_a_sibling(trial):
    """Inside one all / any, two comparisons of the same quantity pulling the same way on the
    same basis make one of them redundant: a condition that should sit between them (a liver
    metastasis, a sex, an age band) was probably dropped."""
    for c in trial.criteria:
        for n in S.walk(c.node):
            if not isinstance(n, All | Any_):
                continue
            seen: dict[tuple[Any, ...], Compare] = {}
            for k in n.children:
                if not isinstance(k, Compare) or not _way(k) or k.ordinal is not None:
                    continue
                basis = (k.analyte.key, _way(k), k.uln_multiple is None, k.within_days, k.default_recency)
                assert basis not in seen, (
                    f"{trial.id} {c.id}: {seen[basis]._threshold_text()} and "
                    f"{k._threshold_text()} on {k.analyte.short} in one "
                    f"{'any' if isinstance(n, Any_) else 'all'}: one of them is redundant"
                )
                seen[basis] = k


def test_pinned_an_amputation_flag_belongs_to_an_operation():
    """Found by the ci profile: an amputation flag on a vaccination was ignored, and counted
    once the type was forgotten (False → True), or counted and lost with the flag.  Only an
    operation, a procedure or an untyped item can be an amputation; anything else is an error."""
    p = Patient.model_validate(
        {
            "id": "a",
            "as_of": "2009-03-07",
            "treatments": [{"amputation": True, "name": "x", "date": "2009-01-01"}],
        }
    )
    assert build_facts(p).scalars["amputee"] is True
    bad = Patient.model_validate(
        {
            "id": "a",
            "as_of": "2009-03-07",
            "treatments": [{"type": "vaccine", "amputation": True, "date": "2009-01-01"}],
        }
    )
    with pytest.raises(PatientError, match="only an operation or procedure can be an amputation"):
        build_facts(bad)
    nameless = Patient.model_validate(
        {"id": "a", "as_of": "2009-03-07", "treatments": [{"type": "procedure", "date": "2009-01-01"}]}
    )
    assert build_facts(nameless).scalars["amputee"] is None  # which procedure, nobody said


def test_pinned_forgetting_an_operations_name_never_forgets_its_drug():
    """Found by the ci profile: a surgery named after a cytotoxic drug failed NCT06593899 E9;
    with the name forgotten the surgery carried no drug and E9 passed."""
    named = {
        "type": "surgery",
        "name": "isolated limb perfusion with melphalan",
        "involves_target_site": True,
        "date": "2000-01-01",
    }
    profile = {"treatments": [named], "medications": []}
    assert _screened(profile, "NCT06593899", "E9") == "fail"
    forgotten = {k: v for k, v in named.items() if k != "name"}
    assert _screened({"treatments": [forgotten], "medications": []}, "NCT06593899", "E9") != "pass"
