"""``histology`` (engine/nodes/histology.py): ``review_exact`` applies to the code itself, not its
descendants.  The documented examples and load errors run in tests/test_node_examples.py."""

from __future__ import annotations

import pytest

from node_runner import evaluate, load_error

REVIEW_EXACT = (
    '{ histology = { include = ["TISSUE"], exclude = ["SCLC"], review_exact = ["TISSUE", "LUNG"] } }'
)


@pytest.mark.parametrize(
    ("code", "expected", "text"),
    [
        ("LUAD", True, "Lung Adenocarcinoma (LUAD) is under Tissue (TISSUE), which is listed"),
        ("SCLC", False, "Small Cell Lung Cancer (SCLC) is listed as an exception"),
        ("LUNG", None, "histology Lung (LUNG) does not say the histological type: needs clinician review"),
        ("TISSUE", None, "does not say the histological type"),
    ],
)
def test_review_exact_applies_to_the_code_itself_not_its_descendants(code, expected, text):
    out = evaluate(REVIEW_EXACT, {"diagnosis": {"histology": code}})
    assert out.value is expected
    assert text in out.text
    if expected is None:
        assert out.review == (
            f"whether histology {out.text.split('histology ')[1].split(' does')[0]}"
            " counts for this criterion",
        )


@pytest.mark.parametrize(
    ("logic", "field", "message"),
    [
        (
            '{ histology = { include = ["TISSUE"], review_exact = "LUNG" } }',
            "logic.histology.review_exact",
            "expected a list of OncoTree codes",
        ),
    ],
)
def test_histology_errors_name_the_field_with_exact_messages(logic, field, message):
    assert load_error(logic) == (f"criteria[I1].{field}", message)
