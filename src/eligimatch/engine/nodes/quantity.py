"""Quantities: ``{quantity = "anc", op, value, unit}``, ``uln = k``, graded and qualitative results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import UnitError
from ...units import analytes
from ...vocabulary import suggest
from .base import (
    OPS,
    Bad,
    Example,
    Node,
    NodeKind,
    Problems,
    number,
)

if TYPE_CHECKING:
    pass

from .compare import Compare
from .qualitative import Qualitative

__all__ = ["KINDS", "Compare", "Qualitative", "build_quantity"]


def build_quantity(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    key = raw["quantity"]
    catalogue = analytes()
    if not isinstance(key, str) or key not in catalogue:
        problems.append((where, f"unknown quantity {key!r}{suggest(str(key), catalogue)}"))
        return Bad()
    a = catalogue[key]
    base = where.rsplit(".", 1)[0]
    within = raw.get("within_days")
    if within is not None and (isinstance(within, bool) or not isinstance(within, int) or within < 0):
        problems.append((f"{base}.within_days", "expected a whole number of days"))
        return Bad()
    recency = raw.get("recency", "default")
    if recency not in ("default", "none"):
        problems.append((f"{base}.recency", "expected 'default' or 'none'"))
        return Bad()
    if a.kind == "qualitative":
        vals = raw.get("is")
        vals = [vals] if isinstance(vals, str) else vals
        if (
            not vals
            or any(v not in a.values for v in vals)
            or set(raw) - {"quantity", "is", "within_days", "recency"}
        ):
            problems.append(
                (f"{base}.is", f"{a.name} is qualitative: give is = one of {', '.join(a.values)}")
            )
            return Bad()
        return Qualitative(a, tuple(vals), within, recency == "default")
    op = raw.get("op")
    if op not in OPS:
        problems.append((f"{base}.op", f"expected one of {' '.join(OPS)}, got {op!r}"))
        return Bad()
    if "is" in raw:
        problems.append((f"{base}.is", f"'is' is for qualitative results; {a.name} is {a.kind}"))
        return Bad()
    if a.kind == "ordinal":
        v = raw.get("value")
        if v not in a.scale or "unit" in raw or "uln" in raw:
            problems.append(
                (f"{base}.value", f"{a.name} is graded: value must be one of {', '.join(a.scale)}")
            )
            return Bad()
        return Compare(a, op, ordinal=v, within_days=within, default_recency=recency == "default")
    if "uln" in raw:
        if "value" in raw or "unit" in raw:
            problems.append((f"{base}.uln", "give either uln = k or value and unit, not both"))
            return Bad()
        k = number(raw["uln"], f"{base}.uln", problems)
        if k is None:
            return Bad()
        if a.uln_band is None and a.source != "lab":
            problems.append((f"{base}.uln", f"{a.name} has no upper limit of normal"))
            return Bad()
        return Compare(a, op, uln_multiple=k, within_days=within, default_recency=recency == "default")
    if "value" not in raw:
        problems.append((base, "a quantity comparison needs value (and unit) or uln"))
        return Bad()
    value = number(raw["value"], f"{base}.value", problems)
    if value is None:
        return Bad()
    assert a.unit is not None
    unit_text = raw.get("unit")
    if unit_text is None:
        if a.unit.dimensionality != analytes()["ecog"].unit.dimensionality:  # type: ignore[union-attr]
            problems.append((f"{base}.unit", f"a threshold for {a.name} needs a unit (e.g. {a.unit.text})"))
            return Bad()
        unit_text = a.unit.text
    try:
        threshold = a.to_canonical(value, a.unit_for(str(unit_text)))
    except UnitError as exc:
        problems.append((f"{base}.unit", str(exc)))
        return Bad()
    return Compare(a, op, threshold=threshold, within_days=within, default_recency=recency == "default")


# ---------------------------------------------------------------------------- docs and examples


def _lab(
    test: str, value: float | str, unit: str | None = None, day: str = "2026-11-12", **more: Any
) -> dict[str, Any]:
    reading = {"value": value, "unit": unit} if unit else {"result": value}
    return {"labs": [{"test": test, **reading, "date": day, **more}]}


_ANC = '{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L" }'
_BILI = '{ quantity = "bilirubin", op = "<=", uln = 1.5 }'
_DIP = '{ quantity = "urine_protein_dipstick", op = ">=", value = "2+" }'
_HIV = '{ quantity = "hiv_antibody", is = "positive" }'

KINDS = (
    NodeKind(
        "quantity",
        build_quantity,
        frozenset({"op", "value", "unit", "uln", "is", "within_days", "recency"}),
        summary="A quantity — a lab result or a measurement of the profile (age, weight, ECOG, life "
        "expectancy, ...), a key of `data/analytes.toml` — against a threshold, a multiple of "
        "the upper limit of normal, a grade, or a qualitative value.",
        syntax="""```toml
{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L" }    # a threshold with its unit
{ quantity = "bilirubin", op = "<=", uln = 1.5 }                 # k × the lab's upper limit of normal
{ quantity = "urine_protein_dipstick", op = ">=", value = "2+" } # a graded scale
{ quantity = "hiv_antibody", is = "positive" }                   # a qualitative result (or a list)
```

`op` is one of `<` `<=` `>` `>=` `==` `!=`. The threshold's unit may be any unit of the analyte's
dimension (checked at load) and is converted once into the canonical unit, exactly: 1500 /µL passes
`>= 1.5 ×10⁹/L`. Scores (ECOG) take no unit. `within_days = N` says how old the result may be;
`recency = "none"` turns the window off.""",
        unknown="Unknown when there is no result; when the newest one is older than `within_days`, "
        "else the trial's `lab_max_age_days` (labs), else the analyte's `max_age_days`, else 28 "
        "days, or undated; when two different results share the newest date; when a censored "
        "value (`<20`) allows both answers; for × ULN without the lab's reference range, unless "
        "every plausible ULN of the analyte (its `uln_band`) gives the same answer; and for an "
        "indeterminate qualitative result. The explanation names what to record.",
        examples=(
            Example(
                _ANC,
                "true",
                _lab("anc", 1500, "/uL"),
                explains="(reported 1500 /uL, 2026-11-12)",
                note="exactly on the threshold, in another unit",
            ),
            Example(_ANC, "false", _lab("anc", 1200, "/uL")),
            Example(_ANC, "unknown", {}, explains="ANC not recorded"),
            Example(_ANC, "unknown", _lab("anc", 2.0, "10^9/L", "2026-10-01"), explains="46 days old"),
            Example(_ANC, "unknown", _lab("anc", 1.0, "10^9/L", comparator=">"), explains="censored value"),
            Example(
                '{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L", recency = "none" }',
                "true",
                _lab("anc", 2.0, "10^9/L", "2020-01-01"),
            ),
            Example(
                _BILI,
                "true",
                _lab("bilirubin", 1.8, "mg/dL", reference_range={"high": 1.2}),
                explains="= 1.5 × ULN ≤ 1.5 × ULN",
            ),
            Example(_BILI, "false", _lab("bilirubin", 1.9, "mg/dL", reference_range={"high": 1.2})),
            Example(
                _BILI,
                "true",
                _lab("bilirubin", 0.5, "mg/dL"),
                explains="every plausible ULN",
                note="no reference range, but below 1.5 × every plausible ULN",
            ),
            Example(
                _BILI, "unknown", _lab("bilirubin", 1.5, "mg/dL"), explains="record the lab's reference range"
            ),
            Example(_DIP, "true", _lab("urine_protein_dipstick", "3+")),
            Example(_DIP, "false", _lab("urine_protein_dipstick", "1+")),
            Example(_HIV, "true", _lab("hiv_antibody", "positive")),
            Example(_HIV, "false", _lab("hiv_antibody", "negative")),
            Example(_HIV, "unknown", _lab("hiv_antibody", "indeterminate")),
            Example(
                '{ quantity = "age", op = ">=", value = 18, unit = "year" }',
                "true",
                {"birth_date": "2008-11-16"},
                note="the 18th birthday on the evaluation date",
            ),
            Example(
                '{ quantity = "ecog", op = "<=", value = 1 }',
                "false",
                {"ecog": {"value": 2, "date": "2026-11-10"}},
            ),
            Example(
                '{ quantity = "ancc", op = ">=", value = 1.5, unit = "10^9/L" }',
                error="logic.quantity: unknown quantity 'ancc'; did you mean 'anc'?",
            ),
            Example(
                '{ quantity = "anc", op = ">=", value = 1.5, unit = "g/L" }',
                error="logic.unit: unit 'g/L' for anc: is not a unit of absolute neutrophil count "
                "(expected a unit like 10^9/L)",
            ),
            Example(
                '{ quantity = "anc", op = ">=", value = 1.5 }',
                error="logic.unit: a threshold for absolute neutrophil count needs a unit (e.g. 10^9/L)",
            ),
            Example(
                '{ quantity = "anc", op = "=>", value = 1.5, unit = "10^9/L" }',
                error="logic.op: expected one of < <= > >= == !=, got '=>'",
            ),
            Example(
                '{ quantity = "anc", op = ">=" }',
                error="logic: a quantity comparison needs value (and unit) or uln",
            ),
            Example(
                '{ quantity = "alt", op = "<=", uln = 2.5, unit = "U/L" }',
                error="logic.uln: give either uln = k or value and unit, not both",
            ),
            Example(
                '{ quantity = "age", op = "<=", uln = 2.5 }',
                error="logic.uln: age has no upper limit of normal",
            ),
            Example(
                '{ quantity = "hiv_antibody", is = "pos" }',
                error="logic.is: HIV-1/2 antibody is qualitative: give is = one of negative, "
                "positive, indeterminate",
            ),
            Example(
                '{ quantity = "urine_protein_dipstick", op = ">=", value = "2" }',
                error="logic.value: urine protein (dipstick) is graded: value must be one of "
                "negative, trace, 1+, 2+, 3+, 4+",
            ),
            Example(
                '{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L", recency = "never" }',
                error="logic.recency: expected 'default' or 'none'",
            ),
            Example(
                '{ quantity = "anc", op = ">=", value = 1.5, unit = "10^9/L", when = 3 }',
                error="logic.when: unknown key for a 'quantity' node",
            ),
        ),
    ),
)
