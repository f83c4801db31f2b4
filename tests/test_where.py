"""``any = [...]`` inside ``where`` (engine/nodes/where.py): Kleene OR of Kleene ANDs over one item,
its description, nesting, and its load errors."""

from __future__ import annotations

import typing

import pytest

from node_runner import evaluate, load_error


def treatment(**fields: typing.Any) -> dict[str, typing.Any]:
    return {"treatments": [{"type": "chemotherapy", "agents": ["doxorubicin"], **fields}]}


ANY_OF = (
    '{ exists = "treatments", where = { classes = "anthracycline", any = [ '
    '{ stopped_for_toxicity = true }, { intent = "adjuvant", best_response = "PD" } ] } }'
)


@pytest.mark.parametrize(
    ("fields", "expected", "missing"),
    [
        ({"stopped_for_toxicity": True}, True, ()),
        ({"stopped_for_toxicity": False, "intent": "adjuvant", "best_response": "PD"}, True, ()),
        ({"stopped_for_toxicity": False, "intent": "palliative"}, False, ()),
        # one alternative false, the other unknown: unknown, naming only what the unknown one needs
        (
            {"stopped_for_toxicity": False, "intent": "adjuvant"},
            None,
            ("chemotherapy (2026-01-01 to 2026-03-01): best_response",),
        ),
        # an alternative true decides, whatever the other lacks
        ({"intent": "adjuvant", "best_response": "PD"}, True, ()),
        ({"intent": "palliative"}, None, ("chemotherapy (2026-01-01 to 2026-03-01): stopped_for_toxicity",)),
    ],
)
def test_any_inside_where_is_kleene_or_of_kleene_ands(fields, expected, missing):
    out = evaluate(
        ANY_OF, treatment(classes=["anthracycline"], start="2026-01-01", end="2026-03-01", **fields)
    )
    assert out.value is expected
    assert out.missing == missing


def test_any_inside_where_describes_its_alternatives():
    out = evaluate(ANY_OF, {"treatments": []})
    assert out.text == (
        "no treatment with anthracycline, either stopped for intolerable toxicity "
        "or (adjuvant and with best response PD) (0 recorded)"
    )


def test_any_may_nest_and_mix_item_aware_tests():
    logic = (
        '{ exists = "treatments", where = { any = [ { classes = "anthracycline", any = [ '
        '{ stopped_for_toxicity = true }, { progression_date = { op = "<=", ref = "end", '
        'plus = "P3M" } } ] }, { agents = ["doxorubicin"] } ] } }'
    )
    out = evaluate(
        logic,
        treatment(
            classes=["anthracycline"], start="2026-01-01", end="2026-03-01", progression_date="2026-05-01"
        ),
    )
    assert out.value is True and "[progression_date 2026-05-01, end 2026-03-01]" in out.text
    out = evaluate(
        logic,
        {
            "treatments": [
                {
                    "type": "chemotherapy",
                    "agents": ["Doxorubicin"],
                    "start": "2026-01-01",
                    "end": "2026-03-01",
                }
            ]
        },
    )
    assert out.value is True


@pytest.mark.parametrize(
    ("logic", "field", "message"),
    [
        (
            '{ exists = "treatments", where = { any = [ {} ] } }',
            "logic.where.any",
            "any = [...] takes a non-empty list of non-empty tables of field tests",
        ),
        (
            '{ exists = "treatments", where = { any = [ { typ = "surgery" } ] } }',
            "logic.where.any[0].typ",
            "treatments have no field 'typ'; did you mean 'type'?",
        ),
        (
            '{ exists = "treatments", where = { any = [ { progression_date = { op = "<=", ref = "x" } } ] } }',  # noqa: E501
            "logic.where.any[0].progression_date.ref",
            "expected 'start' or 'end' (the item's own period) or 'as_of' (the evaluation date), got 'x'",
        ),
    ],
)
def test_any_errors_name_the_field_with_exact_messages(logic, field, message):
    assert load_error(logic) == (f"criteria[I1].{field}", message)
