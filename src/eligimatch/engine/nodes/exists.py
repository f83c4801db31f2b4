"""``exists``: some item of a collection matches ``where`` (and falls in the window)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...dates import parse_duration
from ...errors import DurationError
from ...vocabulary import COLLECTIONS, ITEM_FIELDS, suggest
from ...wording import describe_items
from .base import Bad, Example, Node, NodeKind, Problems
from .where import where_tests

if TYPE_CHECKING:
    pass


from .exists_node import Exists

__all__ = ["KINDS", "Exists", "build_exists"]


def build_exists(raw: dict[str, Any], where: str, problems: Problems) -> Node:
    name = raw["exists"]
    base = where.rsplit(".", 1)[0]
    if not isinstance(name, str) or name not in COLLECTIONS:
        problems.append((where, f"unknown collection {name!r}{suggest(str(name), COLLECTIONS)}"))
        return Bad()
    _, dated = COLLECTIONS[name]
    fields = ITEM_FIELDS[name]
    spec = raw.get("where", {})
    if not isinstance(spec, dict):
        problems.append((f"{base}.where", "expected a table of field = value"))
        return Bad()
    tests = where_tests(name, spec, fields, f"{base}.where", problems)
    if tests is None:
        return Bad()
    window = None
    if "within" in raw:
        if not dated:
            problems.append((f"{base}.within", f"{name} carry no dates"))
            return Bad()
        try:
            window = parse_duration(raw["within"])
        except DurationError as exc:
            problems.append((f"{base}.within", str(exc)))
            return Bad()
    current = raw.get("current", False)
    if not isinstance(current, bool) or (current and window is not None) or (current and not dated):
        problems.append(
            (f"{base}.current", "expected true or false, without 'within', on a dated collection")
        )
        return Bad()
    label = raw.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        problems.append((f"{base}.label", "expected a short description of what is looked for"))
        return Bad()
    desc = label.strip() if label else describe_items(name, tests)
    return Exists(name, tuple(tests), window, desc, current)


# ---------------------------------------------------------------------------- docs and examples

_SURGERY = '{ exists = "treatments", where = { type = "surgery", major = true }, within = "P4W" }'
_ANTHRA = (
    '{ exists = "treatments", where = { classes = "anthracycline" }, '
    'label = "anthracycline-containing chemotherapy" }'
)
_DIAMETER = '{ exists = "lesions", where = { shortest_diameter = { op = ">", value = 30, unit = "mm" } } }'
_PROGRESSION = (
    '{ exists = "treatments", where = { progression_date = [ { op = ">=", ref = "start" '
    '}, { op = "<=", ref = "end", plus = "P3M" } ] } }'
)
_OTHER = (
    '{ exists = "other_malignancies", where = { histology = { not_under = ["BCC", "CSCC", "CERVIX"] } } }'
)
_EITHER = (
    '{ exists = "treatments", where = { classes = "anthracycline", any = [ '
    '{ stopped_for_toxicity = true }, { intent = "adjuvant", best_response = "PD" } ] } }'
)


def _one(collection: str, **item: Any) -> dict[str, Any]:
    return {collection: [item]}


_CHEMO = {"type": "chemotherapy", "agents": ["doxorubicin"], "start": "2026-03-01"}
_ANTHRA_ITEM = {
    "type": "chemotherapy",
    "classes": ["anthracycline"],
    "start": "2026-01-01",
    "end": "2026-03-01",
}

KINDS = (
    NodeKind(
        "exists",
        build_exists,
        frozenset({"where", "within", "current", "label"}),
        summary="Some item of a collection of the profile (`treatments`, `medications`, `conditions`, "
        "`metastases`, `lesions`, `other_malignancies`, `toxicities`, `allergies`, ...) "
        "matches every test of `where`, tested on one and the same item.",
        syntax="""```toml
{ exists = "treatments", where = { type = "surgery", major = true }, within = "P4W" }
```

A field test in `where` is a value, a list (any of them), `{ not = value }`, or
`{ op = ">", value = 3 }` for a number; and, by the kind of field:

- a quantity with a unit, `shortest_diameter = { op = ">", value = 30, unit = "mm" }`: the item's
  value is converted exactly into the threshold's unit (3.4 cm is 34 mm); the unit must have the
  field's dimension;
- a date against the item's own period or the evaluation date,
  `progression_date = { op = "<=", ref = "end", plus = "P3M" }` with `ref` one of `start`,
  `end`, `as_of` and an ISO 8601 `plus` or `minus` (calendar months, clamped to the month's end);
  an item still going on has an open end, later than any date; several tests on one field are a
  list, all of which must hold;
- an OncoTree code by ancestry, `histology = { under = [codes] }` or `{ not_under = [codes] }`;
- alternatives, `any = [ { tests }, { tests } ]`: the item matches all the tests of at least one
  table (tables may nest another `any`).

`within = "P4W"` keeps the items whose period reaches into (as_of − 4 weeks, as_of];
`current = true` the items still going on at the evaluation date. `label` is a short description
used in explanations instead of the one generated from `where` (give one when `where` is long).
Drug classes and agents are read from all the evidence (the drug catalogue reads them from names),
so `classes = "anthracycline"` also finds \"doxorubicin\".""",
        unknown="True when an item surely matches. False only when the collection is recorded and "
        "every item surely does not (an explicit empty list is none). Otherwise unknown: the "
        "collection not recorded, or an item that might match lacks a field, a date or a "
        "readable unit or code; the explanation names the item and what to record for it. A "
        "censored value that cannot decide, an unreadable unit or an unknown OncoTree code is "
        "unknown whatever the polarity: `not_under` never turns an unreadable code into a "
        "match.",
        examples=(
            Example(_SURGERY, "true", _one("treatments", type="surgery", major=True, date="2026-11-01")),
            Example(
                _SURGERY,
                "false",
                _one("treatments", type="surgery", major=True, date="2026-09-01"),
                note="outside the window",
            ),
            Example(
                _SURGERY,
                "false",
                {"treatments": []},
                explains="(0 recorded)",
                note="an explicit empty list: none",
            ),
            Example(_SURGERY, "unknown", {}, explains="treatments not recorded"),
            Example(
                _SURGERY,
                "unknown",
                _one("treatments", type="surgery", date="2026-11-01"),
                explains="major not recorded",
            ),
            Example(
                _ANTHRA,
                "true",
                _one(
                    "treatments",
                    type="chemotherapy",
                    agents=["doxorubicin"],
                    start="2025-01-01",
                    end="2025-05-01",
                ),
                note="the catalogue reads the class from the agent",
            ),
            Example(
                _ANTHRA,
                "false",
                _one(
                    "treatments",
                    type="chemotherapy",
                    agents=["gemcitabine"],
                    start="2025-01-01",
                    end="2025-05-01",
                ),
                explains="no anthracycline-containing chemotherapy (1 recorded)",
            ),
            Example(
                '{ exists = "medications", where = { classes = "systemic_corticosteroid" }, current = true }',
                "true",
                _one("medications", name="prednisolone 10 mg tablets", start="2026-10-01", ongoing=True),
            ),
            Example(
                _DIAMETER,
                "true",
                _one(
                    "lesions",
                    site="sacrum",
                    date="2026-11-05",
                    shortest_diameter={"value": 3.4, "unit": "cm"},
                ),
                explains="[shortest_diameter 3.4 cm = 34 mm]",
            ),
            Example(
                _DIAMETER,
                "false",
                _one(
                    "lesions", site="sacrum", date="2026-11-05", shortest_diameter={"value": 30, "unit": "mm"}
                ),
            ),
            Example(
                _DIAMETER,
                "unknown",
                _one(
                    "lesions",
                    site="sacrum",
                    date="2026-11-05",
                    shortest_diameter={"value": 25, "unit": "mm", "comparator": ">"},
                ),
                explains="a censored >25 mm cannot decide",
            ),
            Example(
                _PROGRESSION,
                "true",
                _one("treatments", **_CHEMO, end="2026-06-30", progression_date="2026-09-30"),
            ),
            Example(
                _PROGRESSION,
                "false",
                _one("treatments", **_CHEMO, end="2026-06-30", progression_date="2026-10-01"),
            ),
            Example(
                _PROGRESSION,
                "unknown",
                _one("treatments", **_CHEMO, progression_date="2026-09-01"),
                explains="end date (or ongoing) not recorded",
            ),
            Example(
                _OTHER,
                "true",
                _one("other_malignancies", description="breast cancer", histology="IDC", date="2020-01-01"),
            ),
            Example(
                _OTHER,
                "false",
                _one(
                    "other_malignancies",
                    description="basal cell carcinoma",
                    histology="BCC",
                    date="2020-01-01",
                ),
            ),
            Example(
                _OTHER,
                "unknown",
                _one("other_malignancies", description="skin cancer", date="2020-01-01"),
                explains="histology (OncoTree code) not recorded",
            ),
            Example(_EITHER, "true", _one("treatments", **_ANTHRA_ITEM, stopped_for_toxicity=True)),
            Example(
                _EITHER,
                "unknown",
                _one("treatments", **_ANTHRA_ITEM, stopped_for_toxicity=False, intent="adjuvant"),
                explains="best_response not recorded",
            ),
            Example(
                '{ exists = "treatmnts" }',
                error="logic.exists: unknown collection 'treatmnts'; did you mean 'treatments'?",
            ),
            Example(
                '{ exists = "treatments", where = { typ = "surgery" } }',
                error="logic.where.typ: treatments have no field 'typ'; did you mean 'type'?",
            ),
            Example(
                '{ exists = "treatments", within = "4 weeks" }',
                error="logic.within: duration '4 weeks': expected an ISO 8601 duration such as "
                "P4W, P6M, P5Y or P14D",
            ),
            Example(
                '{ exists = "allergies", within = "P4W" }', error="logic.within: allergies carry no dates"
            ),
            Example(
                '{ exists = "treatments", within = "P4W", current = true }',
                error="logic.current: expected true or false, without 'within', on a dated collection",
            ),
            Example(
                '{ exists = "treatments", label = "" }',
                error="logic.label: expected a short description of what is looked for",
            ),
            Example(
                '{ exists = "lesions", where = { shortest_diameter = { op = ">", value = 30, '
                'unit = "mL" } } }',
                error="logic.where.shortest_diameter.unit: 'mL' is not a unit of "
                "shortest_diameter (expected a unit like mm)",
            ),
            Example(
                '{ exists = "lesions", where = { shortest_diameter = { op = ">", value = 30 } } }',
                error="logic.where.shortest_diameter: compare shortest_diameter as { op, value, "
                "unit }, e.g. unit = 'mm'; got op, value",
            ),
            Example(
                '{ exists = "treatments", where = { progression_date = { op = "<=", ref = "finish" } } }',
                error="logic.where.progression_date.ref: expected 'start' or 'end' (the item's own "
                "period) or 'as_of' (the evaluation date), got 'finish'",
            ),
            Example(
                '{ exists = "treatments", where = { progression_date = { op = "<=", ref = "end", '
                'plus = "P3M", minus = "P1M" } } }',
                error="logic.where.progression_date: give plus or minus, not both",
            ),
            Example(
                '{ exists = "other_malignancies", where = { histology = { under = ["BRAST"] } } }',
                error="logic.where.histology.under: 'BRAST' is not an OncoTree code; did you mean 'BREAST'?",
            ),
            Example(
                '{ exists = "treatments", where = { any = [] } }',
                error="logic.where.any: any = [...] takes a non-empty list of non-empty tables of "
                "field tests",
            ),
        ),
    ),
)
